package org.rlhf4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;

/**
 * BF16 mixed precision: products and attention lowered inside the scope, with F32 outputs and F32 gradients for
 * F32 leaves. References are F64 computations over the BF16-rounded values.
 */
class AutocastTest {
    private static Tensor randn(Random r, int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return Tensor.of(x, shape);
    }

    private static double[] rounded(Tensor t) {
        return t.to(DType.BF16).to(DType.F64).contiguous().toDoubleArray();
    }

    /** F64 [m,k] x [k,n] over plain arrays; ta/tb read the operand as its transpose. */
    private static double[] mm(double[] a, boolean ta, double[] b, boolean tb, int m, int k, int n) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
                c[i * n + j] = s;
            }
        }
        return c;
    }

    private static void assertClose(double[] expected, Tensor actual, double rtol, String what) {
        double[] got = actual.to(DType.F64).toDoubleArray();
        assertEquals(expected.length, got.length, what);
        for (int i = 0; i < got.length; i++) {
            assertEquals(expected[i], got[i], 1e-5 + rtol * Math.abs(expected[i]), what + " element " + i);
        }
    }

    private static void assertCloseToScale(Tensor expected, Tensor actual, double fraction, String what) {
        double[] e = expected.to(DType.F64).toDoubleArray(), a = actual.to(DType.F64).toDoubleArray();
        double scale = 0;
        for (double x : e) scale = Math.max(scale, Math.abs(x));
        for (int i = 0; i < e.length; i++) assertEquals(e[i], a[i], fraction * scale, what + " element " + i);
    }

    @Test
    void bf16MatmulComputesOnRoundedOperandsAndReturnsF32Gradients() {
        Random r = new Random(11);
        int m = 13, k = 24, n = 9;
        Tensor a = randn(r, m, k), b = randn(r, k, n), dc = randn(r, m, n);
        Variable va = Variable.parameter(a), vb = Variable.parameter(b);
        Variable c;
        try (var s = Autocast.with(Precision.BF16)) {
            c = va.matmul(vb);
        }
        assertEquals(DType.F32, c.dtype());
        assertClose(mm(rounded(a), false, rounded(b), false, m, k, n), c.data(), 1e-6, "C");
        c.backward(dc, false); // outside the scope: the op remembers its precision
        assertEquals(DType.F32, va.grad().dtype());
        assertClose(mm(rounded(dc), false, rounded(b), true, m, n, k), va.grad(), 1e-6, "dA = dC16 B16^T");
        assertClose(mm(rounded(a), true, rounded(dc), false, k, m, n), vb.grad(), 1e-6, "dB = A16^T dC16");
        // and it is not the F32 product: the rounding is visible at this size
        double maxDiff = 0;
        double[] exact = a.to(DType.F64).matmul(b.to(DType.F64)).toDoubleArray(), low = c.data().to(DType.F64).toDoubleArray();
        for (int i = 0; i < exact.length; i++) maxDiff = Math.max(maxDiff, Math.abs(exact[i] - low[i]));
        assertTrue(maxDiff > 1e-4, "BF16 rounding should show, max difference " + maxDiff);
    }

    @Test
    void f64StaysExactInsideABf16ScopeSoGradientChecksStillHold() {
        Random r = new Random(12);
        Tensor a = randn(r, 4, 5).to(DType.F64), b = randn(r, 5, 3).to(DType.F64);
        try (var s = Autocast.with(Precision.BF16)) {
            Variable y = Variable.parameter(a).matmul(Variable.parameter(b));
            assertArrayEquals(a.matmul(b).toDoubleArray(), y.data().toDoubleArray(), 0.0);
        }
    }

    @Test
    void bf16AttentionTracksF32AttentionWithinBf16Rounding() {
        Random r = new Random(13);
        int b = 2, h = 2, t = 9, d = 8;
        Tensor q = randn(r, b, h, t, d), k = randn(r, b, h, t, d), v = randn(r, b, h, t, d), dout = randn(r, b, h, t, d);
        double scale = 1 / Math.sqrt(d);
        Variable[] p32 = {Variable.parameter(q), Variable.parameter(k), Variable.parameter(v)};
        Variable[] p16 = {Variable.parameter(q), Variable.parameter(k), Variable.parameter(v)};
        Variable y32 = Nn.attention(p32[0], p32[1], p32[2], null, scale);
        Variable y16;
        try (var s = Autocast.with(Precision.BF16)) {
            y16 = Nn.attention(p16[0], p16[1], p16[2], null, scale);
        }
        assertEquals(DType.F32, y16.dtype());
        y32.backward(dout, false);
        y16.backward(dout, false);
        // BF16 has 8 significant bits: inputs of O(1) rounded by 2^-9 relative move outputs and gradients by a
        // few parts in 100 of their largest entry
        assertCloseToScale(y32.data(), y16.data(), 2e-2, "out");
        for (int i = 0; i < 3; i++) {
            assertEquals(DType.F32, p16[i].grad().dtype());
            assertCloseToScale(p32[i].grad(), p16[i].grad(), 3e-2, "grad " + i);
        }
        // the lowered output is exactly the BF16 attention of the BF16 copies
        Tensor[] direct = org.rlhf4j.tensor.NnOps.attention(q.to(DType.BF16), k.to(DType.BF16), v.to(DType.BF16), null, scale);
        assertArrayEquals(direct[0].toFloatArray(), y16.data().toFloatArray());
    }

    @Test
    void bf16LinearAndPackedAttentionEqualTheirCompositionsUnderBf16() {
        Random r = new Random(17);
        int b = 2, t = 7, heads = 2, d = 8, c = heads * d;
        Tensor x = randn(r, b * t, c), w = randn(r, c, 3 * c), bias = randn(r, 3 * c), dy = randn(r, b, t, c);
        Variable[] f = {Variable.parameter(x), Variable.parameter(w), Variable.parameter(bias)};
        Variable[] u = {Variable.parameter(x), Variable.parameter(w), Variable.parameter(bias)};
        Variable yf, yu;
        try (var s = Autocast.with(Precision.BF16)) {
            yf = Nn.packedAttention(LinearAlgebra.linear(f[0], f[1], f[2]).reshape(b, t, 3 * c), heads, null, 0.3);
            Variable qkv = u[0].matmul(u[1]).add(u[2]).reshape(b, t, 3 * c);
            Variable[] p = new Variable[3];
            for (int i = 0; i < 3; i++) p[i] = ShapeOps.narrow(qkv, 2, i * c, c).reshape(b, t, heads, d).permute(0, 2, 1, 3);
            yu = Nn.attention(p[0], p[1], p[2], null, 0.3).permute(0, 2, 1, 3).reshape(b, t, c);
        }
        // K = 16: one block of the product, so bias + product is the same single rounding either way
        assertArrayEquals(yu.data().toFloatArray(), yf.data().toFloatArray(), 0f);
        yf.backward(dy, false);
        yu.backward(dy, false);
        for (int i = 0; i < 3; i++) {
            assertEquals(DType.F32, f[i].grad().dtype());
            assertArrayEquals(u[i].grad().toFloatArray(), f[i].grad().toFloatArray(), 0f, "grad " + i);
        }
    }

    @Test
    void scopesNestAndRestoreAndPrecisionParsesCommandLineNames() {
        assertEquals(Precision.F32, Autocast.current());
        try (var outer = Autocast.with(Precision.BF16)) {
            try (var inner = Autocast.with(Precision.F32)) {
                assertEquals(Precision.F32, Autocast.current());
            }
            assertEquals(Precision.BF16, Autocast.current());
        }
        assertEquals(Precision.F32, Autocast.current());
        assertEquals(Precision.BF16, Precision.parse("BF16"));
        assertEquals(Precision.F32, Precision.parse("fp32"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Precision.parse("fp16"));
        assertTrue(e.getMessage().contains("f32 or bf16") && e.getMessage().contains("fp16"), e.getMessage());
    }
}
