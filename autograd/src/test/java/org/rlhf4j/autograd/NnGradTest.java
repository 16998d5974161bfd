package org.rlhf4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;

/**
 * The fused NN ops through autograd: backward against finite differences (GradCheck), and forward and backward
 * against the same function composed from primitive differentiable ops, in F64, to 1e-10.
 */
class NnGradTest {
    private static final double TIGHT = 1e-10;
    private final Generator gen = new Generator(2024);

    private Tensor randn(int... shape) {
        return Tensor.randn(gen, DType.F64, shape);
    }

    private Tensor randomIds(int bound, int... shape) {
        Tensor u = Tensor.empty(DType.F64, shape).fillUniform(gen, 0, bound);
        return u.to(DType.I32);
    }

    /** Forward values and input gradients (under a random output weighting) of fused and composed agree. */
    private void assertSameFunction(GradCheck.Fn fused, GradCheck.Fn composed, Tensor... inputs) {
        Variable[] a = new Variable[inputs.length], b = new Variable[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            a[i] = Variable.parameter(inputs[i].copy());
            b[i] = Variable.parameter(inputs[i].copy());
        }
        Variable ya = fused.apply(a), yb = composed.apply(b);
        assertTrue(ya.data().allClose(yb.data(), TIGHT, TIGHT), "forward differs: " + ya.data() + " vs " + yb.data());
        Tensor w = randn(ya.shape());
        ya.mul(Variable.constant(w)).sum().backward();
        yb.mul(Variable.constant(w)).sum().backward();
        for (int i = 0; i < inputs.length; i++) {
            if (a[i].grad() == null && b[i].grad() == null) continue;
            assertTrue(a[i].grad().allClose(b[i].grad(), TIGHT, TIGHT), "gradient of input " + i + " differs");
        }
    }

    /** log softmax composed: x - max - log(sum(exp(x - max))). */
    private static Variable logSoftmaxComposed(Variable x) {
        Variable shifted = x.sub(Variable.constant(x.data().max(-1, true)));
        return shifted.sub(shifted.exp().sum(-1, true).log());
    }

    @Test
    void softmaxAndLogSoftmax() {
        GradCheck.check(v -> Nn.softmax(v[0]), randn(3, 5)).assertPassed();
        GradCheck.check(v -> Nn.logSoftmax(v[0]), randn(2, 2, 4)).assertPassed();
        GradCheck.check(v -> Nn.softmax(v[0]), randn(5, 3).t()).assertPassed();
        assertSameFunction(v -> Nn.logSoftmax(v[0]), v -> logSoftmaxComposed(v[0]), randn(4, 7).mul(5));
        assertSameFunction(v -> Nn.softmax(v[0]), v -> logSoftmaxComposed(v[0]).exp(), randn(2, 3, 9));
    }

    @Test
    void tokenLogProbsWithTemperature() {
        Tensor targets = randomIds(6, 2, 3);
        for (double temperature : new double[] {1.0, 0.7}) {
            GradCheck.check(v -> Nn.tokenLogProbs(v[0], targets, temperature), randn(2, 3, 6)).assertPassed();
            assertSameFunction(v -> Nn.tokenLogProbs(v[0], targets, temperature),
                    v -> ShapeOps.squeeze(ShapeOps.gather(logSoftmaxComposed(v[0].mul(1 / temperature)), 2,
                            targets.unsqueeze(-1)), 2),
                    randn(2, 3, 6).mul(3));
        }
    }

    @Test
    void crossEntropyWithMaskAndIgnoreIndex() {
        Tensor targets = Tensor.ofInts(new int[] {1, -100, 4, 0, 2, 3}, 2, 3);
        Tensor mask = Tensor.of(new double[] {1, 1, 0, 1, 1, 1}, 2, 3);
        GradCheck.check(v -> Loss.crossEntropy(v[0], targets, mask, -100), randn(2, 3, 5)).assertPassed();
        // composed: -sum(w * logp) / sum(w) with w = mask * [target != ignore]; ignored targets replaced by 0
        Tensor w = Tensor.of(new double[] {1, 0, 0, 1, 1, 1}, 2, 3);
        Tensor safe = Tensor.ofInts(new int[] {1, 0, 4, 0, 2, 3}, 2, 3);
        assertSameFunction(v -> Loss.crossEntropy(v[0], targets, mask, -100),
                v -> Nn.tokenLogProbs(v[0], safe, 1.0).mul(Variable.constant(w)).sum().mul(-1.0 / 4),
                randn(2, 3, 5));
        // masked positions get exactly zero gradient
        Variable logits = Variable.parameter(randn(2, 3, 5));
        Loss.crossEntropy(logits, targets, mask, -100).backward();
        for (int[] p : new int[][] {{0, 1}, {0, 2}}) {
            for (int c = 0; c < 5; c++) assertEquals(0.0, logits.grad().get(p[0], p[1], c), 0.0);
        }
    }

    @Test
    void layerNormWithAndWithoutAffine() {
        GradCheck.check(v -> Nn.layerNorm(v[0], v[1], v[2], 1e-5), randn(3, 5), randn(5), randn(5)).assertPassed();
        GradCheck.check(v -> Nn.layerNorm(v[0], null, null, 1e-5), randn(2, 2, 4)).assertPassed();
        GradCheck.check(v -> Nn.layerNorm(v[0], v[1], null, 1e-5), randn(4, 3).t(), randn(4)).assertPassed();
        // composed: (x - mean) / sqrt(var + eps) * w + b, biased variance
        assertSameFunction(v -> Nn.layerNorm(v[0], v[1], v[2], 1e-5), v -> {
            Variable centered = v[0].sub(v[0].mean(-1, true));
            Variable var = centered.mul(centered).mean(-1, true);
            return centered.div(var.add(1e-5).sqrt()).mul(v[1]).add(v[2]);
        }, randn(4, 6).mul(3).add(1), randn(6), randn(6));
    }

    @Test
    void geluMatchesItsTanhFormula() {
        // 0.5 x (1 + tanh(c (x + 0.044715 x^3)))
        double c = Math.sqrt(2 / Math.PI);
        assertSameFunction(v -> v[0].gelu(),
                v -> v[0].mul(0.5).mul(v[0].add(v[0].pow(3.0).mul(0.044715)).mul(c).tanh().add(1.0)),
                randn(5, 7).mul(2));
    }

    /** Attention composed from primitives: scores, causal and padding masks, softmax, weighted sum. */
    private static Variable attentionComposed(Variable q, Variable k, Variable v, Tensor mask, double scale) {
        int t = q.shape()[2];
        double[] causal = new double[t * t];
        for (int i = 0; i < t; i++) for (int j = i + 1; j < t; j++) causal[i * t + j] = Double.NEGATIVE_INFINITY;
        Variable scores = q.matmul(k.transpose(-1, -2)).mul(scale).add(Variable.constant(Tensor.of(causal, t, t)));
        if (mask != null) scores = scores.add(Variable.constant(mask.unsqueeze(1).unsqueeze(1))); // [B,1,1,T]
        return Nn.softmax(scores).matmul(v);
    }

    @Test
    void attention() {
        int b = 2, h = 2, t = 5, d = 3;
        double scale = 1 / Math.sqrt(d);
        GradCheck.check(v -> Nn.attention(v[0], v[1], v[2], null, scale), randn(1, 2, 4, 3), randn(1, 2, 4, 3),
                randn(1, 2, 4, 3)).assertPassed();
        assertSameFunction(v -> Nn.attention(v[0], v[1], v[2], null, scale),
                v -> attentionComposed(v[0], v[1], v[2], null, scale), randn(b, h, t, d), randn(b, h, t, d), randn(b, h, t, d));
        // left padding: batch 1 has two pad positions; rows of real tokens never see them
        // (a large finite negative here: the composed softmax of a row whose keys are all -inf would be NaN)
        Tensor mask = Tensor.of(new double[] {0, 0, 0, 0, 0, -1e9, -1e9, 0, 0, 0}, b, t);
        Tensor[] qkv = {randn(b, h, t, d), randn(b, h, t, d), randn(b, h, t, d)};
        // compare the rows that have at least one real key
        Variable[] fa = {Variable.parameter(qkv[0].copy()), Variable.parameter(qkv[1].copy()), Variable.parameter(qkv[2].copy())};
        Variable[] fb = {Variable.parameter(qkv[0].copy()), Variable.parameter(qkv[1].copy()), Variable.parameter(qkv[2].copy())};
        Variable ya = ShapeOps.narrow(Nn.attention(fa[0], fa[1], fa[2], mask, 0.8), 2, 2, t - 2);
        Variable yb = ShapeOps.narrow(attentionComposed(fb[0], fb[1], fb[2], mask, 0.8), 2, 2, t - 2);
        assertTrue(ya.data().allClose(yb.data(), TIGHT, TIGHT));
        Tensor w = randn(ya.shape());
        ya.mul(Variable.constant(w)).sum().backward();
        yb.mul(Variable.constant(w)).sum().backward();
        for (int i = 0; i < 3; i++) assertTrue(fa[i].grad().allClose(fb[i].grad(), TIGHT, TIGHT), "input " + i);
        // fully masked query rows (-inf): zero output, zero gradient, no NaN
        Tensor infMask = Tensor.of(new double[] {0, 0, 0, 0, 0, Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY, 0, 0, 0}, b, t);
        Variable q = Variable.parameter(qkv[0].copy());
        Variable out = Nn.attention(q, Variable.parameter(qkv[1].copy()), Variable.parameter(qkv[2].copy()), infMask, 0.8);
        out.sum().backward();
        for (double x : out.data().toDoubleArray()) assertTrue(Double.isFinite(x));
        for (double x : q.grad().toDoubleArray()) assertTrue(Double.isFinite(x));
        assertEquals(0.0, out.data().get(1, 0, 0, 0), 0.0);
    }

    /** packedAttention unfused: head views of qkv, the attention op on them, heads merged back (GPT-2's layout). */
    private static Variable packedAttentionComposed(Variable qkv, int heads, Tensor mask, double scale) {
        int[] s = qkv.shape();
        int b = s[0], t = s[1], c = s[2] / 3, d = c / heads;
        Variable[] parts = new Variable[3];
        for (int i = 0; i < 3; i++) {
            parts[i] = ShapeOps.narrow(qkv, 2, i * c, c).reshape(b, t, heads, d).permute(0, 2, 1, 3);
        }
        return Nn.attention(parts[0], parts[1], parts[2], mask, scale).permute(0, 2, 1, 3).reshape(b, t, c);
    }

    @Test
    void packedAttention() {
        int b = 2, t = 5, heads = 2, d = 3;
        double scale = 1 / Math.sqrt(d);
        GradCheck.check(v -> Nn.packedAttention(v[0], 2, null, scale), randn(1, 4, 3 * 2 * 2)).assertPassed();
        assertSameFunction(v -> Nn.packedAttention(v[0], heads, null, scale),
                v -> packedAttentionComposed(v[0], heads, null, scale), randn(b, t, 3 * heads * d));
        // a non-contiguous qkv (a transposed view) and a left-padded batch row (its rows with real keys compared)
        Tensor mask = Tensor.of(new double[] {0, 0, 0, 0, 0, -1e9, -1e9, 0, 0, 0}, b, t);
        Tensor qkvT = randn(b, 3 * heads * d, t).transpose(1, 2);
        assertSameFunction(v -> ShapeOps.narrow(Nn.packedAttention(v[0], heads, mask, 0.8), 1, 2, t - 2),
                v -> ShapeOps.narrow(packedAttentionComposed(v[0], heads, mask, 0.8), 1, 2, t - 2), qkvT);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Nn.packedAttention(Variable.constant(randn(1, 4, 10)), 2, null, scale));
        assertTrue(e.getMessage().contains("packedAttention") && e.getMessage().contains("[1, 4, 10]"), e.getMessage());
    }

    @Test
    void embedding() {
        Tensor ids = Tensor.ofInts(new int[] {3, 0, 3, 1, 3, 2}, 2, 3);
        GradCheck.check(v -> Nn.embedding(v[0], ids), randn(4, 3)).assertPassed();
        assertSameFunction(v -> Nn.embedding(v[0], ids),
                v -> ShapeOps.indexSelect(v[0], 0, ids.reshape(-1)).reshape(2, 3, 5), randn(4, 5));
    }
}
