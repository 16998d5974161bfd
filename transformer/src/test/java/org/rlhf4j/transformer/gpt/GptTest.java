package org.rlhf4j.transformer.gpt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.rlhf4j.autograd.Grad;
import org.rlhf4j.autograd.GradCheck;
import org.rlhf4j.autograd.Loss;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;

class GptTest {
    static final Gpt.Config TINY = new Gpt.Config(32, 24, 2, 2, 8, 1e-5, 0.0);

    static Gpt tiny(DType dtype, long seed) {
        return new Gpt(TINY, dtype, new Generator(seed));
    }

    static Tensor ids(int[][] rows) {
        int b = rows.length, t = rows[0].length;
        int[] flat = new int[b * t];
        for (int i = 0; i < b; i++) System.arraycopy(rows[i], 0, flat, i * t, t);
        return Tensor.ofInts(flat, b, t);
    }

    @Test
    void parameterNamesAndShapesAreHuggingFaces() {
        Gpt model = tiny(DType.F32, 1);
        var names = List.copyOf(model.namedParameters().keySet());
        assertEquals("transformer.wte.weight", names.get(0));
        assertEquals("transformer.wpe.weight", names.get(1));
        assertEquals("transformer.h.0.ln_1.weight", names.get(2));
        assertTrue(names.contains("transformer.h.1.attn.c_attn.weight"));
        assertTrue(names.contains("transformer.h.1.mlp.c_proj.bias"));
        assertEquals("transformer.ln_f.bias", names.get(names.size() - 1));
        // 2 embeddings + 12 per block + 2 final LayerNorm; the LM head is tied, not a parameter
        assertEquals(2 + 12 * 2 + 2, names.size());
        assertArrayEquals(new int[] {8, 24}, model.namedParameters().get("transformer.h.0.attn.c_attn.weight").shape());
        assertArrayEquals(new int[] {8, 32}, model.namedParameters().get("transformer.h.0.mlp.c_fc.weight").shape()); // [in, out]
    }

    @Test
    void logitsWithTheCacheEqualAFullRecompute() {
        for (DType dtype : new DType[] {DType.F64, DType.F32}) {
            Gpt model = tiny(dtype, 3);
            model.eval();
            int[][] rows = {{1, 5, 9, 2, 7, 3, 11, 4}, {6, 6, 1, 0, 30, 2, 8, 9}};
            Tensor full = model.forward(ids(rows)).data();         // [2, 8, 32], fused flash attention
            KvCache cache = model.newCache(2, 8);
            // prefill 5 tokens, then one at a time
            Tensor pre = model.forwardCached(ids(new int[][] {{1, 5, 9, 2, 7}, {6, 6, 1, 0, 30}}),
                    Gpt.defaultPositions(2, 5), null, cache);
            double tol = dtype == DType.F64 ? 1e-12 : 1e-5;
            assertTrue(pre.allClose(full.narrow(1, 0, 5), tol, tol), "prefill logits differ");
            for (int t = 5; t < 8; t++) {
                Tensor step = model.forwardCached(ids(new int[][] {{rows[0][t]}, {rows[1][t]}}),
                        Tensor.ofInts(new int[] {t, t}, 2, 1), null, cache);
                assertTrue(step.allClose(full.narrow(1, t, 1), tol, tol), "step " + t + " logits differ");
            }
        }
    }

    @Test
    void leftPaddedRowsMatchTheUnpaddedSequence() {
        Gpt model = tiny(DType.F64, 4);
        model.eval();
        Tensor alone = model.forward(ids(new int[][] {{3, 1, 4, 1, 5}})).data();
        // the same row after 3 pads: positions count from the first real token, pads are masked
        Tensor padded = ids(new int[][] {{0, 0, 0, 3, 1, 4, 1, 5}});
        Tensor positions = Tensor.ofInts(new int[] {0, 0, 0, 0, 1, 2, 3, 4}, 1, 8);
        double inf = Double.NEGATIVE_INFINITY;
        Tensor mask = Tensor.of(new double[] {inf, inf, inf, 0, 0, 0, 0, 0}, 1, 8);
        Tensor out = model.forward(padded, positions, mask).data().narrow(1, 3, 5);
        assertTrue(out.allClose(alone, 1e-12, 1e-12));
    }

    @Test
    void wholeModelGradientCheckInF64() {
        // Fast mode (a random directional derivative uᵀ∇L against central differences, GradCheck's tolerances)
        // over every parameter at once: embeddings, attention, MLP, LayerNorms and the tied head.
        Gpt model = tiny(DType.F64, 5);
        var params = List.copyOf(model.namedParameters().values());
        Tensor input = ids(new int[][] {{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}});
        Tensor targets = ids(new int[][] {{2, 3, 4, 5, 6, 7}, {8, 9, 10, 11, 12, 13}});
        Loss.crossEntropy(model.forward(input), targets).backward();
        Generator gen = new Generator(77);
        double analytic = 0;
        Tensor[] u = new Tensor[params.size()];
        for (int i = 0; i < u.length; i++) {
            u[i] = Tensor.randn(gen, DType.F64, params.get(i).shape());
            analytic += params.get(i).grad().mul(u[i]).sum().item();
        }
        double eps = GradCheck.EPS;
        for (int i = 0; i < u.length; i++) params.get(i).data().addScaledInPlace(u[i], eps);
        double plus = lossValue(model, input, targets);
        for (int i = 0; i < u.length; i++) params.get(i).data().addScaledInPlace(u[i], -2 * eps);
        double minus = lossValue(model, input, targets);
        double numeric = (plus - minus) / (2 * eps);
        assertEquals(numeric, analytic, GradCheck.ATOL + GradCheck.RTOL * Math.abs(numeric), "directional derivative");
    }

    private static double lossValue(Gpt model, Tensor input, Tensor targets) {
        try (var g = Grad.disabled()) {
            return Loss.crossEntropy(model.forward(input), targets).data().item();
        }
    }

    @Test
    void tooLongSequenceFailsClearly() {
        Gpt model = tiny(DType.F32, 1);
        var e = assertThrows(IllegalArgumentException.class, () -> model.forward(Tensor.zeros(DType.I32, 1, 25)));
        assertTrue(e.getMessage().contains("context length"), e.getMessage());
    }
}
