package org.rlhf4j.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.slf4j.LoggerFactory;

/**
 * Vector API twin of {@link AttentionKernels}. Loaded reflectively, only when {@link Simd#ENABLED}. The matrix
 * product keeps a 4-row by 2-vector tile of C in registers and streams B along its rows, broadcasting one
 * element of A per row and step (with 512-bit vectors a wider tile measured no faster: this one already runs
 * near the FMA peak). {@link CpuAttention} calls it with n = BK, a multiple of two vectors, or n = D; the
 * single-vector and scalar tails cover head dimensions that are not multiples of the vector length.
 *
 * <p>Only operations whose results the Vector API pins down exactly (lanewise IEEE arithmetic, fma, max,
 * compares, bit reinterpretation) are used, so that interpreted, C1 and C2 code give bitwise equal results and
 * the kernels stay deterministic: {@code VectorOperators.EXP} (an approximation that differs between the
 * intrinsic and its Java fallback) is replaced by {@link #exp}, and {@code reduceLanes(ADD)} (whose order is
 * unspecified) by a fixed tree.
 */
final class VectorAttentionKernels implements AttentionKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    /** The bits of the float 1.5 * 2^23. */
    private static final int ROUND_BITS = 0x4B400000;

    static {
        double millis = warmUp();
        LoggerFactory.getLogger(VectorAttentionKernels.class).debug("attention e^x warmed up in {} ms",
                Math.round(millis));
    }

    /** Runs a softmax row's e^x and sum, on this thread alone, until C2 has compiled them ({@link WarmUp}). */
    static double warmUp() {
        VectorAttentionKernels kernels = new VectorAttentionKernels();
        float[] row = new float[256], lanes = new float[L];
        return WarmUp.untilFlat(() -> {
            for (int r = 0; r < 50; r++) {
                for (int i = 0; i < row.length; i++) row[i] = (i % 64) * -0.5f;
                kernels.expSubSum(row, 0, row.length, 1f, lanes);
            }
        }, 200, 1_500_000_000L);
    }

    /** The plain twin, for its e^x constants. */
    private interface K {
        float EXP_LO = ScalarAttentionKernels.EXP_LO, EXP_HI = ScalarAttentionKernels.EXP_HI;
        float LOG2E = ScalarAttentionKernels.LOG2E, ROUND = ScalarAttentionKernels.ROUND;
        float LN2_HI = ScalarAttentionKernels.LN2_HI, LN2_LO = ScalarAttentionKernels.LN2_LO;
        float P0 = ScalarAttentionKernels.P0, P1 = ScalarAttentionKernels.P1, P2 = ScalarAttentionKernels.P2;
        float P3 = ScalarAttentionKernels.P3, P4 = ScalarAttentionKernels.P4, P5 = ScalarAttentionKernels.P5;
    }

    @Override
    public void gemm(int m, int n, int k, float[] a, int aOff, int ars, int aks, float[] b, int bOff, int ldb,
                     float[] c, int cOff, int ldc, boolean accumulate) {
        int n2 = n - n % (2 * L);
        int n1 = n - n % L;
        int r = 0;
        for (; r + 4 <= m; r += 4) {
            int a0 = aOff + r * ars, a1 = a0 + ars, a2 = a1 + ars, a3 = a2 + ars;
            int c0 = cOff + r * ldc, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
            int j = 0;
            for (; j < n2; j += 2 * L) {
                tile4x2(k, a, a0, a1, a2, a3, aks, b, bOff + j, ldb, c, c0 + j, c1 + j, c2 + j, c3 + j, accumulate);
            }
            for (; j < n1; j += L) {
                for (int rr = 0; rr < 4; rr++) {
                    row1(k, a, aOff + (r + rr) * ars, aks, b, bOff + j, ldb, c, cOff + (r + rr) * ldc + j, accumulate);
                }
            }
            if (j < n) {
                for (int rr = 0; rr < 4; rr++) {
                    int ar = aOff + (r + rr) * ars, cr = cOff + (r + rr) * ldc;
                    scalarTail(k, a, ar, aks, b, bOff, ldb, c, cr, j, n, accumulate);
                }
            }
        }
        for (; r < m; r++) {
            int ar = aOff + r * ars, cr = cOff + r * ldc;
            int j = 0;
            for (; j < n1; j += L) row1(k, a, ar, aks, b, bOff + j, ldb, c, cr + j, accumulate);
            if (j < n) scalarTail(k, a, ar, aks, b, bOff, ldb, c, cr, j, n, accumulate);
        }
    }

    private static void tile4x2(int k, float[] a, int a0, int a1, int a2, int a3, int aks, float[] b, int bo, int ldb,
                                float[] c, int c0, int c1, int c2, int c3, boolean accumulate) {
        FloatVector x00, x01, x10, x11, x20, x21, x30, x31;
        if (accumulate) {
            x00 = FloatVector.fromArray(S, c, c0);
            x01 = FloatVector.fromArray(S, c, c0 + L);
            x10 = FloatVector.fromArray(S, c, c1);
            x11 = FloatVector.fromArray(S, c, c1 + L);
            x20 = FloatVector.fromArray(S, c, c2);
            x21 = FloatVector.fromArray(S, c, c2 + L);
            x30 = FloatVector.fromArray(S, c, c3);
            x31 = FloatVector.fromArray(S, c, c3 + L);
        } else {
            x00 = x01 = x10 = x11 = x20 = x21 = x30 = x31 = FloatVector.zero(S);
        }
        for (int p = 0, ap = 0, bp = bo; p < k; p++, ap += aks, bp += ldb) {
            FloatVector b0 = FloatVector.fromArray(S, b, bp);
            FloatVector b1 = FloatVector.fromArray(S, b, bp + L);
            FloatVector v = FloatVector.broadcast(S, a[a0 + ap]);
            x00 = v.fma(b0, x00);
            x01 = v.fma(b1, x01);
            v = FloatVector.broadcast(S, a[a1 + ap]);
            x10 = v.fma(b0, x10);
            x11 = v.fma(b1, x11);
            v = FloatVector.broadcast(S, a[a2 + ap]);
            x20 = v.fma(b0, x20);
            x21 = v.fma(b1, x21);
            v = FloatVector.broadcast(S, a[a3 + ap]);
            x30 = v.fma(b0, x30);
            x31 = v.fma(b1, x31);
        }
        x00.intoArray(c, c0);
        x01.intoArray(c, c0 + L);
        x10.intoArray(c, c1);
        x11.intoArray(c, c1 + L);
        x20.intoArray(c, c2);
        x21.intoArray(c, c2 + L);
        x30.intoArray(c, c3);
        x31.intoArray(c, c3 + L);
    }

    private static void row1(int k, float[] a, int ar, int aks, float[] b, int bo, int ldb, float[] c, int co,
                             boolean accumulate) {
        FloatVector x = accumulate ? FloatVector.fromArray(S, c, co) : FloatVector.zero(S);
        for (int p = 0, ap = ar, bp = bo; p < k; p++, ap += aks, bp += ldb) {
            x = FloatVector.broadcast(S, a[ap]).fma(FloatVector.fromArray(S, b, bp), x);
        }
        x.intoArray(c, co);
    }

    private static void scalarTail(int k, float[] a, int ar, int aks, float[] b, int bOff, int ldb, float[] c, int cr,
                                   int from, int to, boolean accumulate) {
        for (int j = from; j < to; j++) {
            float x = accumulate ? c[cr + j] : 0f;
            for (int p = 0; p < k; p++) x = Math.fma(a[ar + p * aks], b[bOff + p * ldb + j], x);
            c[cr + j] = x;
        }
    }

    @Override
    public int lanes() {
        return L;
    }

    @Override
    public float max(float[] x, int off, int n) {
        int i = 0;
        float m = Float.NEGATIVE_INFINITY;
        if (n >= L) {
            FloatVector acc = FloatVector.fromArray(S, x, off);
            for (i = L; i + L <= n; i += L) acc = acc.max(FloatVector.fromArray(S, x, off + i));
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, x[off + i]);
        return m;
    }

    @Override
    public void expSub(float[] x, int off, int n, float sub) {
        int i = 0;
        for (; i + L <= n; i += L) exp(FloatVector.fromArray(S, x, off + i).sub(sub)).intoArray(x, off + i);
        for (; i < n; i++) x[off + i] = ScalarAttentionKernels.expf(x[off + i] - sub);
    }

    @Override
    public float expSubSum(float[] x, int off, int n, float sub, float[] lanes) {
        int i = 0;
        float sum = 0f;
        if (n >= L) {
            FloatVector acc = FloatVector.zero(S);
            for (; i + L <= n; i += L) {
                FloatVector e = exp(FloatVector.fromArray(S, x, off + i).sub(sub));
                e.intoArray(x, off + i);
                acc = acc.add(e);
            }
            // Across lanes by a fixed pairwise tree (reduceLanes(ADD) leaves its order to the implementation).
            acc.intoArray(lanes, 0);
            for (int w = L; w > 1; ) {
                int half = (w + 1) / 2;
                for (int j = 0; j + half < w; j++) lanes[j] += lanes[j + half];
                w = half;
            }
            sum = lanes[0];
        }
        for (; i < n; i++) {
            float e = ScalarAttentionKernels.expf(x[off + i] - sub);
            x[off + i] = e;
            sum += e;
        }
        return sum;
    }

    /**
     * e^x in float, to about 2 ulp (Cephes' expf): x = n ln2 + r with |r| <= ln2 / 2, e^r by a degree-7
     * polynomial, times 2^n built in the exponent bits. Below -87.3 (where e^x leaves the normal floats) and at
     * -inf the result is exactly 0.
     */
    static FloatVector exp(FloatVector x) {
        VectorMask<Float> underflow = x.compare(VectorOperators.LT, K.EXP_LO);
        // clamped by blends, the same bits as max and min here (NaN stays NaN) for fewer instructions (VectorMath)
        x = x.blend(K.EXP_LO, underflow).blend(K.EXP_HI, x.compare(VectorOperators.GT, K.EXP_HI));
        // n = round(x / ln2): adding 1.5 * 2^23 rounds to an integer and leaves n in the low mantissa bits of t
        FloatVector t = x.mul(K.LOG2E).add(K.ROUND);
        FloatVector n = t.sub(K.ROUND);
        // r = x - n ln2, in two steps
        FloatVector r = n.fma(FloatVector.broadcast(S, -K.LN2_HI), x);
        r = n.fma(FloatVector.broadcast(S, -K.LN2_LO), r);
        FloatVector p = FloatVector.broadcast(S, K.P0);
        p = p.fma(r, FloatVector.broadcast(S, K.P1));
        p = p.fma(r, FloatVector.broadcast(S, K.P2));
        p = p.fma(r, FloatVector.broadcast(S, K.P3));
        p = p.fma(r, FloatVector.broadcast(S, K.P4));
        p = p.fma(r, FloatVector.broadcast(S, K.P5));
        p = p.mul(r.mul(r)).add(r).add(1f);
        // 2^n: the exponent field n + 127
        IntVector bits = t.reinterpretAsInts().add(127 - ROUND_BITS).lanewise(VectorOperators.LSHL, 23);
        return p.mul(bits.reinterpretAsFloats()).blend(0f, underflow);
    }

    @Override
    public void add(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(S, y, yo + i).add(FloatVector.fromArray(S, x, xo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] += x[xo + i];
    }

    @Override
    public void scale(float[] x, int off, int n, float s) {
        int i = 0;
        for (; i + L <= n; i += L) FloatVector.fromArray(S, x, off + i).mul(s).intoArray(x, off + i);
        for (; i < n; i++) x[off + i] *= s;
    }

    @Override
    public void softmaxGrad(float[] p, int pOff, float[] dp, int dpOff, int n, float d) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector pv = FloatVector.fromArray(S, p, pOff + i);
            pv.mul(FloatVector.fromArray(S, dp, dpOff + i).sub(d)).intoArray(dp, dpOff + i);
        }
        for (; i < n; i++) dp[dpOff + i] = p[pOff + i] * (dp[dpOff + i] - d);
    }
}
