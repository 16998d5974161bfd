package org.rlhf4j.transformer.sft;

import java.util.List;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;

/**
 * A right-padded batch for next-token training: inputs {@code [B, T]}, targets {@code [B, T]} (the inputs shifted
 * by one), and a 0/1 loss mask {@code [B, T]} set by position: 1 where the target is a completion token (or any
 * real token when the prompt is learned too), 0 on prompt and padding. Padding is never recognised by token id.
 */
public record SftBatch(Tensor inputs, Tensor targets, Tensor lossMask, int countedTokens) {

    /**
     * Builds the batch; each sequence is prompt + completion (+ EOS when {@code eosId >= 0}), truncated to
     * {@code maxLength + 1} tokens.
     */
    public static SftBatch of(List<SftExample> examples, int maxLength, int padId, int eosId, boolean completionOnly,
                              DType dtype) {
        int b = examples.size();
        int[][] seqs = new int[b][];
        int[] promptLen = new int[b];
        int longest = 0;
        for (int i = 0; i < b; i++) {
            SftExample e = examples.get(i);
            int n = e.prompt().length + e.completion().length + (eosId >= 0 ? 1 : 0);
            int[] s = new int[Math.min(n, maxLength + 1)];
            for (int j = 0; j < s.length; j++) {
                s[j] = j < e.prompt().length ? e.prompt()[j]
                        : j - e.prompt().length < e.completion().length ? e.completion()[j - e.prompt().length] : eosId;
            }
            seqs[i] = s;
            promptLen[i] = e.prompt().length;
            longest = Math.max(longest, s.length - 1);
        }
        int t = Math.max(longest, 1);
        int[] in = new int[b * t], tg = new int[b * t];
        double[] mask = new double[b * t];
        int counted = 0;
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                boolean real = j + 1 < seqs[i].length;
                in[i * t + j] = j < seqs[i].length ? seqs[i][j] : padId;
                tg[i * t + j] = real ? seqs[i][j + 1] : padId;
                boolean learn = real && (!completionOnly || j + 1 >= promptLen[i]);
                if (learn) {
                    mask[i * t + j] = 1;
                    counted++;
                }
            }
        }
        return new SftBatch(Tensor.ofInts(in, b, t), Tensor.ofInts(tg, b, t), Tensor.of(mask, b, t).to(dtype), counted);
    }
}
