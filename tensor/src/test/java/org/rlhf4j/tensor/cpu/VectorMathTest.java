package org.rlhf4j.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.NnOps;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.tensor.UnaryOp;

/**
 * {@link VectorMath}: accuracy against {@code Math} (evaluated in double, so the reference is the correctly rounded
 * float to within a hair) over dense sweeps and edge values, and determinism: the same bits from code that has
 * just been loaded (interpreted) as from code that ran 20000 times (compiled by C2), the same bits as the same
 * formulas evaluated one float at a time, and the same bits whatever the thread count splits a run into.
 * NaN results compare equal whatever their payload (Java leaves NaN payloads unspecified).
 *
 * <p>Largest errors over every float of each function's useful range (a one-off exhaustive run, too slow for a
 * unit test), which the bounds below leave a little room above: exp 0.99 ulp, log 0.83, tanh 1.33, sigmoid
 * 2.40, log1p 2.47.
 */
class VectorMathTest {
    private static final int SWEEP = 1_000_000;
    private static final int WARM_CALLS = 20_000;

    @BeforeEach
    void needsTheVectorApi() {
        assumeTrue(Simd.ENABLED, "the Vector API kernels are off (-Drlhf4j.simd=false or no jdk.incubator.vector):"
                + " VectorMath is unused, and the plain-Java kernels use Math, which is deterministic");
    }

    /** One of VectorMath's array functions: y[yo, yo + n) = f(x[xo, xo + n)). */
    private interface ArrayFn {
        void apply(float[] x, int xo, float[] y, int yo, int n);
    }

    private static final ArrayFn EXP = (x, xo, y, yo, n) -> VectorMath.exp(x, xo, y, yo, n, 1f, 0f);
    private static final ArrayFn LOG = VectorMath::log;
    private static final ArrayFn LOG1P = VectorMath::log1p;
    private static final ArrayFn TANH = VectorMath::tanh;
    private static final ArrayFn SIGMOID = VectorMath::sigmoid;
    private static final ArrayFn SOFTPLUS = VectorMath::softplus;
    private static final ArrayFn LOG_SIGMOID = VectorMath::logSigmoid;

    private static float[] apply(ArrayFn f, float[] x) {
        float[] y = new float[x.length];
        f.apply(x, 0, y, 0, x.length);
        return y;
    }

    // =====================================================================================================
    // accuracy
    // =====================================================================================================

    /** n floats evenly spaced from lo to hi. */
    private static float[] uniform(float lo, float hi, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (lo + (hi - (double) lo) * i / (n - 1));
        return x;
    }

    /** n floats evenly spaced in their bit patterns from lo to hi (same sign): every binade gets its share. */
    private static float[] binades(float lo, float hi, int n) {
        long a = Float.floatToRawIntBits(lo), b = Float.floatToRawIntBits(hi);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = Float.intBitsToFloat((int) (a + (b - a) * i / (n - 1)));
        return x;
    }

    private static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) n += p.length;
        float[] all = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    private static float[] negated(float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) y[i] = -x[i];
        return y;
    }

    /**
     * |got - exact| in units of the float spacing at the exact value (2^-149 among the denormals); 0 or infinity
     * for results that must match exactly: NaN, the infinities, and where the rounded exact value overflows.
     */
    static double ulpError(float got, double exact) {
        if (Double.isNaN(exact)) return Float.isNaN(got) ? 0 : Double.POSITIVE_INFINITY;
        float rounded = (float) exact;
        if (Float.isInfinite(rounded) || Float.isInfinite(got)) return got == rounded ? 0 : Double.POSITIVE_INFINITY;
        if (Float.isNaN(got)) return Double.POSITIVE_INFINITY;
        float a = Math.abs(rounded);
        // just below a power of two the spacing is half the one above it
        double spacing = Math.abs(exact) < a && a > Float.MIN_NORMAL ? a - Math.nextDown(a) : Math.ulp(a);
        return Math.abs(got - exact) / spacing;
    }

    private static void assertUlp(String name, ArrayFn f, DoubleUnaryOperator reference, float[] x, double bound) {
        float[] y = apply(f, x);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < x.length; i++) {
            double e = ulpError(y[i], reference.applyAsDouble(x[i]));
            if (at < 0 || e > worst) {
                worst = e;
                at = i;
            }
        }
        if (!(worst <= bound)) {
            fail(name + "(" + x[at] + ") = " + y[at] + ", correctly rounded " + (float) reference.applyAsDouble(x[at])
                    + ": " + worst + " ulp, more than " + bound);
        }
    }

    private static double sigmoidReference(double x) {
        return UnaryOp.SIGMOID.apply(x);
    }

    @Test
    void expIsWithinOneUlp() {
        float[] x = concat(uniform(-104f, 89f, SWEEP), binades(1e-30f, 104f, SWEEP),
                negated(binades(1e-30f, 104f, SWEEP)), uniform(-1f, 1f, SWEEP));
        assertUlp("exp", EXP, Math::exp, x, 1.0);
    }

    @Test
    void expHasExactEdges() {
        float[] x = {0f, -0f, Float.MIN_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
            88.72283f, 88.72284f, 89f, 103f, Float.MAX_VALUE, -87.33f, -88.7f, -103f, -103.97f, -103.98f, -104f,
            -105f, -Float.MAX_VALUE};
        float[] y = apply(EXP, x);
        for (int i = 0; i < x.length; i++) {
            double exact = Math.exp(x[i]);
            assertTrue(ulpError(y[i], exact) <= 1.0, "exp(" + x[i] + ") = " + y[i] + ", expected " + (float) exact);
        }
        assertEquals(1f, y[0]);
        assertEquals(1f, y[1]);
        assertEquals(Float.POSITIVE_INFINITY, y[3]);
        assertEquals(0f, y[4]);
        assertTrue(Float.isNaN(y[5]));
        assertTrue(y[6] < Float.POSITIVE_INFINITY && y[7] == Float.POSITIVE_INFINITY, "overflow from 88.72284 on");
        assertEquals(Float.MIN_VALUE, y[14], "exp(-103.97) is the smallest denormal");
        for (int i = 15; i < x.length; i++) assertEquals(0f, y[i], "exp(" + x[i] + ")");
    }

    @Test
    void logIsWithinOneUlp() {
        float[] x = concat(binades(Float.MIN_VALUE, Float.MAX_VALUE, SWEEP), uniform(0.5f, 2f, SWEEP),
                binades(Math.nextDown(1f) - 1e-3f, 1f + 1e-3f, SWEEP));
        assertUlp("log", LOG, Math::log, x, 1.0);
    }

    @Test
    void logHasExactEdges() {
        float[] x = {0f, -0f, -1f, -Float.MIN_VALUE, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN,
            1f, Math.nextUp(1f), Math.nextDown(1f), Float.MIN_VALUE, Float.MIN_NORMAL, Math.nextDown(Float.MIN_NORMAL),
            Float.MAX_VALUE, 2f, 0.5f};
        float[] y = apply(LOG, x);
        for (int i = 0; i < x.length; i++) {
            double exact = Math.log(x[i]);
            assertTrue(ulpError(y[i], exact) <= 1.0, "log(" + x[i] + ") = " + y[i] + ", expected " + (float) exact);
        }
        assertEquals(Float.NEGATIVE_INFINITY, y[0]);
        assertEquals(Float.NEGATIVE_INFINITY, y[1]);
        assertEquals(0f, y[7]);
    }

    @Test
    void log1pIsWithinTwoAndAHalfUlp() {
        float[] x = concat(binades(Float.MIN_VALUE, Float.MAX_VALUE, SWEEP),
                negated(binades(Float.MIN_VALUE, Math.nextDown(1f), SWEEP)), uniform(-0.999f, 10f, SWEEP));
        assertUlp("log1p", LOG1P, Math::log1p, x, 2.5);
    }

    @Test
    void log1pHasExactEdges() {
        float[] x = {0f, -0f, -1f, -2f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, 1e-30f,
            -1e-30f, Float.MIN_VALUE, 0x1p-24f, Float.MAX_VALUE};
        float[] y = apply(LOG1P, x);
        for (int i = 0; i < x.length; i++) {
            double exact = Math.log1p(x[i]);
            assertTrue(ulpError(y[i], exact) <= 1.0, "log1p(" + x[i] + ") = " + y[i] + ", expected " + (float) exact);
        }
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(y[1]), "log1p(-0) is -0");
    }

    @Test
    void tanhIsWithinOneAndAHalfUlp() {
        float[] x = concat(binades(Float.MIN_VALUE, 20f, SWEEP), negated(binades(Float.MIN_VALUE, 20f, SWEEP)),
                uniform(-10f, 10f, SWEEP), uniform(0.5f, 0.75f, SWEEP));
        assertUlp("tanh", TANH, Math::tanh, x, 1.5);
    }

    @Test
    void tanhHasExactEdges() {
        float[] x = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            Float.NaN, 0.625f, Math.nextDown(0.625f), -0.625f, 9.1f, -9.1f, 20f, -20f, 100f, Float.MAX_VALUE,
            -Float.MAX_VALUE};
        float[] y = apply(TANH, x);
        for (int i = 0; i < x.length; i++) {
            double exact = Math.tanh(x[i]);
            assertTrue(ulpError(y[i], exact) <= 1.5, "tanh(" + x[i] + ") = " + y[i] + ", expected " + (float) exact);
        }
        assertEquals(Float.floatToRawIntBits(0f), Float.floatToRawIntBits(y[0]), "tanh(0) is +0");
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(y[1]), "tanh(-0) is -0");
        assertEquals(-Float.MIN_VALUE, y[3]);
        for (int i = 10; i < x.length; i++) assertEquals(Math.signum(x[i]), y[i], "tanh(" + x[i] + ") saturates");
        assertEquals(1f, y[4]);
        assertEquals(-1f, y[5]);
        assertTrue(Float.isNaN(y[6]));
    }

    @Test
    void sigmoidIsWithinTwoAndAHalfUlpDownToItsDenormals() {
        float[] x = concat(uniform(-110f, 30f, SWEEP), binades(1e-30f, 110f, SWEEP),
                negated(binades(1e-30f, 110f, SWEEP)));
        assertUlp("sigmoid", SIGMOID, VectorMathTest::sigmoidReference, x, 2.5);
        float[] edges = apply(SIGMOID, new float[] {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 0f, -0f,
            Float.NaN, -200f, 200f});
        assertEquals(0f, edges[0]);
        assertEquals(1f, edges[1]);
        assertEquals(0.5f, edges[2]);
        assertEquals(0.5f, edges[3]);
        assertTrue(Float.isNaN(edges[4]));
        assertEquals(0f, edges[5]);
        assertEquals(1f, edges[6]);
    }

    @Test
    void softplusAndLogSigmoidFollowTheirDefinitions() {
        float[] x = concat(uniform(-120f, 120f, SWEEP / 4), binades(1e-30f, 120f, SWEEP / 4),
                negated(binades(1e-30f, 120f, SWEEP / 4)),
                new float[] {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN});
        // log1p(e^-|x|) adds its 2.5 ulp to e^x's 1 ulp; max(x, 0) + t has no cancellation
        assertUlp("softplus", SOFTPLUS, UnaryOp.SOFTPLUS::apply, x, 3.5);
        assertUlp("logSigmoid", LOG_SIGMOID, UnaryOp.LOG_SIGMOID::apply, x, 3.5);
    }

    // =====================================================================================================
    // determinism
    // =====================================================================================================

    /** Typical values, specials, and values near every branch point. */
    private static float[] mixedInputs(long seed, int n) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] x = new float[n];
        float[] specials = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE,
            -Float.MIN_VALUE, 1e-40f, 0.625f, -0.625f, 80f, -80f, 88.72f, -88.72f, 89f, -103.9f, -104f, 1f, -1f,
            Float.MAX_VALUE, -Float.MAX_VALUE};
        for (int i = 0; i < n; i++) {
            if (i % 16 == 5) x[i] = specials[(i / 16) % specials.length];
            else if (i % 3 == 0) x[i] = (float) (random.nextDouble(-110, 110));
            else x[i] = (float) (random.nextGaussian() * 3);
        }
        return x;
    }

    private static void assertSameBits(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(actual[i])) {
                fail(what + ": element " + i + " is " + actual[i] + " (bits " + Integer.toHexString(
                        Float.floatToRawIntBits(actual[i])) + "), expected " + expected[i] + " (bits "
                        + Integer.toHexString(Float.floatToRawIntBits(expected[i])) + ")");
            }
        }
    }

    // ---- the same formulas one float at a time: Java's float arithmetic is IEEE 754, exactly as the lanes are ----

    private static float expModel(float x) {
        float z = x < -104f ? -104f : x; // NaN compares false and stays NaN
        z = z > 89f ? 89f : z;
        // Math.fma rounds once, as the lanes' fused multiply-adds do
        float t = Math.fma(z, 1.44269504088896341f, 12582912f);
        float k = t - 12582912f;
        float r = Math.fma(k, 2.12194440e-4f, Math.fma(k, -0.693359375f, z));
        float p = Math.fma(r, 1.9875691500e-4f, 1.3981999507e-3f);
        p = Math.fma(p, r, 8.3334519073e-3f);
        p = Math.fma(p, r, 4.1665795894e-2f);
        p = Math.fma(p, r, 1.6666665459e-1f);
        p = Math.fma(p, r, 5.0000001201e-1f);
        p = p * (r * r) + r + 1f;
        boolean low = z < -80f, high = z > 80f;
        if (low) t += 64f;
        if (high) t -= 64f;
        float scale = Float.intBitsToFloat((Float.floatToRawIntBits(t) + (127 - 0x4B400000)) << 23);
        return p * scale * (low ? 0x1p-64f : high ? 0x1p64f : 1f);
    }

    private static float logModel(float v) {
        boolean denormal = v < Float.MIN_NORMAL;
        int bits = Float.floatToRawIntBits(denormal ? v * 0x1p25f : v);
        float e = Float.intBitsToFloat((bits >>> 23) + 0x4B000000) - (8388608f + 126f);
        if (denormal) e -= 25f;
        float m = Float.intBitsToFloat((bits & 0x007FFFFF) | 0x3F000000);
        boolean below = m < 0.707106781186547524f;
        if (below) e -= 1f;
        float f = (below ? m + m : m) - 1f;
        float z = f * f;
        float p = f * 7.0376836292e-2f + -1.1514610310e-1f;
        p = p * f + 1.1676998740e-1f;
        p = p * f + -1.2420140846e-1f;
        p = p * f + 1.4249322787e-1f;
        p = p * f + -1.6668057665e-1f;
        p = p * f + 2.0000714765e-1f;
        p = p * f + -2.4999993993e-1f;
        p = p * f + 3.3333331174e-1f;
        float r = p * f * z + e * -2.12194440e-4f - z * 0.5f;
        r = f + r + e * 0.693359375f;
        if (v == 0f) r = Float.NEGATIVE_INFINITY;
        if (v == Float.POSITIVE_INFINITY) r = Float.POSITIVE_INFINITY;
        return v >= 0f ? r : Float.NaN;
    }

    private static float log1pModel(float v) {
        float d = v + 1f - 1f;
        float r = logModel(v + 1f) * (v / d);
        if (d == 0f) r = v;
        return v == Float.POSITIVE_INFINITY ? v : r;
    }

    private static float tanhModel(float v) {
        float e = expModel(Math.abs(v) * 2f);
        float z = v * v;
        float p = z * -5.70498872745e-3f + 2.06390887954e-2f;
        p = p * z + -5.37397155531e-2f;
        p = p * z + 1.33314422036e-1f;
        p = p * z + -3.33332819422e-1f;
        float small = p * z * v + v;
        float large = -(2f / (e + 1f)) + 1f;
        if (v < 0f) large = -large;
        float r = Math.abs(v) < 0.625f ? small : large;
        return v == 0f ? v : r;
    }

    private static float sigmoidModel(float v) {
        float e = expModel(Math.abs(v) * -1f);
        return (v >= 0f ? 1f : e) / (e + 1f);
    }

    private static float softplusModel(float v, boolean logSigmoid) {
        float t = log1pModel(expModel(Math.abs(v) * -1f));
        return logSigmoid ? Math.min(v, 0f) - t : Math.max(v, 0f) + t;
    }

    private static float[] map(float[] x, Function<Float, Float> f) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) y[i] = f.apply(x[i]);
        return y;
    }

    @Test
    void everyLaneComputesTheSameFloatArithmeticAsTheScalarFormulas() {
        float[] x = concat(mixedInputs(7, 4096), binades(Float.MIN_VALUE, Float.MAX_VALUE, 20_000),
                negated(binades(Float.MIN_VALUE, Float.MAX_VALUE, 20_000)));
        float[] abs = map(x, Math::abs);
        assertSameBits("exp", map(x, VectorMathTest::expModel), apply(EXP, x));
        assertSameBits("log", map(abs, VectorMathTest::logModel), apply(LOG, abs));
        assertSameBits("log of negatives", map(x, VectorMathTest::logModel), apply(LOG, x));
        assertSameBits("log1p", map(x, VectorMathTest::log1pModel), apply(LOG1P, x));
        assertSameBits("tanh", map(x, VectorMathTest::tanhModel), apply(TANH, x));
        assertSameBits("sigmoid", map(x, VectorMathTest::sigmoidModel), apply(SIGMOID, x));
        assertSameBits("softplus", map(x, v -> softplusModel(v, false)), apply(SOFTPLUS, x));
        assertSameBits("logSigmoid", map(x, v -> softplusModel(v, true)), apply(LOG_SIGMOID, x));
        float[] affine = new float[x.length];
        VectorMath.exp(x, 0, affine, 0, x.length, 0.7f, 2.5f);
        assertSameBits("exp(0.7 x - 2.5)", map(x, v -> expModel(v * 0.7f - 2.5f)), affine);
    }

    @Test
    void anElementDoesNotDependOnWhereItsRunStartsOrEnds() {
        float[] x = mixedInputs(11, 300);
        Map<String, ArrayFn> functions = functions();
        for (Map.Entry<String, ArrayFn> f : functions.entrySet()) {
            float[] whole = new float[x.length];
            f.getValue().apply(x, 0, whole, 0, x.length);
            float[] pieces = new float[x.length + 5];
            // runs of awkward lengths at awkward offsets, written at an offset of 5
            for (int from = 0, len = 1; from < x.length; from += len, len = len % 37 + 3) {
                int n = Math.min(len, x.length - from);
                f.getValue().apply(x, from, pieces, from + 5, n);
            }
            assertSameBits(f.getKey() + " in pieces", whole, Arrays.copyOfRange(pieces, 5, pieces.length));
            float[] inPlace = x.clone();
            f.getValue().apply(inPlace, 0, inPlace, 0, inPlace.length);
            assertSameBits(f.getKey() + " in place", whole, inPlace);
        }
    }

    private static Map<String, ArrayFn> functions() {
        Map<String, ArrayFn> functions = new LinkedHashMap<>();
        functions.put("exp", EXP);
        functions.put("log", LOG);
        functions.put("log1p", LOG1P);
        functions.put("tanh", TANH);
        functions.put("sigmoid", SIGMOID);
        functions.put("softplus", SOFTPLUS);
        functions.put("logSigmoid", LOG_SIGMOID);
        return functions;
    }

    // ---- cold (just loaded, interpreted) against warm (after 20000 calls, compiled) ----

    /**
     * A class loader that loads the tensor module's classes again, from where this JVM found them, so that their
     * methods start out interpreted however much the rest of the test run has used their twins. Its classes skip
     * their warm-ups ({@link WarmUp}), which would otherwise compile them as they initialize.
     */
    private static URLClassLoader freshTensorClasses() {
        URL classes = VectorMath.class.getProtectionDomain().getCodeSource().getLocation();
        return new URLClassLoader(new URL[] {classes}, VectorMathTest.class.getClassLoader()) {
            // WarmUp reads the property when the first fresh class that warms up initializes
            private final String previous = System.setProperty("rlhf4j.warmup", "false");

            @Override
            public void close() throws java.io.IOException {
                if (previous == null) System.clearProperty("rlhf4j.warmup");
                else System.setProperty("rlhf4j.warmup", previous);
                super.close();
            }

            @Override
            protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
                if (!name.startsWith("org.rlhf4j.tensor.")) return super.loadClass(name, resolve);
                synchronized (getClassLoadingLock(name)) {
                    Class<?> c = findLoadedClass(name);
                    if (c == null) c = findClass(name);
                    if (resolve) resolveClass(c);
                    return c;
                }
            }
        };
    }

    private static Method method(Class<?> owner, String name, Class<?>... parameters) throws ReflectiveOperationException {
        Method m = owner.getDeclaredMethod(name, parameters);
        m.setAccessible(true);
        return m;
    }

    @Test
    void vectorMathGivesTheSameBitsInterpretedAndCompiled() throws Exception {
        float[] x = mixedInputs(3, 1000);
        Map<String, float[]> cold = new LinkedHashMap<>();
        try (URLClassLoader loader = freshTensorClasses()) {
            Class<?> math = loader.loadClass(VectorMath.class.getName());
            assertTrue(math != VectorMath.class, "the fresh loader must define its own VectorMath");
            Class<?>[] arrays = {float[].class, int.class, float[].class, int.class, int.class};
            for (String name : functions().keySet()) {
                float[] y = new float[x.length];
                if (name.equals("exp")) {
                    method(math, "exp", float[].class, int.class, float[].class, int.class, int.class, float.class,
                            float.class).invoke(null, x, 0, y, 0, x.length, 1f, 0f);
                } else {
                    method(math, name, arrays).invoke(null, x, 0, y, 0, x.length);
                }
                cold.put(name, y);
            }
        }
        for (Map.Entry<String, ArrayFn> f : functions().entrySet()) {
            float[] y = new float[x.length];
            for (int i = 0; i < WARM_CALLS; i++) f.getValue().apply(x, 0, y, 0, x.length);
            assertSameBits(f.getKey() + ": warm against cold", cold.get(f.getKey()), y);
        }
    }

    /** The public F32 paths that use VectorMath, as functions of one tensor. */
    private static Map<String, Function<Tensor, Object>> publicPaths(Tensor targets) {
        Map<String, Function<Tensor, Object>> paths = new LinkedHashMap<>();
        paths.put("exp", Tensor::exp);
        paths.put("log", t -> t.abs().log());
        paths.put("tanh", Tensor::tanh);
        paths.put("sigmoid", Tensor::sigmoid);
        paths.put("gelu", Tensor::gelu);
        paths.put("softplus", Tensor::softplus);
        paths.put("logSigmoid", Tensor::logSigmoid);
        paths.put("softmax", t -> NnOps.softmax(t, false));
        paths.put("logSoftmax", t -> NnOps.softmax(t, true));
        paths.put("tokenLogProbs", t -> NnOps.tokenLogProbs(t, targets, 0.7));
        return paths;
    }

    /** Every float of a result: a tensor, or the tensors of an array, one after the other. */
    private static float[] floats(Object result) throws ReflectiveOperationException {
        if (result instanceof Object[]) {
            float[] all = new float[0];
            for (Object part : (Object[]) result) all = concat(all, floats(part));
            return all;
        }
        return (float[]) result.getClass().getMethod("toFloatArray").invoke(result);
    }

    @Test
    void publicF32PathsGiveTheSameBitsInterpretedAndCompiled() throws Exception {
        int rows = 6, cols = 333; // not a multiple of any vector length
        float[] data = mixedInputs(5, rows * cols);
        for (int i = 0; i < data.length; i++) if (Float.isNaN(data[i]) || Float.isInfinite(data[i])) data[i] = 1f;
        int[] ids = {0, 17, 332, 100, 5, 250};
        Map<String, float[]> cold = new LinkedHashMap<>();
        try (URLClassLoader loader = freshTensorClasses()) {
            Class<?> tensor = loader.loadClass(Tensor.class.getName());
            Class<?> nn = loader.loadClass(NnOps.class.getName());
            assertTrue(tensor != Tensor.class, "the fresh loader must define its own Tensor");
            Object x = tensor.getMethod("of", float[].class, int[].class).invoke(null, data, new int[] {rows, cols});
            Object targets = tensor.getMethod("ofInts", int[].class, int[].class).invoke(null, ids, new int[] {rows});
            for (String name : publicPaths(null).keySet()) {
                Object y;
                switch (name) {
                    case "log": y = tensor.getMethod("log").invoke(tensor.getMethod("abs").invoke(x)); break;
                    case "softmax": y = nn.getMethod("softmax", tensor, boolean.class).invoke(null, x, false); break;
                    case "logSoftmax": y = nn.getMethod("softmax", tensor, boolean.class).invoke(null, x, true); break;
                    case "tokenLogProbs":
                        y = nn.getMethod("tokenLogProbs", tensor, tensor, double.class).invoke(null, x, targets, 0.7);
                        break;
                    default: y = tensor.getMethod(name).invoke(x);
                }
                cold.put(name, floats(y));
            }
        }
        Tensor x = Tensor.of(data, rows, cols);
        for (Map.Entry<String, Function<Tensor, Object>> path : publicPaths(Tensor.ofInts(ids, rows)).entrySet()) {
            Object y = null;
            for (int i = 0; i < WARM_CALLS; i++) y = path.getValue().apply(x);
            assertSameBits(path.getKey() + ": warm against cold", cold.get(path.getKey()), floats(y));
        }
    }

    @Test
    void elementwiseResultsDoNotDependOnTheThreadCount() {
        int saved = Parallel.threads();
        // 5 rows of 40001: with one thread each row is one run; with three, rows are cut into pieces of 13334
        Tensor x = Tensor.of(mixedInputs(13, 5 * 40_001), 5, 40_001);
        Map<String, float[]> single = new LinkedHashMap<>();
        try {
            Parallel.setThreads(1);
            for (Map.Entry<String, Function<Tensor, Object>> p : publicPaths(null).entrySet()) {
                if (p.getKey().contains("oftmax") || p.getKey().equals("tokenLogProbs")) continue;
                single.put(p.getKey(), ((Tensor) p.getValue().apply(x)).toFloatArray());
            }
            Parallel.setThreads(3);
            for (Map.Entry<String, float[]> s : single.entrySet()) {
                Tensor y = (Tensor) publicPaths(null).get(s.getKey()).apply(x);
                assertSameBits(s.getKey() + ": three threads against one", s.getValue(), y.toFloatArray());
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }
}
