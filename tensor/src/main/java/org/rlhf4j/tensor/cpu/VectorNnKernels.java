package org.rlhf4j.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.rlhf4j.tensor.UnaryOp;

/**
 * Vector API F32 loops of the fused NN ops. Loaded reflectively, only when {@link Simd#ENABLED}, so that the
 * rest of the backend works on a JVM without {@code jdk.incubator.vector}. No FMA (it falls back to a slow
 * software path on CPUs without it); reductions keep per-lane F32 partial sums (two vectors of them in the cheap
 * loops, to halve the add chain), added across lanes in a fixed order ({@link VectorMath#sumLanes}).
 *
 * <p>e^x and tanh come from {@link VectorMath}, whose bits do not depend on whether the JIT has compiled the
 * loop yet ({@code VectorOperators.EXP} and {@code TANH} do) and which computes every element of a row with the
 * same vector code, tail included; the other tails use the scalar twin.
 */
final class VectorNnKernels implements NnKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final float GELU_C = (float) UnaryOp.GELU_C;
    private static final float GELU_K = 0.044715f;

    private final ScalarNnKernels tail = new ScalarNnKernels();

    private static FloatVector load(float[] a, int o) {
        return FloatVector.fromArray(S, a, o);
    }

    @Override
    public float max(float[] x, int xo, int n) {
        int i = 0;
        FloatVector m0 = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY), m1 = m0;
        for (int bound = n - n % (2 * L); i < bound; i += 2 * L) {
            m0 = m0.max(load(x, xo + i));
            m1 = m1.max(load(x, xo + i + L));
        }
        for (int bound = S.loopBound(n); i < bound; i += L) m0 = m0.max(load(x, xo + i));
        float m = m0.max(m1).reduceLanes(VectorOperators.MAX);
        return i < n ? Math.max(m, tail.max(x, xo + i, n - i)) : m;
    }

    @Override
    public float sum(float[] x, int xo, int n) {
        int i = 0;
        FloatVector s0 = FloatVector.zero(S), s1 = s0;
        for (int bound = n - n % (2 * L); i < bound; i += 2 * L) {
            s0 = s0.add(load(x, xo + i));
            s1 = s1.add(load(x, xo + i + L));
        }
        for (int bound = S.loopBound(n); i < bound; i += L) s0 = s0.add(load(x, xo + i));
        float s = VectorMath.sumLanes(s0.add(s1));
        return i < n ? s + tail.sum(x, xo + i, n - i) : s;
    }

    @Override
    public float dot(float[] a, int ao, float[] b, int bo, int n) {
        int i = 0;
        FloatVector s0 = FloatVector.zero(S), s1 = s0;
        for (int bound = n - n % (2 * L); i < bound; i += 2 * L) {
            s0 = s0.add(load(a, ao + i).mul(load(b, bo + i)));
            s1 = s1.add(load(a, ao + i + L).mul(load(b, bo + i + L)));
        }
        for (int bound = S.loopBound(n); i < bound; i += L) s0 = s0.add(load(a, ao + i).mul(load(b, bo + i)));
        float s = VectorMath.sumLanes(s0.add(s1));
        return i < n ? s + tail.dot(a, ao + i, b, bo + i, n - i) : s;
    }

    // e^x and tanh run in VectorMath's loops, a block at a time, and these kernels finish each block in their own
    // loops: a loop that inlines one of those functions has no inlining budget left for another (see VectorMath).

    @Override
    public float sumExp(float[] x, int xo, int n, float scale, float shift) {
        float[] e = new float[Math.min(n, VectorMath.BLOCK)];
        float s = 0f;
        for (int b = 0; b < n; b += VectorMath.BLOCK) {
            int len = Math.min(VectorMath.BLOCK, n - b);
            VectorMath.exp(x, xo + b, e, 0, len, scale, shift);
            s += sum(e, 0, len);
        }
        return s;
    }

    @Override
    public float expStore(float[] x, int xo, float[] y, int yo, int n, float shift) {
        float s = 0f;
        for (int b = 0; b < n; b += VectorMath.BLOCK) {
            int len = Math.min(VectorMath.BLOCK, n - b);
            VectorMath.exp(x, xo + b, y, yo + b, len, 1f, shift);
            s += sum(y, yo + b, len);
        }
        return s;
    }

    @Override
    public void scale(float[] y, int yo, int n, float s) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) load(y, yo + i).mul(s).intoArray(y, yo + i);
        if (i < n) tail.scale(y, yo + i, n - i, s);
    }

    @Override
    public void logSoftmax(float[] x, int xo, float[] y, int yo, int n, float shift, float logSum) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            load(x, xo + i).sub(shift).sub(logSum).intoArray(y, yo + i);
        }
        if (i < n) tail.logSoftmax(x, xo + i, y, yo + i, n - i, shift, logSum);
    }

    @Override
    public void softmaxBackward(float[] dx, int dxo, float[] dy, int dyo, float[] y, int yo, int n, float s) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            load(y, yo + i).mul(load(dy, dyo + i).sub(s)).intoArray(dx, dxo + i);
        }
        if (i < n) tail.softmaxBackward(dx, dxo + i, dy, dyo + i, y, yo + i, n - i, s);
    }

    @Override
    public void logSoftmaxBackward(float[] dx, int dxo, float[] dy, int dyo, float[] y, int yo, int n, float s) {
        float[] p = new float[Math.min(n, VectorMath.BLOCK)];
        for (int b = 0; b < n; b += VectorMath.BLOCK) {
            int len = Math.min(VectorMath.BLOCK, n - b);
            VectorMath.exp(y, yo + b, p, 0, len, 1f, 0f);
            subScaled(dx, dxo + b, dy, dyo + b, p, len, s);
        }
    }

    /** dx = dy - p s; the scalar tail does the same float arithmetic as the lanes. */
    private static void subScaled(float[] dx, int dxo, float[] dy, int dyo, float[] p, int n, float s) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            load(dy, dyo + i).sub(load(p, i).mul(s)).intoArray(dx, dxo + i);
        }
        for (; i < n; i++) dx[dxo + i] = dy[dyo + i] - p[i] * s;
    }

    @Override
    public void scaledExp(float[] x, int xo, float[] dx, int dxo, int n, float scale, float shift, float coef) {
        for (int b = 0; b < n; b += VectorMath.BLOCK) {
            int len = Math.min(VectorMath.BLOCK, n - b);
            VectorMath.exp(x, xo + b, dx, dxo + b, len, scale, shift);
            scale(dx, dxo + b, len, coef);
        }
    }

    @Override
    public float sumSquaredDeviation(float[] x, int xo, int n, float mean) {
        int i = 0;
        FloatVector s0 = FloatVector.zero(S), s1 = s0;
        for (int bound = n - n % (2 * L); i < bound; i += 2 * L) {
            FloatVector d0 = load(x, xo + i).sub(mean);
            FloatVector d1 = load(x, xo + i + L).sub(mean);
            s0 = s0.add(d0.mul(d0));
            s1 = s1.add(d1.mul(d1));
        }
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector d = load(x, xo + i).sub(mean);
            s0 = s0.add(d.mul(d));
        }
        float s = VectorMath.sumLanes(s0.add(s1));
        return i < n ? s + tail.sumSquaredDeviation(x, xo + i, n - i, mean) : s;
    }

    @Override
    public void layerNorm(float[] x, int xo, float[] y, int yo, int n, float mean, float rstd, float[] w, int wo,
                          float[] b, int bo) {
        int i = 0;
        int bound = S.loopBound(n);
        if (w != null && b != null) {
            for (; i < bound; i += L) {
                load(x, xo + i).sub(mean).mul(rstd).mul(load(w, wo + i)).add(load(b, bo + i)).intoArray(y, yo + i);
            }
        } else if (w != null) {
            for (; i < bound; i += L) load(x, xo + i).sub(mean).mul(rstd).mul(load(w, wo + i)).intoArray(y, yo + i);
        } else if (b != null) {
            for (; i < bound; i += L) load(x, xo + i).sub(mean).mul(rstd).add(load(b, bo + i)).intoArray(y, yo + i);
        } else {
            for (; i < bound; i += L) load(x, xo + i).sub(mean).mul(rstd).intoArray(y, yo + i);
        }
        if (i < n) tail.layerNorm(x, xo + i, y, yo + i, n - i, mean, rstd, w, wo + i, b, bo + i);
    }

    @Override
    public void layerNormBackwardSums(float[] dy, int dyo, float[] x, int xo, float[] w, int wo, int n, float mean,
                                      float rstd, float[] out) {
        int i = 0;
        FloatVector a = FloatVector.zero(S), b = a;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector dxhat = w == null ? load(dy, dyo + i) : load(dy, dyo + i).mul(load(w, wo + i));
            FloatVector xhat = load(x, xo + i).sub(mean).mul(rstd);
            a = a.add(dxhat);
            b = b.add(dxhat.mul(xhat));
        }
        float sa = VectorMath.sumLanes(a), sb = VectorMath.sumLanes(b);
        if (i < n) {
            tail.layerNormBackwardSums(dy, dyo + i, x, xo + i, w, wo + i, n - i, mean, rstd, out);
            sa += out[0];
            sb += out[1];
        }
        out[0] = sa;
        out[1] = sb;
    }

    @Override
    public void layerNormBackward(float[] dx, int dxo, float[] dy, int dyo, float[] x, int xo, float[] w, int wo,
                                  int n, float mean, float rstd, float meanDxhat, float meanDxhatXhat,
                                  float[] dw, int dwo, float[] db, int dbo) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector g = load(dy, dyo + i);
            FloatVector dxhat = w == null ? g : g.mul(load(w, wo + i));
            FloatVector xhat = load(x, xo + i).sub(mean).mul(rstd);
            // rstd (dxhat - meanDxhat - xhat meanDxhatXhat)
            xhat.mul(-meanDxhatXhat).add(dxhat.sub(meanDxhat)).mul(rstd).intoArray(dx, dxo + i);
            if (dw != null) load(dw, dwo + i).add(g.mul(xhat)).intoArray(dw, dwo + i);
            if (db != null) g.add(load(db, dbo + i)).intoArray(db, dbo + i);
        }
        if (i < n) {
            tail.layerNormBackward(dx, dxo + i, dy, dyo + i, x, xo + i, w, wo + i, n - i, mean, rstd, meanDxhat,
                    meanDxhatXhat, dw, dwo + i, db, dbo + i);
        }
    }

    @Override
    public void addInto(float[] x, int xo, float[] acc, int ao, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            load(acc, ao + i).add(load(x, xo + i)).intoArray(acc, ao + i);
        }
        if (i < n) tail.addInto(x, xo + i, acc, ao + i, n - i);
    }

    /**
     * dx = dy gelu'(x) with s = 0.5 (1 + tanh u) = 1 / (1 + e), e = e^(-2u): gelu(x) = x s, so gelu'(x) =
     * s + 2 x u' s (1 - s) = s (1 + 2 x u' e s), u' = c (1 + 3 k x^2). One e^x and a division per element, a
     * block at a time through one scratch buffer, like the forward.
     */
    @Override
    public void geluBackward(float[] dx, int dxo, float[] dy, int dyo, float[] x, int xo, int n) {
        int body = S.loopBound(n);
        float[] e = new float[Math.min(Math.max(body, L), VectorMath.BLOCK)];
        geluBackwardBlocks(dx, dxo, dy, dyo, x, xo, body, e);
        if (body < n) {
            float[] g = VectorMath.padded(dy, dyo + body, n - body);
            geluBackwardBlocks(g, 0, g, 0, VectorMath.padded(x, xo + body, n - body), 0, L, e);
            System.arraycopy(g, 0, dx, dxo + body, n - body);
        }
    }

    /** n a multiple of L, a block at a time: e = e^(-2u) through the scratch e, then dx = dy gelu'(x). */
    private static void geluBackwardBlocks(float[] dx, int dxo, float[] dy, int dyo, float[] x, int xo, int n,
                                           float[] e) {
        for (int b = 0; b < n; b += VectorMath.BLOCK) {
            int len = Math.min(VectorMath.BLOCK, n - b);
            geluArgument(x, xo + b, e, len);
            VectorMath.expLoop(e, 0, e, 0, len, -2f * GELU_C, 0f);
            geluGrad(dx, dxo + b, dy, dyo + b, x, xo + b, e, len);
        }
    }

    /** u / c = x (1 + k x^2). */
    private static void geluArgument(float[] x, int xo, float[] u, int n) {
        for (int i = 0; i < n; i += L) {
            FloatVector v = load(x, xo + i);
            v.mul(v).mul(GELU_K).add(1f).mul(v).intoArray(u, i);
        }
    }

    /**
     * dx = dy s (1 + 2 x u' e s), s = 1 / (1 + e). Where e overflows (x below about -9.3), e s would be
     * inf * 0; it is 1 - s there, which is 1.
     */
    private static void geluGrad(float[] dx, int dxo, float[] dy, int dyo, float[] x, int xo, float[] e, int n) {
        for (int i = 0; i < n; i += L) {
            FloatVector v = load(x, xo + i), ev = load(e, i);
            FloatVector s = FloatVector.broadcast(S, 1f).div(ev.add(1f));
            FloatVector es = ev.mul(s);
            es = es.blend(1f, ev.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY));
            FloatVector twoSlope = v.mul(v).mul(3f * GELU_K).add(1f).mul(2f * GELU_C);
            FloatVector grad = v.mul(twoSlope).mul(es).add(1f).mul(s);
            load(dy, dyo + i).mul(grad).intoArray(dx, dxo + i);
        }
    }

    @Override
    public void adamw(float[] p, int po, float[] g, int go, float[] m, int mo, float[] v, int vo, int n, float decay,
                      float b1, float c1, float b2, float c2, float stepSize, float invBc2Sqrt, float eps) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector gi = load(g, go + i);
            FloatVector mi = load(m, mo + i).mul(b1).add(gi.mul(c1));
            FloatVector vi = load(v, vo + i).mul(b2).add(gi.mul(gi).mul(c2));
            mi.intoArray(m, mo + i);
            vi.intoArray(v, vo + i);
            FloatVector denom = vi.sqrt().mul(invBc2Sqrt).add(eps);
            load(p, po + i).mul(decay).sub(mi.mul(stepSize).div(denom)).intoArray(p, po + i);
        }
        if (i < n) {
            tail.adamw(p, po + i, g, go + i, m, mo + i, v, vo + i, n - i, decay, b1, c1, b2, c2, stepSize,
                    invBc2Sqrt, eps);
        }
    }
}
