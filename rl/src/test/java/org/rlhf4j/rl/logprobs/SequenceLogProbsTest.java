package org.rlhf4j.rl.logprobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.rlhf4j.autograd.Grad;
import org.rlhf4j.autograd.Nn;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;

class SequenceLogProbsTest {
    private static final Gpt.Config TINY = new Gpt.Config(20, 32, 2, 2, 8, 1e-5, 0.0);

    private static Gpt model() {
        Gpt m = new Gpt(TINY, DType.F64, new Generator(5));
        m.eval();
        return m;
    }

    @Test
    void layoutMasksPromptAndPaddingByPosition() {
        // row 0: prompt {1,2,3}, completion {4,5}; row 1: prompt {6}, completion {7}; pad 5 (equal to a real token)
        SequenceBatch b = SequenceBatch.of(new int[][] {{1, 2, 3}, {6}}, new int[][] {{4, 5}, {7}}, 5, DType.F64);
        assertArrayEquals(new int[] {1, 2, 3, 4, 5, 5, 5, 6, 7, 5}, b.ids().toIntArray());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 0, 0, 0, 1, 1}, b.positions().toIntArray());
        double inf = Double.NEGATIVE_INFINITY;
        assertArrayEquals(new double[] {0, 0, 0, 0, 0, inf, inf, 0, 0, 0}, b.padMask().toDoubleArray());
        // targets are ids[1..]; counted where the target is a completion token
        assertArrayEquals(new double[] {0, 0, 1, 1, 0, 0, 1, 0}, b.completionMask().toDoubleArray());
        assertEquals(3, b.promptWidth());
    }

    /** The same sums, computed one row at a time with no padding at all: the oracle. */
    private static double aloneSum(Gpt model, int[] prompt, int[] completion) {
        int[] seq = new int[prompt.length + completion.length];
        System.arraycopy(prompt, 0, seq, 0, prompt.length);
        System.arraycopy(completion, 0, seq, prompt.length, completion.length);
        try (var g = Grad.disabled()) {
            Tensor logits = model.forward(Tensor.ofInts(seq, 1, seq.length)).data();
            double s = 0;
            for (int j = prompt.length; j < seq.length; j++) {
                Tensor row = logits.narrow(1, j - 1, 1);
                Tensor lp = Nn.tokenLogProbs(org.rlhf4j.autograd.Variable.constant(row),
                        Tensor.ofInts(new int[] {seq[j]}, 1, 1), 1.0).data();
                s += lp.item();
            }
            return s;
        }
    }

    @Test
    void sumsMatchEachRowAloneAndIgnoreThePadId() {
        Gpt model = model();
        int[][] prompts = {{1, 2, 3}, {6}, {9, 8}};
        int[][] completions = {{4, 5}, {7}, {3, 3, 3, 3}};
        for (int pad : new int[] {0, 5, 19}) { // 5 equals a real token
            Tensor sums = SequenceLogProbs.sum(model, SequenceBatch.of(prompts, completions, pad, DType.F64), 1.0).data();
            for (int i = 0; i < prompts.length; i++) {
                assertEquals(aloneSum(model, prompts[i], completions[i]), sums.get(i), 1e-10, "row " + i + " pad " + pad);
            }
        }
    }

    @Test
    void maskedPositionsGetNoGradient() {
        Gpt model = model();
        SequenceBatch b = SequenceBatch.of(new int[][] {{1, 2}, {3}}, new int[][] {{4}, {5, 6, 7}}, 0, DType.F64);
        var logits = org.rlhf4j.autograd.Variable.parameter(
                model.forward(b.ids(), b.positions(), b.padMask()).data().copy());
        var next = org.rlhf4j.autograd.ShapeOps.narrow(logits, 1, 0, b.ids().size(1) - 1);
        Nn.tokenLogProbs(next, b.targets(), 1.0).mul(org.rlhf4j.autograd.Variable.constant(b.completionMask()))
                .sum().backward();
        double[] mask = b.completionMask().toDoubleArray();
        int t = b.ids().size(1);
        for (int r = 0; r < 2; r++) {
            for (int j = 0; j < t; j++) {
                boolean counted = j < t - 1 && mask[r * (t - 1) + j] == 1;
                double norm = logits.grad().narrow(0, r, 1).narrow(1, j, 1).abs().sum().item();
                assertTrue(counted ? norm > 0 : norm == 0, "row " + r + " position " + j + " gradient " + norm);
            }
        }
    }
}
