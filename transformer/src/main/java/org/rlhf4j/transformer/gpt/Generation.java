package org.rlhf4j.transformer.gpt;

import java.util.Arrays;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Philox;
import org.rlhf4j.tensor.Tensor;

/**
 * Batched generation with a KV cache. Prompts of different lengths are left-padded; each row's positions count
 * from its first real token and its padding is masked out of attention, so a row generates exactly what it would
 * alone. Randomness is per row (a Philox stream keyed by the row's seed, one block per step), so it does not
 * depend on what else is in the batch either.
 */
public final class Generation {
    private Generation() {}

    /**
     * The outcome for each row: the new tokens (including the EOS that ended it, if any; no padding), whether
     * it ended with EOS, and the full left-padded sequences {@code [B, promptWidth + generated]}.
     */
    public record Result(int[][] completions, boolean[] endedWithEos, int[][] paddedSequences, int promptWidth) {}

    /** Generates with row seeds {@code config.seed() + b}. */
    public static Result generate(Gpt model, int[][] prompts, SamplingConfig config) {
        long[] seeds = new long[prompts.length];
        for (int b = 0; b < seeds.length; b++) seeds[b] = config.seed() + b;
        return generate(model, prompts, config, seeds);
    }

    /** Generates with an explicit seed per row. */
    public static Result generate(Gpt model, int[][] prompts, SamplingConfig config, long[] rowSeeds) {
        int batch = prompts.length;
        if (batch == 0) throw new IllegalArgumentException("generate: no prompts");
        if (rowSeeds.length != batch) throw new IllegalArgumentException("generate: " + rowSeeds.length + " seeds for " + batch + " prompts");
        int vocab = model.config().vocabSize();
        int width = 0;
        for (int b = 0; b < batch; b++) {
            if (prompts[b].length == 0) throw new IllegalArgumentException("generate: prompt " + b + " is empty");
            for (int id : prompts[b]) {
                if (id < 0 || id >= vocab) throw new IllegalArgumentException("generate: prompt " + b + " has token " + id + " outside [0, " + vocab + ")");
            }
            width = Math.max(width, prompts[b].length);
        }
        int total = width + config.maxNewTokens();
        if (total > model.config().contextLength()) {
            throw new IllegalArgumentException("generate: prompt width " + width + " + " + config.maxNewTokens()
                    + " new tokens exceed the context length " + model.config().contextLength());
        }
        DType dtype = model.dtype();
        int[] ids = new int[batch * width], pos = new int[batch * width];
        double[] mask = new double[batch * total];
        int[] nextPos = new int[batch];
        for (int b = 0; b < batch; b++) {
            int pad = width - prompts[b].length;
            for (int t = 0; t < width; t++) {
                boolean real = t >= pad;
                ids[b * width + t] = real ? prompts[b][t - pad] : config.padId() < 0 ? 0 : config.padId();
                pos[b * width + t] = real ? t - pad : 0;
                if (!real) mask[b * total + t] = Double.NEGATIVE_INFINITY;
            }
            nextPos[b] = prompts[b].length;
        }
        Tensor padMask = Tensor.of(mask, batch, total).to(dtype).to(model.device());
        KvCache cache = model.newCache(batch, total);
        Tensor logits = model.forwardCached(Tensor.ofInts(ids, batch, width), Tensor.ofInts(pos, batch, width), padMask, cache);
        Tensor last = logits.select(1, width - 1); // [B, V]

        int[][] out = new int[batch][config.maxNewTokens()];
        int[] produced = new int[batch];
        boolean[] done = new boolean[batch], eos = new boolean[batch];
        int[] block = new int[4];
        for (int step = 0; step < config.maxNewTokens(); step++) {
            double[] rows = hostRows(last);
            int[] next = new int[batch];
            boolean allDone = true;
            for (int b = 0; b < batch; b++) {
                if (done[b]) {
                    next[b] = Math.max(config.padId(), 0);
                    continue;
                }
                Philox.block(rowSeeds[b], 0, step, block);
                double u = Philox.uniformF64(block[0], block[1]);
                int token = pick(rows, b * vocab, vocab, config, u);
                next[b] = token;
                out[b][produced[b]++] = token;
                if (token == config.eosId()) {
                    done[b] = true;
                    eos[b] = true;
                }
                if (produced[b] == config.maxNewTokens()) done[b] = true;
                allDone &= done[b];
            }
            if (allDone || step == config.maxNewTokens() - 1) break;
            int[] p = new int[batch];
            for (int b = 0; b < batch; b++) p[b] = nextPos[b]++;
            logits = model.forwardCached(Tensor.ofInts(next, batch, 1), Tensor.ofInts(p, batch, 1), padMask, cache);
            last = logits.select(1, 0);
        }
        int[][] completions = new int[batch][];
        int longest = 0;
        for (int b = 0; b < batch; b++) {
            completions[b] = Arrays.copyOf(out[b], produced[b]);
            longest = Math.max(longest, produced[b]);
        }
        int[][] padded = new int[batch][width + longest];
        for (int b = 0; b < batch; b++) {
            Arrays.fill(padded[b], Math.max(config.padId(), 0));
            System.arraycopy(prompts[b], 0, padded[b], width - prompts[b].length, prompts[b].length);
            System.arraycopy(completions[b], 0, padded[b], width, completions[b].length);
        }
        return new Result(completions, eos, padded, width);
    }

    /**
     * One token from a row of logits: argmax when greedy; otherwise softmax(logits / T), restricted to the top k
     * and to the top-p nucleus, renormalised, and inverted at the uniform u in [0, 1).
     */
    static int pick(double[] logits, int offset, int vocab, SamplingConfig c, double u) {
        if (c.isGreedy()) {
            int best = 0;
            for (int v = 1; v < vocab; v++) if (logits[offset + v] > logits[offset + best]) best = v;
            return best;
        }
        Integer[] order = new Integer[vocab];
        for (int v = 0; v < vocab; v++) order[v] = v;
        Arrays.sort(order, (x, y) -> Double.compare(logits[offset + y], logits[offset + x])); // most likely first, stable
        double max = logits[offset + order[0]];
        double[] p = new double[vocab];
        double sum = 0;
        for (int r = 0; r < vocab; r++) {
            p[r] = Math.exp((logits[offset + order[r]] - max) / c.temperature());
            sum += p[r];
        }
        int keep = c.topK() > 0 ? Math.min(c.topK(), vocab) : vocab;
        if (c.topP() < 1) {
            double cumulative = 0;
            for (int r = 0; r < keep; r++) {
                cumulative += p[r] / sum;
                if (cumulative >= c.topP()) {
                    keep = r + 1;
                    break;
                }
            }
        }
        double kept = 0;
        for (int r = 0; r < keep; r++) kept += p[r];
        double target = u * kept, acc = 0;
        for (int r = 0; r < keep; r++) {
            acc += p[r];
            if (target < acc) return order[r];
        }
        return order[keep - 1];
    }

    /**
     * The last position's logits on the host, widened to F64 there: one download per token of the model's own
     * dtype (half the bytes of a device-side F64 conversion for an F32 model), the same values exactly.
     */
    private static double[] hostRows(Tensor last) {
        if (last.dtype() == DType.F64) return last.contiguous().toDoubleArray();
        float[] f = last.contiguous().toFloatArray();
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) out[i] = f[i];
        return out;
    }
}
