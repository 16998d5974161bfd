package org.rlhf4j.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.slf4j.LoggerFactory;

/**
 * Deterministic F32 transcendentals over float arrays with the Vector API, for the Vector kernels only (it
 * loads the incubator module). {@code VectorOperators.EXP}, {@code LOG}, {@code TANH} and the like are
 * approximations whose bits differ between the C2 intrinsic (SVML-style stubs) and the Java fallback that the
 * interpreter and C1 run, so a result would depend on when the JIT got to a loop. These use only lanewise add,
 * sub, mul, div, min, max, compares, blends and bit reinterpretation, which IEEE 754 and the Vector API pin down
 * exactly, so every compilation tier gives the same bits. No FMA: it falls back to a slow software path on CPUs
 * without it, and mul + add is exactly as reproducible. Every element goes through the same vector code, the
 * last partial vector of a run included (it is computed on a zero-padded copy), so an element's value never
 * depends on where the run it is in starts or ends.
 *
 * <p>The approximations follow Cephes' single-precision ones (expf, logf, tanhf). Largest error against the
 * correctly rounded result, over every float of each function's useful range, denormal results included: exp
 * 0.99 ulp, log 0.83, tanh 1.33, sigmoid 2.40, log1p 2.47 ({@code VectorMathTest} holds dense sweeps to 1, 1,
 * 1.5, 2.5 and 2.5).
 *
 * <p>Why arrays and not {@code FloatVector exp(FloatVector)}: a vector passed to or returned from a call that C2
 * did not inline is boxed, which costs five to ten times the math. On JDK 17, C2 reliably refuses such helpers:
 * once a helper has been compiled on its own (it is, early, from C1 code that calls it per vector) with more
 * than 2500 bytes of machine code, and once a method has inlined one of these functions, its inlining budget is
 * spent. So each function lives in its own loop, with one copy of its vector code, and the compositions (tanh
 * needs e^x, log1p needs log) go through small scratch blocks; arrays cross the calls, never vectors.
 */
final class VectorMath {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Elements per block where a function runs in passes over a scratch buffer (a multiple of any L). */
    static final int BLOCK = 1024;

    // ---- e^x ----
    /** Below it e^x < 2^-150, which rounds to 0; above the high one e^x overflows to +inf. */
    private static final float EXP_LO = -104f, EXP_HI = 89f;
    /** Beyond +-80, |n| > 115 and 2^n is built in two factors. */
    private static final float EXP_SPLIT = 80f;
    private static final float LOG2E = 1.44269504088896341f;
    /** 1.5 * 2^23: adding it rounds to an integer and leaves that integer in the low mantissa bits. */
    private static final float ROUND = 12582912f;
    private static final int ROUND_BITS = 0x4B400000;
    /** ln 2 = LN2_HI + LN2_LO, LN2_HI with 9 significant bits so that n LN2_HI is exact for |n| < 2^15. */
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float E0 = 1.9875691500e-4f, E1 = 1.3981999507e-3f, E2 = 8.3334519073e-3f,
            E3 = 4.1665795894e-2f, E4 = 1.6666665459e-1f, E5 = 5.0000001201e-1f;

    // ---- log x ----
    private static final float SQRT_HALF = 0.707106781186547524f;
    private static final float TWO_23 = 8388608f;
    private static final int TWO_23_BITS = 0x4B000000;
    private static final float L0 = 7.0376836292e-2f, L1 = -1.1514610310e-1f, L2 = 1.1676998740e-1f,
            L3 = -1.2420140846e-1f, L4 = 1.4249322787e-1f, L5 = -1.6668057665e-1f, L6 = 2.0000714765e-1f,
            L7 = -2.4999993993e-1f, L8 = 3.3333331174e-1f;

    // ---- tanh x ----
    /** Below it the odd polynomial, above it 1 - 2 / (e^2|x| + 1). */
    private static final float TANH_SPLIT = 0.625f;
    private static final float T0 = -5.70498872745e-3f, T1 = 2.06390887954e-2f, T2 = -5.37397155531e-2f,
            T3 = 1.33314422036e-1f, T4 = -3.33332819422e-1f;

    private VectorMath() {}

    static {
        double millis = warmUp();
        LoggerFactory.getLogger(VectorMath.class).debug("e^x and tanh loops warmed up in {} ms", Math.round(millis));
    }

    /** Runs the e^x and tanh loops on one block, on this thread alone, until C2 has compiled them ({@link WarmUp}). */
    static double warmUp() {
        int n = 8 * L;
        float[] x = new float[n], y = new float[n], e = new float[n];
        for (int i = 0; i < n; i++) x[i] = (i - n / 2) * (40f / n);
        return WarmUp.untilFlat(() -> {
            for (int r = 0; r < 50; r++) {
                expLoop(x, 0, y, 0, n, 1f, 0f);
                tanhBlocks(x, 0, y, 0, n, e);
            }
        }, 200, 1_500_000_000L);
    }

    /** An array loop over n elements, n a multiple of L (the vector length). */
    @FunctionalInterface
    private interface Loop {
        void run(float[] x, int xo, float[] y, int yo, int n);
    }

    /** Runs {@code loop} over the whole vectors of a run, then over its tail on a zero-padded copy. */
    private static void withTail(Loop loop, float[] x, int xo, float[] y, int yo, int n) {
        int body = S.loopBound(n);
        loop.run(x, xo, y, yo, body);
        if (body < n) {
            float[] t = padded(x, xo + body, n - body);
            loop.run(t, 0, t, 0, L);
            System.arraycopy(t, 0, y, yo + body, n - body);
        }
    }

    /** A vector-length copy of a[off, off + len), len < L, padded with zeros: the tail of a run. */
    static float[] padded(float[] a, int off, int len) {
        float[] t = new float[L];
        System.arraycopy(a, off, t, 0, len);
        return t;
    }

    // The loops below make their vector constants inside the loop (C2 hoists them): a vector kept in a local
    // across the loop's back edge loses its exact class in an on-stack-replacement compile, and every operation
    // on it falls back to the boxed Java implementation.

    private static FloatVector load(float[] a, int o) {
        return FloatVector.fromArray(S, a, o);
    }

    /**
     * The sum of the lanes, added in lane order. {@code reduceLanes(ADD)} leaves its order to the
     * implementation, and a compiled tree reduction would not give the interpreter's bits.
     */
    static float sumLanes(FloatVector v) {
        float s = v.lane(0);
        for (int i = 1, n = v.length(); i < n; i++) s += v.lane(i);
        return s;
    }

    // =====================================================================================================
    // e^x
    // =====================================================================================================

    /** y[i] = e^(scale x[i] - shift) for i in [0, n); y may be x. scale 1 and shift 0 leave x as it is. */
    static void exp(float[] x, int xo, float[] y, int yo, int n, float scale, float shift) {
        withTail((a, ao, b, bo, m) -> expLoop(a, ao, b, bo, m, scale, shift), x, xo, y, yo, n);
    }

    /**
     * e^z, z = scale x - shift: z = n ln2 + r with |r| <= ln2 / 2 (Cody-Waite, ln2 in two parts),
     * e^r = 1 + r + r^2 P(r) with P of degree 5 (its Horner steps fused), times 2^n built in the exponent bits.
     * Where 2^n itself would not be a normal float (|z| > 80) it is built as 2^(n -+ 64) and the product scaled
     * back by 2^+-64, so results near the overflow threshold and in the denormal range are rounded once, like the true value. -inf and
     * z < -104 give exactly 0, z > 88.73 and +inf give +inf, NaN gives NaN.
     */
    static void expLoop(float[] x, int xo, float[] y, int yo, int n, float scale, float shift) {
        for (int i = 0; i < n; i += L) {
            FloatVector z = load(x, xo + i).mul(scale).sub(shift);
            // Clamped by compare and blend, which keep NaN: max and min cost several instructions each for
            // Java's NaN and -0 rules, and the whole loop ran 13% faster without them (AVX-512).
            z = z.blend(EXP_LO, z.compare(VectorOperators.LT, EXP_LO));
            z = z.blend(EXP_HI, z.compare(VectorOperators.GT, EXP_HI));
            FloatVector t = z.fma(LOG2E, ROUND);
            FloatVector k = t.sub(ROUND);
            // z - k LN2_HI - k LN2_LO as two fused multiply-adds, each rounded once
            FloatVector r = k.fma(FloatVector.broadcast(S, -LN2_LO), k.fma(FloatVector.broadcast(S, -LN2_HI), z));
            FloatVector p = r.fma(E0, E1);
            p = p.fma(r, FloatVector.broadcast(S, E2));
            p = p.fma(r, FloatVector.broadcast(S, E3));
            p = p.fma(r, FloatVector.broadcast(S, E4));
            p = p.fma(r, FloatVector.broadcast(S, E5));
            // the last step unfused: fused, the worst error over [-100, 100] rose from 0.97 to 1.006 ulp
            p = p.mul(r.mul(r)).add(r).add(1f);
            VectorMask<Float> low = z.compare(VectorOperators.LT, -EXP_SPLIT);
            VectorMask<Float> high = z.compare(VectorOperators.GT, EXP_SPLIT);
            // k + 64, k - 64 or k, in t's low bits
            t = t.lanewise(VectorOperators.ADD, 64f, low).lanewise(VectorOperators.SUB, 64f, high);
            // one int round trip only: each reinterpretation is a place where C2 may fail to intrinsify
            FloatVector scaleBits = t.reinterpretAsInts().add(127 - ROUND_BITS).lanewise(VectorOperators.LSHL, 23)
                    .reinterpretAsFloats();
            FloatVector back = FloatVector.broadcast(S, 1f).blend(0x1p-64f, low).blend(0x1p64f, high);
            p.mul(scaleBits).mul(back).intoArray(y, yo + i);
        }
    }

    /** e[0, n) = e^(c |x[i]|), n a multiple of L: the e^x that tanh, sigmoid and softplus build on. */
    private static void expOfScaledAbs(float[] x, int xo, float[] e, int n, float c) {
        for (int i = 0; i < n; i += L) load(x, xo + i).abs().mul(c).intoArray(e, i);
        expLoop(e, 0, e, 0, n, 1f, 0f);
    }

    // =====================================================================================================
    // log x, log(1 + x)
    // =====================================================================================================

    /** y[i] = log x[i] for i in [0, n); y may be x. */
    static void log(float[] x, int xo, float[] y, int yo, int n) {
        withTail(VectorMath::logLoop, x, xo, y, yo, n);
    }

    /**
     * log x: x = m 2^e with m in [sqrt(1/2), sqrt(2)) taken from the exponent and mantissa bits (denormals are
     * first scaled by 2^25), then log(1 + f) = f - f^2 / 2 + f^3 P(f) with f = m - 1 (exact) and P of degree 8,
     * plus e ln2 in two parts. log(+-0) = -inf, log(x < 0) = NaN, log(+inf) = +inf, NaN gives NaN.
     */
    private static void logLoop(float[] x, int xo, float[] y, int yo, int n) {
        for (int i = 0; i < n; i += L) {
            FloatVector v = load(x, xo + i);
            VectorMask<Float> denormal = v.compare(VectorOperators.LT, Float.MIN_NORMAL);
            IntVector bits = v.blend(v.mul(0x1p25f), denormal).reinterpretAsInts();
            // frexp: m in [0.5, 1). The biased exponent E in [0, 255] becomes a float through the bits of
            // 2^23 + E (convert(I2F) is not reliably intrinsified), and e = E - 126, less 25 for denormals.
            FloatVector biased = bits.lanewise(VectorOperators.LSHR, 23).add(TWO_23_BITS).reinterpretAsFloats();
            FloatVector e = biased.sub(TWO_23 + 126f).lanewise(VectorOperators.SUB, 25f, denormal);
            FloatVector m = bits.and(0x007FFFFF).or(0x3F000000).reinterpretAsFloats();
            // m < sqrt(1/2): use 2m in [1, sqrt(2)) and e - 1; either way f = m - 1 is exact
            VectorMask<Float> below = m.compare(VectorOperators.LT, SQRT_HALF);
            e = e.blend(e.sub(1f), below);
            FloatVector f = m.blend(m.add(m), below).sub(1f);
            FloatVector z = f.mul(f);
            FloatVector p = f.mul(L0).add(L1);
            p = p.mul(f).add(L2);
            p = p.mul(f).add(L3);
            p = p.mul(f).add(L4);
            p = p.mul(f).add(L5);
            p = p.mul(f).add(L6);
            p = p.mul(f).add(L7);
            p = p.mul(f).add(L8);
            FloatVector r = p.mul(f).mul(z).add(e.mul(LN2_LO)).sub(z.mul(0.5f));
            r = f.add(r).add(e.mul(LN2_HI));
            r = r.blend(Float.NEGATIVE_INFINITY, v.compare(VectorOperators.EQ, 0f));
            r = r.blend(Float.POSITIVE_INFINITY, v.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY));
            r.blend(Float.NaN, v.compare(VectorOperators.GE, 0f).not()).intoArray(y, yo + i); // x < 0 or NaN
        }
    }

    /** y[i] = log(1 + x[i]) for i in [0, n), accurate for small x; y may be x. */
    static void log1p(float[] x, int xo, float[] y, int yo, int n) {
        withTail((a, ao, b, bo, m) -> log1pBlocks(a, ao, b, bo, m, new float[Math.min(m, BLOCK)]), x, xo, y, yo, n);
    }

    /** log1p over n elements, n a multiple of L, a block at a time through u (at least min(n, BLOCK) long). */
    private static void log1pBlocks(float[] x, int xo, float[] y, int yo, int n, float[] u) {
        for (int b = 0; b < n; b += BLOCK) {
            int len = Math.min(BLOCK, n - b);
            onePlus(x, xo + b, u, len);
            logLoop(u, 0, u, 0, len);
            log1pFinish(x, xo + b, u, y, yo + b, len);
        }
    }

    private static void onePlus(float[] x, int xo, float[] u, int n) {
        for (int i = 0; i < n; i += L) load(x, xo + i).add(1f).intoArray(u, i);
    }

    /**
     * log(1 + x) from logU = log(u), u = 1 + x rounded: log(u) x / (u - 1) cancels the rounding of u to first
     * order (Goldberg's trick; u - 1 is exact). Where u == 1 the answer is x itself (which also keeps -0).
     * log1p(-1) = -inf, log1p(x < -1) = NaN, log1p(+inf) = +inf, NaN gives NaN.
     */
    private static void log1pFinish(float[] x, int xo, float[] logU, float[] y, int yo, int n) {
        for (int i = 0; i < n; i += L) {
            FloatVector v = load(x, xo + i);
            FloatVector d = v.add(1f).sub(1f);
            FloatVector r = load(logU, i).mul(v.div(d)); // the ratio first: it is near 1, so nothing overflows
            r = r.blend(v, d.compare(VectorOperators.EQ, 0f));
            r.blend(Float.POSITIVE_INFINITY, v.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY))
                    .intoArray(y, yo + i);
        }
    }

    // =====================================================================================================
    // tanh, sigmoid, softplus
    // =====================================================================================================

    /** y[i] = tanh x[i] for i in [0, n); y may be x. */
    static void tanh(float[] x, int xo, float[] y, int yo, int n) {
        withTail((a, ao, b, bo, m) -> tanhBlocks(a, ao, b, bo, m, new float[Math.min(m, BLOCK)]), x, xo, y, yo, n);
    }

    /**
     * tanh over n elements, n a multiple of L, a block at a time through the scratch e (at least min(n, BLOCK)
     * long); y may be x. For kernels that compose tanh with their own loops and keep one scratch buffer.
     */
    static void tanhBlocks(float[] x, int xo, float[] y, int yo, int n, float[] e) {
        for (int b = 0; b < n; b += BLOCK) {
            int len = Math.min(BLOCK, n - b);
            expOfScaledAbs(x, xo + b, e, len, 2f);
            tanhFinish(x, xo + b, e, y, yo + b, len);
        }
    }

    /**
     * tanh x from e = e^2|x|: for |x| < 0.625 the odd polynomial x + x^3 P(x^2), P of degree 4; above,
     * 1 - 2 / (e + 1) with the sign of x, which reaches exactly +-1 once e overflows. tanh(+-0) = +-0, NaN gives
     * NaN.
     */
    private static void tanhFinish(float[] x, int xo, float[] e, float[] y, int yo, int n) {
        for (int i = 0; i < n; i += L) {
            FloatVector v = load(x, xo + i);
            FloatVector z = v.mul(v);
            FloatVector p = z.mul(T0).add(T1);
            p = p.mul(z).add(T2);
            p = p.mul(z).add(T3);
            p = p.mul(z).add(T4);
            FloatVector small = p.mul(z).mul(v).add(v);
            FloatVector large = FloatVector.broadcast(S, 2f).div(load(e, i).add(1f)).neg().add(1f);
            large = large.blend(large.neg(), v.compare(VectorOperators.LT, 0f));
            FloatVector r = large.blend(small, v.abs().compare(VectorOperators.LT, TANH_SPLIT));
            // x + (+0) would turn -0 into +0
            r.blend(v, v.compare(VectorOperators.EQ, 0f)).intoArray(y, yo + i);
        }
    }

    /**
     * y[i] = 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below, with one e^-|x|: nothing overflows, and the
     * result keeps its relative accuracy for very negative x instead of flushing to 0 where e^-x overflows.
     */
    static void sigmoid(float[] x, int xo, float[] y, int yo, int n) {
        withTail((a, ao, b, bo, m) -> sigmoidBlocks(a, ao, b, bo, m), x, xo, y, yo, n);
    }

    private static void sigmoidBlocks(float[] x, int xo, float[] y, int yo, int n) {
        float[] e = new float[Math.min(n, BLOCK)];
        for (int b = 0; b < n; b += BLOCK) {
            int len = Math.min(BLOCK, n - b);
            expOfScaledAbs(x, xo + b, e, len, -1f);
            sigmoidFinish(x, xo + b, e, y, yo + b, len);
        }
    }

    private static void sigmoidFinish(float[] x, int xo, float[] e, float[] y, int yo, int n) {
        for (int i = 0; i < n; i += L) {
            FloatVector ev = load(e, i);
            FloatVector num = ev.blend(1f, load(x, xo + i).compare(VectorOperators.GE, 0f));
            num.div(ev.add(1f)).intoArray(y, yo + i);
        }
    }

    /** y[i] = softplus(x[i]) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|); y may be x. */
    static void softplus(float[] x, int xo, float[] y, int yo, int n) {
        withTail((a, ao, b, bo, m) -> softplusBlocks(a, ao, b, bo, m, false), x, xo, y, yo, n);
    }

    /** y[i] = log(sigmoid(x[i])) = -softplus(-x) = min(x, 0) - log1p(e^-|x|); y may be x. */
    static void logSigmoid(float[] x, int xo, float[] y, int yo, int n) {
        withTail((a, ao, b, bo, m) -> softplusBlocks(a, ao, b, bo, m, true), x, xo, y, yo, n);
    }

    private static void softplusBlocks(float[] x, int xo, float[] y, int yo, int n, boolean logSigmoid) {
        float[] t = new float[Math.min(n, BLOCK)], u = new float[t.length];
        for (int b = 0; b < n; b += BLOCK) {
            int len = Math.min(BLOCK, n - b);
            expOfScaledAbs(x, xo + b, t, len, -1f);
            log1pBlocks(t, 0, t, 0, len, u);
            softplusFinish(x, xo + b, t, y, yo + b, len, logSigmoid);
        }
    }

    private static void softplusFinish(float[] x, int xo, float[] t, float[] y, int yo, int n, boolean logSigmoid) {
        for (int i = 0; i < n; i += L) {
            FloatVector v = load(x, xo + i), l = load(t, i);
            (logSigmoid ? v.min(0f).sub(l) : v.max(0f).add(l)).intoArray(y, yo + i);
        }
    }
}
