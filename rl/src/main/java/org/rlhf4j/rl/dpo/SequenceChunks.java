package org.rlhf4j.rl.dpo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.rlhf4j.rl.logprobs.SequenceBatch;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;

/**
 * Rows of prompt + completion cut into consecutive {@link SequenceBatch}es that each fit a model's context. A
 * batch is {@code widest prompt + longest completion} wide (left-padded prompts, right-padded completions), which
 * can exceed the context even when every row fits; then the rows go through more than one forward, in order, and
 * their outputs are concatenated. Rows never influence each other (attention is masked per row), so the values
 * do not depend on the cut. In the common case every row fits one batch: TRL's single concatenated forward.
 */
public final class SequenceChunks {
    private SequenceChunks() {}

    /** Width of a batch holding rows with this widest prompt and longest completion, as SequenceBatch lays it out. */
    public static int width(int widestPrompt, int longestCompletion) {
        return widestPrompt + Math.max(longestCompletion, 1);
    }

    /** {@link #of(int[][], int[][], int, DType, Device, int)} on the CPU. */
    public static List<SequenceBatch> of(int[][] prompts, int[][] completions, int padId, DType dtype, int limit) {
        return of(prompts, completions, padId, dtype, Device.CPU, limit);
    }

    /**
     * Consecutive batches of the rows, in order, each at most {@code limit} tokens wide, with their tensors on
     * {@code device}. Every row must fit on its own: {@code prompt + max(completion, 1) <= limit}.
     */
    public static List<SequenceBatch> of(int[][] prompts, int[][] completions, int padId, DType dtype, Device device,
                                         int limit) {
        if (prompts.length != completions.length) {
            throw new IllegalArgumentException("SequenceChunks: " + prompts.length + " prompts but " + completions.length + " completions");
        }
        List<SequenceBatch> out = new ArrayList<>();
        int start = 0, widest = 0, longest = 0;
        for (int i = 0; i < prompts.length; i++) {
            if (width(prompts[i].length, completions[i].length) > limit) {
                throw new IllegalArgumentException("SequenceChunks: row " + i + " (prompt " + prompts[i].length
                        + " + completion " + completions[i].length + " tokens) does not fit in " + limit + " tokens");
            }
            int w = Math.max(widest, prompts[i].length), l = Math.max(longest, completions[i].length);
            if (i > start && width(w, l) > limit) {
                out.add(SequenceBatch.of(Arrays.copyOfRange(prompts, start, i), Arrays.copyOfRange(completions, start, i), padId,
                        dtype, device));
                start = i;
                w = prompts[i].length;
                l = completions[i].length;
            }
            widest = w;
            longest = l;
        }
        if (start < prompts.length) {
            out.add(SequenceBatch.of(Arrays.copyOfRange(prompts, start, prompts.length),
                    Arrays.copyOfRange(completions, start, completions.length), padId, dtype, device));
        }
        return out;
    }
}
