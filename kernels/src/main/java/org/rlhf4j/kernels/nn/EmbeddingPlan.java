package org.rlhf4j.kernels.nn;

import java.util.Arrays;

/**
 * The host half of the deterministic embedding backward ({@code embedding.ptx}): the positions sorted by
 * (id, position) and cut into runs of one id, as {@code CpuNn.embeddingBackward} sorts them. Laid out for the
 * kernel as one I32 array {@code order[count] ++ start[runs + 1] ++ id[runs]}.
 */
record EmbeddingPlan(int[] words, int count, int runs) {
    /** The plan for {@code ids} (each in [0, vocab), checked). */
    static EmbeddingPlan of(int[] ids, int vocab) {
        int count = ids.length;
        long[] keys = new long[count];
        for (int i = 0; i < count; i++) {
            int v = ids[i];
            if (v < 0 || v >= vocab) {
                throw new IndexOutOfBoundsException("embeddingBackward: id " + v + " at position " + i
                        + " is out of range [0, " + vocab + ")");
            }
            keys[i] = ((long) v << 32) | i;
        }
        Arrays.sort(keys);
        int runs = 0;
        for (int i = 0; i < count; i++) {
            if (i == 0 || (keys[i] >>> 32) != (keys[i - 1] >>> 32)) runs++;
        }
        int[] words = new int[count + 2 * runs + 1];
        int start = count, idAt = count + runs + 1, r = 0;
        for (int i = 0; i < count; i++) {
            words[i] = (int) keys[i];
            if (i == 0 || (keys[i] >>> 32) != (keys[i - 1] >>> 32)) {
                words[start + r] = i;
                words[idAt + r] = (int) (keys[i] >>> 32);
                r++;
            }
        }
        words[start + runs] = count;
        return new EmbeddingPlan(words, count, runs);
    }

    /** Position of the k-th sorted id. */
    int order(int k) {
        return words[k];
    }

    /** First sorted index of run b; {@code start(runs)} is the count. */
    int start(int b) {
        return words[count + b];
    }

    /** The id of run b. */
    int id(int b) {
        return words[count + runs + 1 + b];
    }
}
