package org.rlhf4j.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Deterministic F32 transcendentals on Vector API lanes, for the Vector kernels only (it loads the incubator
 * module). {@code VectorOperators.EXP}, {@code LOG}, {@code TANH} and the like are approximations whose bits
 * differ between the C2 intrinsic (SVML-style stubs) and the Java fallback that the interpreter and C1 run, so
 * a result would depend on when the JIT got to a loop. These use only lanewise add, sub, mul, div, min, max,
 * compares, blends and bit reinterpretation, which IEEE 754 and the Vector API pin down exactly, so every
 * compilation tier gives the same bits. No FMA: it falls back to a slow software path on CPUs without it, and
 * mul + add is exactly as reproducible.
 *
 * <p>The approximations follow Cephes' single-precision ones (expf, logf, tanhf). Against the correctly
 * rounded result, measured by {@code VectorMathTest} over dense sweeps: exp and log within 1 ulp, tanh and
 * log1p within 2 ulp (denormal results included).
 */
final class VectorMath {
    private VectorMath() {}

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

    /**
     * e^x: x = n ln2 + r with |r| <= ln2 / 2 (Cody-Waite, ln2 in two parts), e^r = 1 + r + r^2 P(r) with P of
     * degree 5, times 2^n built in the exponent bits. Where 2^n itself would not be a normal float (|x| > 80)
     * it is built as 2^(n -+ 64) and the product scaled back by 2^+-64, so results near the overflow threshold
     * and in the denormal range are rounded once, like the true value. -inf and x < -104 give exactly 0,
     * x > 88.73 and +inf give +inf, NaN gives NaN.
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(EXP_LO).min(EXP_HI); // NaN stays NaN (min and max propagate it)
        FloatVector t = x.mul(LOG2E).add(ROUND);
        FloatVector n = t.sub(ROUND);
        // n LN2_HI is exact and x - n LN2_HI loses nothing (x and n ln2 are close)
        FloatVector r = x.sub(n.mul(LN2_HI)).sub(n.mul(LN2_LO));
        FloatVector p = r.mul(E0).add(E1);
        p = p.mul(r).add(E2);
        p = p.mul(r).add(E3);
        p = p.mul(r).add(E4);
        p = p.mul(r).add(E5);
        p = p.mul(r.mul(r)).add(r).add(1f);
        VectorMask<Float> low = x.compare(VectorOperators.LT, -EXP_SPLIT);
        VectorMask<Float> high = x.compare(VectorOperators.GT, EXP_SPLIT);
        FloatVector zero = FloatVector.zero(x.species());
        t = t.add(zero.blend(64f, low)).sub(zero.blend(64f, high)); // n + 64, n - 64 or n, still in t's low bits
        // One int round trip only: each reinterpretation is a place where C2 may fail to intrinsify.
        FloatVector scale = t.reinterpretAsInts().add(127 - ROUND_BITS).lanewise(VectorOperators.LSHL, 23)
                .reinterpretAsFloats();
        FloatVector back = zero.add(1f).blend(0x1p-64f, low).blend(0x1p64f, high);
        return p.mul(scale).mul(back);
    }

    /**
     * log x: x = m 2^e with m in [sqrt(1/2), sqrt(2)) taken from the exponent and mantissa bits (denormals are
     * first scaled by 2^25), then log(1 + f) = f - f^2 / 2 + f^3 P(f) with f = m - 1 (exact) and P of degree 8,
     * plus e ln2 in two parts. log(+-0) = -inf, log(x < 0) = NaN, log(+inf) = +inf, NaN gives NaN.
     */
    static FloatVector log(FloatVector x) {
        FloatVector r = logPositive(x);
        r = r.blend(Float.NEGATIVE_INFINITY, x.compare(VectorOperators.EQ, 0f));
        r = r.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY));
        return r.blend(Float.NaN, x.compare(VectorOperators.GE, 0f).not()); // negative or NaN
    }

    // log is split in three so that each part stays under C2's inlining limit for hot methods (325 bytes of
    // bytecode): a vector that crosses a call that was not inlined is boxed, which costs ten times the math.

    /** log x for finite x > 0 (denormals included). */
    private static FloatVector logPositive(FloatVector x) {
        VectorMask<Float> denormal = x.compare(VectorOperators.LT, Float.MIN_NORMAL);
        FloatVector xs = x.blend(x.mul(0x1p25f), denormal);
        IntVector bits = xs.reinterpretAsInts();
        // frexp: xs = m 2^e with m in [0.5, 1). The biased exponent E in [0, 255] becomes a float through the
        // bits of 2^23 + E (convert(I2F) is not reliably intrinsified), and e = E - 126, less 25 for denormals.
        FloatVector biased = bits.lanewise(VectorOperators.LSHR, 23).add(TWO_23_BITS).reinterpretAsFloats();
        FloatVector e = biased.sub(TWO_23 + 126f).sub(FloatVector.zero(x.species()).blend(25f, denormal));
        FloatVector m = bits.and(0x007FFFFF).or(0x3F000000).reinterpretAsFloats();
        // m < sqrt(1/2): use 2m in [1, sqrt(2)) and e - 1; either way f = m - 1 is exact
        VectorMask<Float> low = m.compare(VectorOperators.LT, SQRT_HALF);
        e = e.blend(e.sub(1f), low);
        FloatVector f = m.blend(m.add(m), low).sub(1f);
        FloatVector z = f.mul(f);
        FloatVector y = logTail(f).mul(z);
        y = y.add(e.mul(LN2_LO));
        y = y.sub(z.mul(0.5f));
        return f.add(y).add(e.mul(LN2_HI));
    }

    /** f P(f), so that log(1 + f) = f - f^2 / 2 + f^2 (f P(f)) for f in [sqrt(1/2) - 1, sqrt(2) - 1). */
    private static FloatVector logTail(FloatVector f) {
        FloatVector p = f.mul(L0).add(L1);
        p = p.mul(f).add(L2);
        p = p.mul(f).add(L3);
        p = p.mul(f).add(L4);
        p = p.mul(f).add(L5);
        p = p.mul(f).add(L6);
        p = p.mul(f).add(L7);
        p = p.mul(f).add(L8);
        return p.mul(f);
    }

    /**
     * log(1 + x), accurate for small x: with u = 1 + x rounded, log(u) x / (u - 1) cancels the rounding of u
     * to first order (Goldberg's trick; u - 1 is exact). Where u == 1 the answer is x itself (which also keeps
     * -0). log1p(-1) = -inf, log1p(x < -1) = NaN, log1p(+inf) = +inf, NaN gives NaN.
     */
    static FloatVector log1p(FloatVector x) {
        FloatVector u = x.add(1f);
        FloatVector d = u.sub(1f);
        FloatVector r = log(u).mul(x.div(d)); // the ratio first: it is near 1, so nothing overflows
        r = r.blend(x, d.compare(VectorOperators.EQ, 0f));
        return r.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY));
    }

    /**
     * tanh x: for |x| < 0.625 the odd polynomial x + x^3 P(x^2), P of degree 4; above, 1 - 2 / (e^2|x| + 1)
     * with the sign of x, which reaches exactly +-1 once e^2|x| overflows. tanh(+-0) = +-0, NaN gives NaN.
     */
    static FloatVector tanh(FloatVector x) {
        FloatVector z = x.mul(x);
        FloatVector p = z.mul(T0).add(T1);
        p = p.mul(z).add(T2);
        p = p.mul(z).add(T3);
        p = p.mul(z).add(T4);
        FloatVector small = p.mul(z).mul(x).add(x);
        FloatVector a = x.abs();
        FloatVector one = FloatVector.broadcast(x.species(), 1f);
        FloatVector large = one.sub(one.add(one).div(exp(a.add(a)).add(1f)));
        large = large.blend(large.neg(), x.compare(VectorOperators.LT, 0f));
        FloatVector r = large.blend(small, a.compare(VectorOperators.LT, TANH_SPLIT));
        return r.blend(x, x.compare(VectorOperators.EQ, 0f)); // -0 + (+0) above would lose the sign of -0
    }

    /**
     * 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below, with one e^-|x|: nothing overflows, and the result
     * keeps its relative accuracy for very negative x instead of flushing to 0 where e^-x overflows.
     */
    static FloatVector sigmoid(FloatVector x) {
        FloatVector e = exp(x.abs().neg());
        FloatVector num = e.blend(1f, x.compare(VectorOperators.GE, 0f));
        return num.div(e.add(1f));
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
}
