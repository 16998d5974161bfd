package org.rlhf4j.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;

class CpuAttentionTest {
    private static final double NEG_INF = Double.NEGATIVE_INFINITY;

    // ------------------------------------------------------------------------------------------------
    // A naive reference: full [T, T] scores, causal and padding masks, softmax, matmul; the backward by the
    // textbook softmax formula dS = P * (dP - rowsum(P * dP)). Plain double loops over row-major arrays.

    /** Inputs of one case, as row-major doubles; q, k, v [B, H, T, D], mask [B, T] or null. */
    private record Case(int b, int h, int t, int d, double[] q, double[] k, double[] v, double[] mask, double scale) {
        int n() {
            return b * h * t * d;
        }
    }

    private record Forward(double[] out, double[] lse) {}

    private record Grads(double[] dq, double[] dk, double[] dv) {}

    /** Full score matrix of head (bb, hh), with -inf where causal or padding masking applies. */
    private static double[][] scores(Case c, int bb, int hh) {
        double[][] s = new double[c.t][c.t];
        int head = (bb * c.h + hh) * c.t * c.d;
        for (int i = 0; i < c.t; i++) {
            for (int j = 0; j < c.t; j++) {
                double m = c.mask == null ? 0 : c.mask[bb * c.t + j];
                if (j > i || m <= CpuAttention.MASKED) {
                    s[i][j] = NEG_INF;
                    continue;
                }
                double dot = 0;
                for (int x = 0; x < c.d; x++) dot += c.q[head + i * c.d + x] * c.k[head + j * c.d + x];
                s[i][j] = c.scale * dot + m;
            }
        }
        return s;
    }

    /** Softmax of each row; an all -inf row gives zeros. Also returns each row's logsumexp in lse. */
    private static double[][] softmax(double[][] s, double[] lse, int lseOff) {
        int t = s.length;
        double[][] p = new double[t][t];
        for (int i = 0; i < t; i++) {
            double max = NEG_INF;
            for (double x : s[i]) max = Math.max(max, x);
            if (max == NEG_INF) {
                lse[lseOff + i] = NEG_INF;
                continue;
            }
            double sum = 0;
            for (int j = 0; j < t; j++) sum += Math.exp(s[i][j] - max);
            for (int j = 0; j < t; j++) p[i][j] = Math.exp(s[i][j] - max) / sum;
            lse[lseOff + i] = max + Math.log(sum);
        }
        return p;
    }

    private static Forward referenceForward(Case c) {
        double[] out = new double[c.n()];
        double[] lse = new double[c.b * c.h * c.t];
        for (int bb = 0; bb < c.b; bb++) {
            for (int hh = 0; hh < c.h; hh++) {
                int bh = bb * c.h + hh, head = bh * c.t * c.d;
                double[][] p = softmax(scores(c, bb, hh), lse, bh * c.t);
                for (int i = 0; i < c.t; i++) {
                    for (int x = 0; x < c.d; x++) {
                        double sum = 0;
                        for (int j = 0; j < c.t; j++) sum += p[i][j] * c.v[head + j * c.d + x];
                        out[head + i * c.d + x] = sum;
                    }
                }
            }
        }
        return new Forward(out, lse);
    }

    private static Grads referenceBackward(Case c, double[] dout) {
        double[] dq = new double[c.n()], dk = new double[c.n()], dv = new double[c.n()];
        double[] lse = new double[c.t];
        int t = c.t, d = c.d;
        for (int bb = 0; bb < c.b; bb++) {
            for (int hh = 0; hh < c.h; hh++) {
                int head = (bb * c.h + hh) * t * d;
                double[][] p = softmax(scores(c, bb, hh), lse, 0);
                // dP = dO V^T; dS = P * (dP - rowsum(P * dP))
                double[][] ds = new double[t][t];
                for (int i = 0; i < t; i++) {
                    double[] dp = new double[t];
                    double rowSum = 0;
                    for (int j = 0; j < t; j++) {
                        for (int x = 0; x < d; x++) dp[j] += dout[head + i * d + x] * c.v[head + j * d + x];
                        rowSum += p[i][j] * dp[j];
                    }
                    for (int j = 0; j < t; j++) ds[i][j] = p[i][j] * (dp[j] - rowSum);
                }
                // dQ = scale dS K; dK = scale dS^T Q; dV = P^T dO
                for (int i = 0; i < t; i++) {
                    for (int j = 0; j < t; j++) {
                        for (int x = 0; x < d; x++) {
                            dq[head + i * d + x] += c.scale * ds[i][j] * c.k[head + j * d + x];
                            dk[head + j * d + x] += c.scale * ds[i][j] * c.q[head + i * d + x];
                            dv[head + j * d + x] += p[i][j] * dout[head + i * d + x];
                        }
                    }
                }
            }
        }
        return new Grads(dq, dk, dv);
    }

    // ------------------------------------------------------------------------------------------------
    // Running the kernel

    private static double[] randoms(Random rnd, int n, double std) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = std * rnd.nextGaussian();
        return x;
    }

    /** Left padding: the first pad[b] keys of batch row b are masked with {@code fill}. */
    private static double[] leftPadMask(int t, int[] pad, double fill) {
        double[] m = new double[pad.length * t];
        for (int b = 0; b < pad.length; b++) {
            for (int j = 0; j < pad[b] && j < t; j++) m[b * t + j] = fill;
        }
        return m;
    }

    private static Case randomCase(long seed, int b, int h, int t, int d, double[] mask, double scale) {
        Random rnd = new Random(seed);
        int n = b * h * t * d;
        return new Case(b, h, t, d, randoms(rnd, n, 1), randoms(rnd, n, 1), randoms(rnd, n, 1), mask, scale);
    }

    /** The same case with its inputs rounded to float, so the F32 kernel and the reference see equal inputs. */
    private static Case roundedToFloat(Case c) {
        return new Case(c.b, c.h, c.t, c.d, toFloatPrecision(c.q), toFloatPrecision(c.k), toFloatPrecision(c.v),
                c.mask, (float) c.scale);
    }

    private static double[] toFloatPrecision(double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = (float) x[i];
        return y;
    }

    private static Tensor tensor(double[] data, DType dtype, int... shape) {
        return Tensor.of(data.clone(), shape).to(dtype);
    }

    /** A [B, H, T, D] tensor laid out as [B, T, H, D] in memory, as after splitting heads: non-contiguous. */
    private static Tensor headsView(double[] bhtd, DType dtype, int b, int h, int t, int d) {
        double[] bthd = new double[bhtd.length];
        for (int bb = 0; bb < b; bb++)
            for (int hh = 0; hh < h; hh++)
                for (int i = 0; i < t; i++)
                    for (int x = 0; x < d; x++)
                        bthd[((bb * t + i) * h + hh) * d + x] = bhtd[((bb * h + hh) * t + i) * d + x];
        Tensor view = tensor(bthd, dtype, b, t, h, d).permute(0, 2, 1, 3);
        if (h > 1 && t > 1) assertFalse(view.isContiguous(), "the test meant a non-contiguous view");
        return view;
    }

    private static final class Run {
        final Tensor q, k, v, mask, out, lse;
        final Case c;

        Run(Case c, DType dtype, boolean permuted) {
            this.c = c;
            int[] shape = {c.b, c.h, c.t, c.d};
            q = permuted ? headsView(c.q, dtype, c.b, c.h, c.t, c.d) : tensor(c.q, dtype, shape);
            k = permuted ? headsView(c.k, dtype, c.b, c.h, c.t, c.d) : tensor(c.k, dtype, shape);
            v = permuted ? headsView(c.v, dtype, c.b, c.h, c.t, c.d) : tensor(c.v, dtype, shape);
            mask = c.mask == null ? null : tensor(c.mask, dtype, c.b, c.t);
            // Outputs written through a permuted view too, when asked.
            out = permuted ? Tensor.zeros(dtype, c.b, c.t, c.h, c.d).permute(0, 2, 1, 3) : Tensor.zeros(dtype, shape);
            lse = Tensor.zeros(dtype, c.b, c.h, c.t);
            CpuAttention.attention(out, lse, q, k, v, mask, c.scale);
        }

        Tensor[] backward(double[] dout) {
            DType dtype = q.dtype();
            int[] shape = {c.b, c.h, c.t, c.d};
            Tensor dq = Tensor.full(7, dtype, org.rlhf4j.tensor.Device.CPU, shape); // overwritten, not added to
            Tensor dk = Tensor.full(7, dtype, org.rlhf4j.tensor.Device.CPU, shape);
            Tensor dv = Tensor.full(7, dtype, org.rlhf4j.tensor.Device.CPU, shape);
            CpuAttention.attentionBackward(dq, dk, dv, tensor(dout, dtype, shape), q, k, v, out, lse, mask, c.scale);
            return new Tensor[] {dq, dk, dv};
        }
    }

    private static void assertClose(String what, double[] expected, double[] actual, double atol, double rtol) {
        assertEquals(expected.length, actual.length, what + ": length");
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (Double.isNaN(a)) fail(what + "[" + i + "] is NaN, expected " + e);
            if (e == NEG_INF || a == NEG_INF) {
                assertEquals(e, a, what + "[" + i + "]");
                continue;
            }
            double err = Math.abs(e - a);
            if (err > atol + rtol * Math.abs(e)) {
                fail(what + "[" + i + "]: expected " + e + ", found " + a + " (|diff| " + err + ")");
            }
            worst = Math.max(worst, err);
        }
    }

    private static void checkAgainstReference(Case c, DType dtype, boolean permuted, double atol, double rtol) {
        Case ref = dtype == DType.F32 ? roundedToFloat(c) : c;
        Forward expected = referenceForward(ref);
        Run run = new Run(c, dtype, permuted);
        String name = dtype + " " + c.b + "x" + c.h + "x" + c.t + "x" + c.d + (permuted ? " permuted" : "");
        assertClose(name + " out", expected.out, run.out.toDoubleArray(), atol, rtol);
        assertClose(name + " lse", expected.lse, run.lse.toDoubleArray(), atol, rtol);

        double[] dout = randoms(new Random(c.t * 31L + c.d), c.n(), 1);
        if (dtype == DType.F32) dout = toFloatPrecision(dout);
        Grads g = referenceBackward(ref, dout);
        Tensor[] grads = run.backward(dout);
        assertClose(name + " dq", g.dq, grads[0].toDoubleArray(), atol, rtol);
        assertClose(name + " dk", g.dk, grads[1].toDoubleArray(), atol, rtol);
        assertClose(name + " dv", g.dv, grads[2].toDoubleArray(), atol, rtol);
    }

    private static final double F64_TOL = 1e-10;
    private static final double F32_ATOL = 2e-5;
    private static final double F32_RTOL = 2e-4;

    // ------------------------------------------------------------------------------------------------
    // Against the reference

    @Test
    void f64MatchesNaiveReferenceOnAssortedShapes() {
        checkAgainstReference(randomCase(1, 1, 1, 1, 1, null, 1.0), DType.F64, false, F64_TOL, F64_TOL);
        checkAgainstReference(randomCase(2, 2, 3, 37, 5, null, 0.37), DType.F64, false, F64_TOL, F64_TOL);
        checkAgainstReference(randomCase(3, 1, 2, 130, 64, null, 0.125), DType.F64, false, F64_TOL, F64_TOL);
        checkAgainstReference(randomCase(4, 2, 1, 70, 1, null, 1.3), DType.F64, false, F64_TOL, F64_TOL);
    }

    @Test
    void f32MatchesReferenceAcrossBlockEdgesAndOddHeadDims() {
        // T around and past the 64-row blocks, D = 1, 64 and one that is not a multiple of any vector length.
        checkAgainstReference(randomCase(5, 1, 1, 1, 1, null, 1.0), DType.F32, false, F32_ATOL, F32_RTOL);
        checkAgainstReference(randomCase(6, 1, 3, 67, 1, null, 0.7), DType.F32, false, F32_ATOL, F32_RTOL);
        checkAgainstReference(randomCase(7, 2, 2, 150, 64, null, 0.125), DType.F32, false, F32_ATOL, F32_RTOL);
        checkAgainstReference(randomCase(8, 2, 2, 129, 17, null, 0.3), DType.F32, false, F32_ATOL, F32_RTOL);
        checkAgainstReference(randomCase(9, 1, 1, 64, 64, null, 0.2), DType.F32, false, F32_ATOL, F32_RTOL);
        checkAgainstReference(randomCase(10, 1, 2, 63, 64, null, 0.2), DType.F32, false, F32_ATOL, F32_RTOL);
    }

    @Test
    void nonContiguousInputsAndOutputsFromSplitHeadsGiveTheSameResults() {
        double[] mask = leftPadMask(45, new int[] {0, 6}, NEG_INF);
        checkAgainstReference(randomCase(11, 2, 3, 45, 8, mask, 0.4), DType.F64, true, F64_TOL, F64_TOL);
        double[] mask32 = leftPadMask(100, new int[] {3, 0}, NEG_INF);
        checkAgainstReference(randomCase(12, 2, 4, 100, 64, mask32, 0.125), DType.F32, true, F32_ATOL, F32_RTOL);
    }

    @Test
    void paddingMaskMatchesReferenceIncludingWholeMaskedKeyBlocks() {
        // Batch row 1 has 70 padding keys: its whole first key block is masked, and its first 70 query rows
        // see nothing at all.
        double[] mask = leftPadMask(150, new int[] {0, 70, 2}, NEG_INF);
        mask[5] = -0.75; // an ordinary additive bias on a real token
        checkAgainstReference(randomCase(13, 3, 2, 150, 16, mask, 0.25), DType.F64, false, F64_TOL, F64_TOL);
        checkAgainstReference(randomCase(13, 3, 2, 150, 64, mask, 0.25), DType.F32, false, F32_ATOL, F32_RTOL);
    }

    // ------------------------------------------------------------------------------------------------
    // Fully masked rows

    @Test
    void fullyMaskedQueryRowsGiveZeroOutputMinusInfLseAndZeroGradientsWithoutNaN() {
        for (DType dtype : new DType[] {DType.F64, DType.F32}) {
            for (double fill : new double[] {NEG_INF, -1e9, -Float.MAX_VALUE}) {
                int t = 80, d = 8, pad = 66;
                double[] mask = leftPadMask(t, new int[] {pad, 1}, fill);
                Case c = randomCase(14, 2, 2, t, d, mask, 0.5);
                Run run = new Run(c, dtype, false);
                double[] out = run.out.toDoubleArray(), lse = run.lse.toDoubleArray();
                Tensor[] g = run.backward(randoms(new Random(15), c.n(), 1));
                double[] dq = g[0].toDoubleArray(), dk = g[1].toDoubleArray(), dv = g[2].toDoubleArray();
                for (double[] x : new double[][] {out, dq, dk, dv}) {
                    for (double e : x) assertFalse(Double.isNaN(e) || Double.isInfinite(e), dtype + " fill " + fill);
                }
                for (int hh = 0; hh < 2; hh++) {
                    for (int[] padOf : new int[][] {{0, pad}, {1, 1}}) {
                        int bh = padOf[0] * 2 + hh;
                        for (int i = 0; i < padOf[1]; i++) {
                            assertEquals(NEG_INF, lse[bh * t + i], dtype + " lse of a fully masked row");
                            for (int x = 0; x < d; x++) {
                                int at = (bh * t + i) * d + x;
                                // Query row i sees only masked keys; key i is masked for every query.
                                assertEquals(0.0, out[at], "out of a fully masked row");
                                assertEquals(0.0, dq[at], "dq of a fully masked row");
                                assertEquals(0.0, dk[at], "dk of a masked key");
                                assertEquals(0.0, dv[at], "dv of a masked key");
                            }
                        }
                        assertTrue(lse[bh * t + padOf[1]] > NEG_INF, "the first real row sees itself");
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Finite differences

    @Test
    void f64BackwardMatchesCentralFiniteDifferences() {
        double[] mask = leftPadMask(6, new int[] {0, 2}, NEG_INF);
        mask[6 + 4] = 0.3; // a finite bias as well
        Case base = randomCase(16, 2, 2, 6, 3, mask, 0.8);
        double[] r = randoms(new Random(17), base.n(), 1);
        Run run = new Run(base, DType.F64, false);
        Tensor[] g = run.backward(r);
        double[][] inputs = {base.q, base.k, base.v};
        String[] names = {"dq", "dk", "dv"};
        double eps = 1e-6;
        for (int which = 0; which < 3; which++) {
            double[] analytic = g[which].toDoubleArray();
            for (int e = 0; e < base.n(); e++) {
                double[][] plus = {base.q.clone(), base.k.clone(), base.v.clone()};
                double[][] minus = {base.q.clone(), base.k.clone(), base.v.clone()};
                plus[which][e] = inputs[which][e] + eps;
                minus[which][e] = inputs[which][e] - eps;
                double lp = loss(base, plus, r), lm = loss(base, minus, r);
                double numeric = (lp - lm) / (2 * eps);
                double err = Math.abs(numeric - analytic[e]);
                assertTrue(err <= 1e-5 + 1e-3 * Math.abs(numeric),
                        names[which] + "[" + e + "]: analytic " + analytic[e] + ", numeric " + numeric);
            }
        }
    }

    /** sum(out * R) with the kernel's forward at the given q, k, v. */
    private static double loss(Case c, double[][] qkv, double[] r) {
        Case moved = new Case(c.b, c.h, c.t, c.d, qkv[0], qkv[1], qkv[2], c.mask, c.scale);
        double[] out = new Run(moved, DType.F64, false).out.toDoubleArray();
        double sum = 0;
        for (int i = 0; i < out.length; i++) sum += out[i] * r[i];
        return sum;
    }

    // ------------------------------------------------------------------------------------------------
    // Determinism

    @Test
    void resultsAreBitwiseIdenticalForOneTwoAndThreeThreads() {
        int saved = Parallel.threads();
        try {
            // B * H = 4 heads: one and two threads run the F32 backward one head per task, three threads split
            // it into key-block and query-block tasks; both schemes must agree bit for bit.
            double[] mask = leftPadMask(160, new int[] {0, 9}, NEG_INF);
            Case c = randomCase(18, 2, 2, 160, 32, mask, 0.125);
            double[] dout = randoms(new Random(19), c.n(), 1);
            for (DType dtype : new DType[] {DType.F32, DType.F64}) {
                double[][] first = null;
                for (int threads : new int[] {1, 2, 3}) {
                    Parallel.setThreads(threads);
                    Run run = new Run(c, dtype, false);
                    Tensor[] g = run.backward(dout);
                    double[][] results = {run.out.toDoubleArray(), run.lse.toDoubleArray(),
                        g[0].toDoubleArray(), g[1].toDoubleArray(), g[2].toDoubleArray()};
                    if (first == null) {
                        first = results;
                    } else {
                        for (int i = 0; i < results.length; i++) {
                            assertArrayEquals(first[i], results[i],
                                    dtype + " result " + i + " with " + threads + " threads");
                        }
                    }
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Errors

    @Test
    void mismatchedShapesAndDtypesFailWithAMessageNamingTheTensor() {
        Tensor q = Tensor.zeros(DType.F32, 1, 2, 5, 4);
        Tensor k = Tensor.zeros(DType.F32, 1, 2, 6, 4);
        Tensor out = Tensor.zeros(DType.F32, 1, 2, 5, 4);
        Tensor lse = Tensor.zeros(DType.F32, 1, 2, 5);
        var e = assertThrows(IllegalArgumentException.class, () -> CpuAttention.attention(out, lse, q, k, q, null, 1));
        assertTrue(e.getMessage().contains("k of shape [1, 2, 5, 4], found [1, 2, 6, 4]"), e.getMessage());
        Tensor mask = Tensor.zeros(DType.F64, 1, 5);
        e = assertThrows(IllegalArgumentException.class, () -> CpuAttention.attention(out, lse, q, q, q, mask, 1));
        assertTrue(e.getMessage().contains("mask of dtype F32"), e.getMessage());
    }
}
