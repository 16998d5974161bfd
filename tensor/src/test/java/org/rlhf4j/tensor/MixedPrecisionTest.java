package org.rlhf4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The CPU's mixed-precision products: BF16 operands with F32 accumulation and an F32 (or BF16) output, and BF16
 * attention with an F32 logsumexp. References are F64 loops over the BF16 operands' exact values.
 */
class MixedPrecisionTest {
    private static Tensor bf16Random(Random r, int... shape) {
        float[] x = new float[Shapes.numel(shape)];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return Tensor.of(x, shape).to(DType.BF16);
    }

    /** F64 product of the (exact) BF16 values of a [M,K] and b [K,N]. */
    private static double[] reference(Tensor a, Tensor b) {
        double[] x = a.to(DType.F64).contiguous().toDoubleArray(), y = b.to(DType.F64).contiguous().toDoubleArray();
        int m = a.size(0), k = a.size(1), n = b.size(1);
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += x[i * k + p] * y[p * n + j];
                c[i * n + j] = s;
            }
        }
        return c;
    }

    @Test
    void bf16ProductWithF32OutputMatchesTheExactProductOfTheRoundedOperands() {
        Random r = new Random(1);
        Tensor a = bf16Random(r, 37, 70), b = bf16Random(r, 70, 45);
        Tensor c = a.matmul(b, DType.F32);
        assertEquals(DType.F32, c.dtype());
        assertArrayEquals(reference(a, b), c.to(DType.F64).toDoubleArray(), 1e-4);
        // a transposed view of a BF16 operand, as a backward pass passes it
        Tensor bt = bf16Random(r, 45, 70);
        assertArrayEquals(reference(a, bt.transpose(0, 1).contiguous()),
                a.matmul(bt.transpose(0, 1), DType.F32).to(DType.F64).toDoubleArray(), 1e-4);
    }

    @Test
    void bf16OutputIsTheF32ProductRoundedOnce() {
        Random r = new Random(2);
        Tensor a = bf16Random(r, 3, 9, 20), b = bf16Random(r, 3, 20, 11);
        Tensor c16 = a.matmul(b);
        assertEquals(DType.BF16, c16.dtype());
        Tensor c32 = a.matmul(b, DType.F32);
        float[] expected = c32.toFloatArray(), actual = c16.toFloatArray();
        for (int i = 0; i < expected.length; i++) {
            assertEquals(BFloat16.toFloat(BFloat16.fromFloat(expected[i])), actual[i], 0f, "element " + i);
        }
        // gemm with beta reads a BF16 output, accumulates in F32 and rounds once
        Tensor acc = Tensor.full(0.5, DType.BF16, Device.CPU, 3, 9, 11);
        Tensor.gemm(acc, a, b, 2.0, 1.0);
        float[] got = acc.toFloatArray();
        for (int i = 0; i < expected.length; i++) {
            assertEquals(BFloat16.toFloat(BFloat16.fromFloat(2 * expected[i] + 0.5f)), got[i], 0f, "element " + i);
        }
    }

    @Test
    void otherMixedOutputsAreRefusedNamingTheRule() {
        Tensor f = Tensor.ones(DType.F32, 2, 2), d = Tensor.ones(DType.F64, 2, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.matmul(f, DType.BF16));
        assertTrue(e.getMessage().contains("matmul: F32 operands cannot give a BF16 output"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Tensor.gemm(Tensor.zeros(2, 2), d, d, 1, 0));
        assertTrue(e.getMessage().contains("gemm: F64 operands cannot give a F32 output"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> f.matmul(f.to(DType.BF16), DType.F32));
        assertTrue(e.getMessage().contains("dtypes F32 and BF16 differ"), e.getMessage());
    }

    /** Naive causal attention in F64 over [B,H,T,D] arrays, with an additive [B,T] mask or none. */
    private static double[] referenceAttention(double[] q, double[] k, double[] v, double[] mask, int b, int h, int t,
                                               int d, double scale, double[] lse) {
        double[] out = new double[q.length];
        for (int bh = 0; bh < b * h; bh++) {
            int base = bh * t * d;
            for (int i = 0; i < t; i++) {
                double[] s = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    double dot = 0;
                    for (int x = 0; x < d; x++) dot += q[base + i * d + x] * k[base + j * d + x];
                    s[j] = dot * scale + (mask == null ? 0 : mask[(bh / h) * t + j]);
                    max = Math.max(max, s[j]);
                }
                if (max == Double.NEGATIVE_INFINITY) { // every key masked: out 0 and lse -inf, as the backends do
                    lse[bh * t + i] = max;
                    continue;
                }
                double z = 0;
                for (int j = 0; j <= i; j++) z += Math.exp(s[j] - max);
                lse[bh * t + i] = max + Math.log(z);
                for (int j = 0; j <= i; j++) {
                    double p = Math.exp(s[j] - max) / z;
                    for (int x = 0; x < d; x++) out[base + i * d + x] += p * v[base + j * d + x];
                }
            }
        }
        return out;
    }

    @Test
    void bf16AttentionMatchesF64AttentionOfTheRoundedInputsWithAnF32Lse() {
        Random r = new Random(3);
        int b = 2, h = 2, t = 7, d = 8;
        Tensor q = bf16Random(r, b, h, t, d), k = bf16Random(r, b, h, t, d), v = bf16Random(r, b, h, t, d);
        double[] maskValues = new double[b * t];
        maskValues[t] = Double.NEGATIVE_INFINITY; // row 1's first key is padding
        Tensor mask = Tensor.of(maskValues, b, t).to(DType.F32);
        double scale = 1 / Math.sqrt(d);
        Tensor[] r16 = NnOps.attention(q, k, v, mask, scale);
        assertEquals(DType.BF16, r16[0].dtype());
        assertEquals(DType.F32, r16[1].dtype());
        double[] lse = new double[b * h * t];
        double[] out = referenceAttention(q.to(DType.F64).toDoubleArray(), k.to(DType.F64).toDoubleArray(),
                v.to(DType.F64).toDoubleArray(), maskValues, b, h, t, d, scale, lse);
        double[] got = r16[0].to(DType.F64).toDoubleArray();
        for (int i = 0; i < out.length; i++) {
            // one BF16 rounding of the output: relative 2^-8
            assertEquals(out[i], got[i], Math.abs(out[i]) * 0x1p-8 + 1e-6, "out element " + i);
        }
        assertArrayEquals(lse, r16[1].to(DType.F64).toDoubleArray(), 1e-5);

        // backward: BF16 gradients equal the F32 backward of the widened inputs, rounded once
        Tensor dout = bf16Random(r, b, h, t, d);
        Tensor[] g16 = NnOps.attentionBackward(dout, q, k, v, r16[0], r16[1], mask, scale);
        Tensor[] g32 = NnOps.attentionBackward(dout.to(DType.F32), q.to(DType.F32), k.to(DType.F32), v.to(DType.F32),
                r16[0].to(DType.F32), r16[1], mask, scale);
        for (int i = 0; i < 3; i++) {
            assertEquals(DType.BF16, g16[i].dtype());
            assertArrayEquals(g32[i].to(DType.BF16).toFloatArray(), g16[i].toFloatArray(), "gradient " + i);
        }
    }
}
