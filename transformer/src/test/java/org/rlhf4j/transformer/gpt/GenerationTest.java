package org.rlhf4j.transformer.gpt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.rlhf4j.autograd.Grad;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;

class GenerationTest {
    private static final int EOS = 31, PAD = 0;

    /** Greedy decoding by full recompute, no cache: the oracle. */
    private static int[] greedyByRecompute(Gpt model, int[] prompt, int n) {
        int[] seq = prompt.clone();
        int[] out = new int[n];
        try (var g = Grad.disabled()) {
            for (int s = 0; s < n; s++) {
                Tensor logits = model.forward(Tensor.ofInts(seq, 1, seq.length)).data().select(1, seq.length - 1);
                int next = (int) logits.argmax().item();
                out[s] = next;
                seq = java.util.Arrays.copyOf(seq, seq.length + 1);
                seq[seq.length - 1] = next;
            }
        }
        return out;
    }

    @Test
    void greedyWithCacheMatchesFullRecompute() {
        Gpt model = GptTest.tiny(DType.F64, 11);
        model.eval();
        int[] prompt = {3, 9, 27, 4};
        var r = Generation.generate(model, new int[][] {prompt}, SamplingConfig.greedy(10, -1, PAD));
        assertArrayEquals(greedyByRecompute(model, prompt, 10), r.completions()[0]);
    }

    @Test
    void leftPaddedBatchGivesEachPromptsOwnTokens() {
        for (DType dtype : new DType[] {DType.F64, DType.F32}) {
            Gpt model = GptTest.tiny(dtype, 12);
            model.eval();
            // the first row gets 9 pads: padding queries see only padding keys (a regression once made NaN there)
            int[][] prompts = {{5, 1}, {7, 8, 9, 10, 2, 3, 3, 1, 6, 11, 12}, {4}};
            for (SamplingConfig c : new SamplingConfig[] {
                SamplingConfig.greedy(8, -1, PAD), SamplingConfig.sample(8, -1, PAD, 99).withTopK(5).withTopP(0.9)}) {
                var batch = Generation.generate(model, prompts, c);
                for (int b = 0; b < prompts.length; b++) {
                    var alone = Generation.generate(model, new int[][] {prompts[b]}, c, new long[] {c.seed() + b});
                    assertArrayEquals(alone.completions()[0], batch.completions()[b], dtype + " row " + b);
                }
            }
        }
    }

    @Test
    void stopsAtEosAndPads() {
        Gpt model = GptTest.tiny(DType.F64, 13);
        model.eval();
        int[] prompt = {1, 2, 3};
        int[] free = Generation.generate(model, new int[][] {prompt}, SamplingConfig.greedy(6, -1, PAD)).completions()[0];
        int eos = free[2]; // make the third greedy token the EOS: generation must stop right after it
        var r = Generation.generate(model, new int[][] {prompt, {4, 4}}, SamplingConfig.greedy(6, eos, PAD));
        int firstEos = -1;
        for (int i = 0; i < free.length; i++) if (free[i] == eos) { firstEos = i; break; }
        assertEquals(firstEos + 1, r.completions()[0].length);
        assertTrue(r.endedWithEos()[0]);
        assertEquals(eos, r.completions()[0][firstEos]);
    }

    @Test
    void samplingIsSeededAndTopKOneIsGreedy() {
        Gpt model = GptTest.tiny(DType.F32, 14);
        model.eval();
        int[][] prompts = {{1, 2, 3}, {3, 2, 1}};
        var a = Generation.generate(model, prompts, SamplingConfig.sample(12, -1, PAD, 5));
        var b = Generation.generate(model, prompts, SamplingConfig.sample(12, -1, PAD, 5));
        var c = Generation.generate(model, prompts, SamplingConfig.sample(12, -1, PAD, 6));
        assertArrayEquals(a.completions()[0], b.completions()[0]);
        assertTrue(!java.util.Arrays.equals(a.completions()[0], c.completions()[0])
                || !java.util.Arrays.equals(a.completions()[1], c.completions()[1]), "different seeds, same tokens");
        var k1 = Generation.generate(model, prompts, SamplingConfig.sample(12, -1, PAD, 5).withTopK(1));
        var greedy = Generation.generate(model, prompts, SamplingConfig.greedy(12, -1, PAD));
        assertArrayEquals(greedy.completions()[1], k1.completions()[1]);
    }

    @Test
    void pickFollowsTheFilteredDistribution() {
        // logits ln(0.5), ln(0.3), ln(0.2): probabilities 0.5, 0.3, 0.2 (by construction)
        double[] logits = {Math.log(0.2), Math.log(0.5), Math.log(0.3)};
        SamplingConfig c = SamplingConfig.sample(1, -1, 0, 0);
        assertEquals(1, Generation.pick(logits, 0, 3, c, 0.49));
        assertEquals(2, Generation.pick(logits, 0, 3, c, 0.51));
        assertEquals(0, Generation.pick(logits, 0, 3, c, 0.81));
        // top-p 0.7: keeps {0.5, 0.3}, renormalised to 0.625 / 0.375
        assertEquals(2, Generation.pick(logits, 0, 3, c.withTopP(0.7), 0.63));
        assertEquals(1, Generation.pick(logits, 0, 3, c.withTopP(0.7), 0.62));
        // top-k 1: always the most likely
        assertEquals(1, Generation.pick(logits, 0, 3, c.withTopK(1), 0.99));
    }

    @Test
    void badRequestsFailClearly() {
        Gpt model = GptTest.tiny(DType.F32, 1);
        assertThrows(IllegalArgumentException.class,
                () -> Generation.generate(model, new int[][] {{1, 99}}, SamplingConfig.greedy(2, -1, 0)));
        assertThrows(IllegalArgumentException.class,
                () -> Generation.generate(model, new int[][] {{1, 2}}, SamplingConfig.greedy(40, -1, 0)));
        assertThrows(IllegalArgumentException.class, () -> SamplingConfig.sample(2, -1, 0, 0).withTopP(0));
    }
}
