package org.rlhf4j.rl.logprobs;

import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Tensor;

/**
 * Prompt + completion sequences laid out for one forward pass: ids, positions and an additive padding mask
 * {@code [B, T]}, and a 0/1 completion mask {@code [B, T-1]} over next-token targets (target t+1 is a completion
 * token). Prompt and padding are masked by position, never by token id: pad may equal EOS.
 *
 * <p>Rows are left-padded to a common prompt width (as generation produces them) and right-padded after their
 * completion; positions count from each row's first real token. The four tensors live on one device, the model's
 * when built with {@link #of(int[][], int[][], int, DType, Device)}; the lengths stay on the host.
 */
public record SequenceBatch(Tensor ids, Tensor positions, Tensor padMask, Tensor completionMask, int promptWidth,
                            int[] promptLengths, int[] completionLengths) {

    /** Rows in the batch. */
    public int size() {
        return promptLengths.length;
    }

    /** Next-token targets {@code [B, T-1]}: the ids shifted left by one. */
    public Tensor targets() {
        return ids.narrow(1, 1, ids.size(1) - 1).contiguous();
    }

    /** Inputs {@code [B, T-1]} for next-token prediction: all ids but the last. */
    public Tensor inputs() {
        return ids.narrow(1, 0, ids.size(1) - 1).contiguous();
    }

    /** The device of the tensors. */
    public Device device() {
        return ids.device();
    }

    /** This batch with its tensors on {@code device} (this batch itself when they are there already). */
    public SequenceBatch to(Device device) {
        if (device.equals(device())) return this;
        return new SequenceBatch(ids.to(device), positions.to(device), padMask.to(device), completionMask.to(device),
                promptWidth, promptLengths, completionLengths);
    }

    /** The rows {@code rows} of this batch, same width (for PPO mini-batches), on the same device. */
    public SequenceBatch select(int[] rows) {
        Tensor index = Tensor.ofInts(rows).to(device());
        int[] p = new int[rows.length], c = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            p[i] = promptLengths[rows[i]];
            c[i] = completionLengths[rows[i]];
        }
        return new SequenceBatch(ids.indexSelect(0, index), positions.indexSelect(0, index), padMask.indexSelect(0, index),
                completionMask.indexSelect(0, index), promptWidth, p, c);
    }

    /** {@link #of(int[][], int[][], int, DType, Device)} on the CPU. */
    public static SequenceBatch of(int[][] prompts, int[][] completions, int padId, DType dtype) {
        return of(prompts, completions, padId, dtype, Device.CPU);
    }

    /**
     * Builds the batch: row b is {@code prompts[b]} left-padded to the widest prompt, then {@code completions[b]},
     * then padding up to the longest row. {@code dtype} is the masks' dtype and {@code device} where the tensors
     * go (the model's), each uploaded once.
     */
    public static SequenceBatch of(int[][] prompts, int[][] completions, int padId, DType dtype, Device device) {
        int b = prompts.length;
        if (completions.length != b) {
            throw new IllegalArgumentException("SequenceBatch: " + prompts.length + " prompts but " + completions.length + " completions");
        }
        int width = 0, longest = 0;
        for (int i = 0; i < b; i++) {
            if (prompts[i].length == 0) throw new IllegalArgumentException("SequenceBatch: prompt " + i + " is empty");
            width = Math.max(width, prompts[i].length);
            longest = Math.max(longest, completions[i].length);
        }
        int t = width + Math.max(longest, 1);
        int[] ids = new int[b * t], pos = new int[b * t];
        double[] pad = new double[b * t], comp = new double[b * (t - 1)];
        int[] promptLengths = new int[b], completionLengths = new int[b];
        for (int i = 0; i < b; i++) {
            int lead = width - prompts[i].length;
            int end = width + completions[i].length; // exclusive end of real tokens
            promptLengths[i] = prompts[i].length;
            completionLengths[i] = completions[i].length;
            for (int j = 0; j < t; j++) {
                int k = i * t + j;
                if (j < lead) {
                    ids[k] = padId;
                    pad[k] = Double.NEGATIVE_INFINITY;
                } else if (j < width) {
                    ids[k] = prompts[i][j - lead];
                    pos[k] = j - lead;
                } else if (j < end) {
                    ids[k] = completions[i][j - width];
                    pos[k] = j - lead;
                } else {
                    ids[k] = padId;
                    pos[k] = Math.max(0, end - 1 - lead); // never attended to by a real token: keys after it are causal-masked
                }
                // target j+1 counts when it is a completion token
                if (j < t - 1 && j + 1 >= width && j + 1 < end) comp[i * (t - 1) + j] = 1;
            }
        }
        return new SequenceBatch(Tensor.ofInts(ids, b, t).to(device), Tensor.ofInts(pos, b, t).to(device),
                Tensor.of(pad, b, t).to(dtype).to(device), Tensor.of(comp, b, t - 1).to(dtype).to(device), width,
                promptLengths, completionLengths);
    }
}
