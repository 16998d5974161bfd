package org.rlhf4j.kernels.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.tensor.cpu.CpuAttention;

/**
 * The F32 kernels' blocked algorithm, as transcribed in {@link F32KernelModel}, against the CPU op in F64 on
 * random inputs: tile bounds for T that is not a multiple of the tiles (1, 17, 1000), the causal skip, left
 * padding with fully masked query rows, and the KV-cache (decoding) addressing. This runs without a GPU; the
 * PTX itself is checked against the CPU op by {@code CudaAttentionGpuTest} on a GPU.
 */
class F32KernelModelTest {
    private static final double TOL = 1e-5;

    /** Inputs in F64 (the reference) and their F32 roundings (what the kernels read). */
    private record Case(int b, int h, int t, int d, double[] q, double[] k, double[] v, double[] mask, double scale) {
        static Case random(long seed, int b, int h, int t, int d, boolean padded) {
            SplittableRandom rnd = new SplittableRandom(seed);
            int n = b * h * t * d;
            double[] q = f32(gauss(rnd, n)), k = f32(gauss(rnd, n)), v = f32(gauss(rnd, n));
            double[] mask = null;
            if (padded) {
                mask = new double[b * t];
                for (int bi = 0; bi < b; bi++) {
                    // left padding of a different length per row, masked three ways; some real keys get a finite
                    // additive bias, which must act as an addition
                    int pad = bi == 0 ? 0 : Math.min(t - 1, rnd.nextInt(1, Math.max(2, t / 2 + 1)));
                    for (int j = 0; j < t; j++) {
                        double m;
                        if (j < pad) m = switch (j % 3) {
                            case 0 -> Double.NEGATIVE_INFINITY;
                            case 1 -> -1e9;
                            default -> -3e30;
                        };
                        else m = (j % 5 == 2) ? -0.75 : 0.0;
                        mask[bi * t + j] = m;
                    }
                }
            }
            return new Case(b, h, t, d, q, k, v, mask, 1.0 / Math.sqrt(d));
        }

        F32KernelModel.Args args() {
            return new F32KernelModel.Args(b, h, t, t, d, floats(q), floats(k), floats(v),
                    mask == null ? null : floats(mask), h * t * d, t * d, d, t, (float) scale);
        }

        Tensor tensor(double[] x) {
            return Tensor.wrap(x.clone(), b, h, t, d);
        }

        Tensor maskTensor() {
            return mask == null ? null : Tensor.wrap(mask.clone(), b, t);
        }
    }

    private static double[] gauss(SplittableRandom rnd, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            // Box-Muller: normal scores, with a scale large enough that softmax rows are far from uniform
            double u = 1.0 - rnd.nextDouble(), w = rnd.nextDouble();
            x[i] = 1.5 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * w);
        }
        return x;
    }

    private static double[] f32(double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = (float) x[i];
        return y;
    }

    private static float[] floats(double[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) y[i] = (float) x[i];
        return y;
    }

    /** ||got - want|| / ||want|| over the finite entries; infinities must agree exactly. */
    static double relError(float[] got, double[] want) {
        assertEquals(want.length, got.length);
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) {
            if (Double.isInfinite(want[i]) || Float.isInfinite(got[i])) {
                assertEquals(want[i], got[i], 0.0, "entry " + i);
                continue;
            }
            assertTrue(Float.isFinite(got[i]), "entry " + i + " is " + got[i]);
            double e = got[i] - want[i];
            num += e * e;
            den += want[i] * want[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    private static float[] poisoned(int n) {
        float[] x = new float[n];
        java.util.Arrays.fill(x, Float.NaN);
        return x;
    }

    @ParameterizedTest(name = "B={0} H={1} T={2} D={3} padded={4}")
    @CsvSource({
            "2, 2, 1, 64, false", "2, 2, 1, 64, true",
            "2, 3, 17, 64, false", "3, 2, 17, 128, true",
            "1, 2, 128, 128, false", "3, 1, 128, 64, true",
            "1, 1, 1000, 64, true", "1, 1, 1000, 128, false",
            "1, 1, 33, 96, true"})
    void forwardAndBackwardMatchTheCpuOp(int b, int h, int t, int d, boolean padded) {
        Case c = Case.random(31L * t + d + (padded ? 7 : 0), b, h, t, d, padded);
        Tensor out = Tensor.empty(org.rlhf4j.tensor.DType.F64, b, h, t, d);
        Tensor lse = Tensor.empty(org.rlhf4j.tensor.DType.F64, b, h, t);
        CpuAttention.attention(out, lse, c.tensor(c.q), c.tensor(c.k), c.tensor(c.v), c.maskTensor(), c.scale);

        F32KernelModel.Args a = c.args();
        float[] gotOut = poisoned(b * h * t * d), gotLse = poisoned(b * h * t);
        F32KernelModel.forward(a, gotOut, gotLse);
        assertTrue(relError(gotOut, out.toDoubleArray()) < TOL, "out: " + relError(gotOut, out.toDoubleArray()));
        assertTrue(relError(gotLse, lse.toDoubleArray()) < TOL, "lse: " + relError(gotLse, lse.toDoubleArray()));

        // The backward reads the forward's own (F32) outputs, as in training.
        SplittableRandom rnd = new SplittableRandom(99 + t);
        double[] dout = f32(gauss(rnd, b * h * t * d));
        double[] out32 = new double[gotOut.length], lse32 = new double[gotLse.length];
        for (int i = 0; i < out32.length; i++) out32[i] = gotOut[i];
        for (int i = 0; i < lse32.length; i++) lse32[i] = gotLse[i];
        Tensor dq = Tensor.empty(org.rlhf4j.tensor.DType.F64, b, h, t, d);
        Tensor dk = Tensor.empty(org.rlhf4j.tensor.DType.F64, b, h, t, d);
        Tensor dv = Tensor.empty(org.rlhf4j.tensor.DType.F64, b, h, t, d);
        CpuAttention.attentionBackward(dq, dk, dv, c.tensor(dout), c.tensor(c.q), c.tensor(c.k), c.tensor(c.v),
                out, lse, c.maskTensor(), c.scale);

        float[] rowdot = F32KernelModel.rowDots(floats(dout), gotOut, b * h * t, d);
        float[] gdq = poisoned(dout.length), gdk = poisoned(dout.length), gdv = poisoned(dout.length);
        F32KernelModel.backward(a, floats(dout), gotLse, rowdot, gdq, gdk, gdv);
        assertTrue(relError(gdq, dq.toDoubleArray()) < TOL, "dq: " + relError(gdq, dq.toDoubleArray()));
        assertTrue(relError(gdk, dk.toDoubleArray()) < TOL, "dk: " + relError(gdk, dk.toDoubleArray()));
        assertTrue(relError(gdv, dv.toDoubleArray()) < TOL, "dv: " + relError(gdv, dv.toDoubleArray()));
    }

    @Test
    void fullyMaskedQueryRowsGiveZeroOutputMinusInfinityLseAndZeroGradients() {
        int b = 2, h = 1, t = 40, d = 64;
        Case c = Case.random(5, b, h, t, d, true);
        int pad = 0;
        while (pad < t && c.mask[t + pad] <= CpuAttention.MASKED) pad++;
        assertTrue(pad > 0, "the second row must be padded");
        F32KernelModel.Args a = c.args();
        float[] out = poisoned(b * h * t * d), lse = poisoned(b * h * t);
        F32KernelModel.forward(a, out, lse);
        float[] dout = floats(gauss(new SplittableRandom(3), out.length));
        float[] rowdot = F32KernelModel.rowDots(dout, out, b * h * t, d);
        float[] dq = poisoned(out.length), dk = poisoned(out.length), dv = poisoned(out.length);
        F32KernelModel.backward(a, dout, lse, rowdot, dq, dk, dv);
        int row0 = t * d; // batch 1
        for (int i = 0; i < pad; i++) {
            assertEquals(Float.NEGATIVE_INFINITY, lse[t + i], "lse of padding row " + i);
            for (int x = 0; x < d; x++) {
                assertEquals(0f, out[row0 + i * d + x], "out of padding row " + i);
                assertEquals(0f, dq[row0 + i * d + x], "dq of padding row " + i);
                // padding keys are seen by no query
                assertEquals(0f, dk[row0 + i * d + x], "dk of padding key " + i);
                assertEquals(0f, dv[row0 + i * d + x], "dv of padding key " + i);
            }
        }
    }

    @ParameterizedTest(name = "decode T={0} D={1} chunk={2}")
    @CsvSource({"1, 64, 1", "17, 64, 1", "300, 128, 1", "1000, 64, 1", "300, 64, 5", "65, 128, 33"})
    void cachedQueriesMatchTheLastRowsOfFullAttention(int t, int d, int chunk) {
        int b = 3, h = 2, maxLen = t + 11;
        Case c = Case.random(17L * t + chunk, b, h, t, d, true);
        Tensor out = Tensor.empty(org.rlhf4j.tensor.DType.F64, b, h, t, d);
        Tensor lse = Tensor.empty(org.rlhf4j.tensor.DType.F64, b, h, t);
        CpuAttention.attention(out, lse, c.tensor(c.q), c.tensor(c.k), c.tensor(c.v), c.maskTensor(), c.scale);
        double[] want = out.toDoubleArray(), wantLse = lse.toDoubleArray();

        // the cache [B, H, maxLen, D] holds the t keys; garbage past them must never be read into the result
        float[] kc = new float[b * h * maxLen * d], vc = new float[kc.length], mc = new float[b * maxLen];
        java.util.Arrays.fill(kc, Float.NaN);
        java.util.Arrays.fill(vc, Float.NaN);
        java.util.Arrays.fill(mc, Float.NaN);
        float[] q = new float[b * h * chunk * d];
        for (int bh = 0; bh < b * h; bh++) {
            for (int j = 0; j < t; j++) {
                for (int x = 0; x < d; x++) {
                    kc[(bh * maxLen + j) * d + x] = (float) c.k[(bh * t + j) * d + x];
                    vc[(bh * maxLen + j) * d + x] = (float) c.v[(bh * t + j) * d + x];
                }
            }
            for (int i = 0; i < chunk; i++) {
                for (int x = 0; x < d; x++) q[(bh * chunk + i) * d + x] = (float) c.q[(bh * t + t - chunk + i) * d + x];
            }
        }
        for (int bi = 0; bi < b; bi++) {
            for (int j = 0; j < t; j++) mc[bi * maxLen + j] = (float) c.mask[bi * t + j];
        }
        F32KernelModel.Args a = new F32KernelModel.Args(b, h, chunk, t, d, q, kc, vc, mc,
                h * maxLen * d, maxLen * d, d, maxLen, (float) c.scale);
        float[] got = poisoned(q.length), gotLse = poisoned(b * h * chunk);
        F32KernelModel.forward(a, got, gotLse);

        double[] wantRows = new double[q.length], wantLseRows = new double[b * h * chunk];
        for (int bh = 0; bh < b * h; bh++) {
            for (int i = 0; i < chunk; i++) {
                wantLseRows[bh * chunk + i] = wantLse[bh * t + t - chunk + i];
                for (int x = 0; x < d; x++) wantRows[(bh * chunk + i) * d + x] = want[(bh * t + t - chunk + i) * d + x];
            }
        }
        assertTrue(relError(got, wantRows) < TOL, "out: " + relError(got, wantRows));
        assertTrue(relError(gotLse, wantLseRows) < TOL, "lse: " + relError(gotLse, wantLseRows));
        if (chunk == 1) {
            // the decoding kernel: the same against the cache, keys split over 8 warps and recombined
            float[] dec = poisoned(q.length), decLse = poisoned(b * h);
            F32KernelModel.decode(a, dec, decLse);
            assertTrue(relError(dec, wantRows) < TOL, "decode out: " + relError(dec, wantRows));
            assertTrue(relError(decLse, wantLseRows) < TOL, "decode lse: " + relError(decLse, wantLseRows));
        }
    }
}
