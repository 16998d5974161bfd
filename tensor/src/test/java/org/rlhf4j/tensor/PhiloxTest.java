package org.rlhf4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PhiloxTest {
    // A seed and an offset with both 32-bit halves non-zero, so that a swapped or dropped word shows.
    private static final long SEED = 0x0123456789ABCDEFL;
    private static final long OFFSET = 0x0000000100000007L;

    private static int[] philox(int c0, int c1, int c2, int c3, int k0, int k1) {
        int[] out = new int[4];
        Philox.philox4x32_10(c0, c1, c2, c3, k0, k1, out);
        return out;
    }

    // ------------------------------------------------------------------------------------------------
    // The block function and the counter layout

    /**
     * Random123's published known-answer vectors for philox4x32_10 (its kat_vectors file: counter, key,
     * output), also reproduced by a separate C implementation written from the paper's definition.
     */
    @Test
    void blockFunctionMatchesRandom123KnownAnswers() {
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                philox(0, 0, 0, 0, 0, 0));
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                philox(-1, -1, -1, -1, -1, -1));
        assertArrayEquals(new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
                philox(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0));
    }

    @Test
    void blockFunctionWritesAtTheGivenOffset() {
        int[] out = new int[7];
        Philox.philox4x32_10(0, 0, 0, 0, 0, 0, out, 2);
        assertArrayEquals(new int[] {0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8, 0}, out);
    }

    @Test
    void blockPutsTheBlockIndexInWords01TheOffsetInWords23AndTheSeedInTheKey() {
        long block = 0x0000000500000009L;
        int[] got = new int[4];
        Philox.block(SEED, OFFSET, block, got);
        assertArrayEquals(philox(9, 5, 7, 1, 0x89ABCDEF, 0x01234567), got);
    }

    @Test
    void blocksUsedCountsDistinctBlocksOfAFill() {
        assertEquals(0, Philox.blocksUsed(0, false));
        assertEquals(1, Philox.blocksUsed(1, false));
        assertEquals(1, Philox.blocksUsed(4, false));
        assertEquals(2, Philox.blocksUsed(5, false));
        assertEquals(0, Philox.blocksUsed(0, true));
        assertEquals(1, Philox.blocksUsed(2, true));
        assertEquals(2, Philox.blocksUsed(3, true));
        assertEquals(1L << 61, Philox.blocksUsed(Long.MAX_VALUE, false)); // 2^63 - 1 elements, no overflow
        assertEquals(1L << 62, Philox.blocksUsed(Long.MAX_VALUE, true));
        assertThrows(IllegalArgumentException.class, () -> Philox.blocksUsed(-1, false));
    }

    // ------------------------------------------------------------------------------------------------
    // Golden values of the streams, from a separate C implementation of the class comment's definitions
    // (gcc -ffp-contract=off, glibc libm). A device kernel must reproduce the same tables.

    @Test
    void uniformF32StreamMatchesGoldenBits() {
        assertFloatBits(new int[] {0x3f3bc5bc, 0x3e9418a8, 0x3f2b552d, 0x3e985652,
                0x3ee86dd4, 0x3e865320, 0x3f7e3912, 0x3ee264fa}, fillUniformF32(8, 0, 0f, 1f));
        assertFloatBits(new int[] {0x3ff78b78, 0x3e20c540, 0x3fd6aa5a, 0x3e42b290,
                0x3f50dba8, 0x3d4a6400, 0x403e3912, 0x3f44c9f4}, fillUniformF32(8, 0, -1f, 3f));
    }

    @Test
    void uniformF64StreamMatchesGoldenBits() {
        assertDoubleBits(new long[] {0x3fe778b799283151L, 0x3fe56aa5b930aca7L, 0x3fdd0dba82194c80L,
                0x3fefc72251c4c9f6L}, fillUniformF64(4, 0, 0, 1));
        assertDoubleBits(new long[] {0x3ffef16f325062a2L, 0x3ffad54b7261594eL, 0x3fea1b7504329900L,
                0x4007c72251c4c9f6L}, fillUniformF64(4, 0, -1, 3));
    }

    /** Normals go through log, sin and cos, which may differ in the last double bit between libraries. */
    @Test
    void normalF32StreamMatchesGoldenValuesWithinOneUlp() {
        assertWithinOneUlp(new int[] {0xbe44d272, 0x3f437577, 0xbe8702ef, 0x3f5b4415,
                0xbdc792a0, 0x3fa061f8, 0xbde1f39b, 0x3d2bcf56}, fillNormalF32(8, 0, 0f, 1f));
        assertWithinOneUlp(new int[] {0x3decb637, 0x4001babc, 0xbce05def, 0x400da20b,
                0x3e9c36b0, 0x404061f8, 0x3e8f0632, 0x3f1579eb}, fillNormalF32(8, 0, 0.5f, 2f));
    }

    @Test
    void normalF64StreamMatchesGoldenValues() {
        long[] standard = {0xbfd87a5a67c860adL, 0xbfe605b0ddd9494fL, 0x3ff416d9361415a1L, 0xbfac0e6dec83127bL};
        long[] shifted = {0xbfd0f4b4cf90c15aL, 0xbfec0b61bbb2929eL, 0x400816d9361415a1L, 0x3fd8fc6484df3b61L};
        double[] gotStandard = fillNormalF64(4, 0, 0, 1), gotShifted = fillNormalF64(4, 0, 0.5, 2);
        for (int i = 0; i < 4; i++) {
            assertEquals(Double.longBitsToDouble(standard[i]), gotStandard[i], 1e-15, "element " + i);
            assertEquals(Double.longBitsToDouble(shifted[i]), gotShifted[i], 1e-15, "element " + i);
        }
    }

    @Test
    void uniformF32IsTheTop24BitsOfItsWord() {
        float[] got = fillUniformF32(12, 0, 0f, 1f);
        int[] words = new int[4];
        for (int i = 0; i < got.length; i++) {
            Philox.block(SEED, OFFSET, i / 4, words);
            assertEquals((words[i % 4] >>> 8) / 16777216.0f, got[i], 0f, "element " + i);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Splitting a fill

    @Test
    void fillsAreTheSameWhateverTheChunking() {
        int n = 1003;
        float[] uniformF32 = fillUniformF32(n, 0, -2f, 5f), normalF32 = fillNormalF32(n, 0, 1f, 3f);
        double[] uniformF64 = fillUniformF64(n, 0, -2, 5), normalF64 = fillNormalF64(n, 0, 1, 3);
        Random chunking = new Random(42);
        for (int trial = 0; trial < 20; trial++) {
            float[] u32 = new float[n], n32 = new float[n];
            double[] u64 = new double[n], n64 = new double[n];
            for (int from = 0; from < n; ) {
                int count = Math.min(n - from, chunking.nextInt(11)); // empty chunks too
                Philox.fillUniform(u32, from, count, from, SEED, OFFSET, -2f, 5f);
                Philox.fillNormal(n32, from, count, from, SEED, OFFSET, 1f, 3f);
                Philox.fillUniform(u64, from, count, from, SEED, OFFSET, -2, 5);
                Philox.fillNormal(n64, from, count, from, SEED, OFFSET, 1, 3);
                from += count;
            }
            assertArrayEquals(uniformF32, u32);
            assertArrayEquals(normalF32, n32);
            assertArrayEquals(uniformF64, u64);
            assertArrayEquals(normalF64, n64);
        }
    }

    @Test
    void aFillStartingMidBlockIsTheSliceOfTheWholeFill() {
        float[] whole = fillNormalF32(40, 0, 0f, 1f);
        for (int first = 0; first < 9; first++) {
            float[] part = new float[3 + 5];
            Philox.fillNormal(part, 3, 5, first, SEED, OFFSET, 0f, 1f);
            assertArrayEquals(Arrays.copyOfRange(whole, first, first + 5), Arrays.copyOfRange(part, 3, 8));
            assertEquals(0f, part[0]); // nothing written before dstOff
        }
        double[] wholeF64 = fillUniformF64(40, 0, 0, 1);
        double[] part = new double[5];
        Philox.fillUniform(part, 0, 5, 7, SEED, OFFSET, 0, 1);
        assertArrayEquals(Arrays.copyOfRange(wholeF64, 7, 12), part);
    }

    @Test
    void parallelFillsEqualTheSerialFill() {
        int n = 1 << 16, chunk = 999;
        float[] serial = fillNormalF32(n, 0, 0f, 1f);
        float[] parallel = new float[n];
        IntStream.range(0, (n + chunk - 1) / chunk).parallel().forEach(c -> {
            int from = c * chunk, count = Math.min(chunk, n - from);
            Philox.fillNormal(parallel, from, count, from, SEED, OFFSET, 0f, 1f);
        });
        assertArrayEquals(serial, parallel);
    }

    @Test
    void elementsFarIntoTheStreamUseTheHighBlockWord() {
        long far = (1L << 34) + 6; // block index 2^32 + 1: high counter word 1, low word 1
        float[] got = new float[2];
        Philox.fillUniform(got, 0, 2, far, SEED, OFFSET, 0f, 1f);
        int[] words = new int[4];
        Philox.philox4x32_10(1, 1, 7, 1, 0x89ABCDEF, 0x01234567, words);
        assertEquals(Philox.uniformF32(words[2]), got[0]);
        assertEquals(Philox.uniformF32(words[3]), got[1]);
    }

    // ------------------------------------------------------------------------------------------------
    // Distributions. Tolerances are five standard errors of the estimate for the sample size.

    @Test
    void uniformF32HasTheMeanAndVarianceOfUniform() {
        int n = 1 << 20;
        float[] u = fillUniformF32(n, 0, 0f, 1f);
        assertAllIn(toDouble(u), 0, 1);
        assertMoments(toDouble(u), 0.5, 1.0 / 12, 1.0 / 180);

        float[] shifted = fillUniformF32(n, 0, -2f, 3f);
        assertAllIn(toDouble(shifted), -2, 3);
        assertMoments(toDouble(shifted), 0.5, 25.0 / 12, 625.0 / 180);
    }

    @Test
    void uniformF64HasTheMeanAndVarianceOfUniform() {
        int n = 1 << 19;
        double[] u = fillUniformF64(n, 0, -1, 1);
        assertAllIn(u, -1, 1);
        assertMoments(u, 0, 4.0 / 12, 16.0 / 180);
    }

    @Test
    void uniformsPassAKolmogorovSmirnovTest() {
        double[] f32 = toDouble(fillUniformF32(1 << 16, 0, 0f, 1f));
        assertKolmogorovSmirnov(f32, x -> x);
        assertKolmogorovSmirnov(fillUniformF64(1 << 16, 0, 0, 1), x -> x);
    }

    @Test
    void uniformF64CarriesAll53Bits() {
        double[] u = fillUniformF64(4096, 0, 0, 1);
        int belowF32Grid = 0, oddAt53 = 0;
        for (double v : u) {
            double scaled = v * 0x1.0p53;
            assertEquals(Math.rint(scaled), scaled, "not on the 2^-53 grid: " + v);
            if (v * 0x1.0p24 != Math.rint(v * 0x1.0p24)) belowF32Grid++;
            if (((long) scaled & 1) == 1) oddAt53++;
        }
        assertTrue(belowF32Grid > 4000, "values off the 2^-24 grid: " + belowF32Grid);
        assertTrue(Math.abs(oddAt53 - 2048) < 5 * 32, "values with the lowest bit set: " + oddAt53);
    }

    @Test
    void normalF32HasTheMomentsOfAStandardNormal() {
        int n = 1 << 20;
        double[] z = toDouble(fillNormalF32(n, 0, 0f, 1f));
        assertMoments(z, 0, 1, 2);
        // Fourth moment 3 with variance E[z^8] - 9 = 96.
        double fourth = Arrays.stream(z).map(v -> v * v * v * v).sum() / n;
        assertEquals(3, fourth, 5 * Math.sqrt(96.0 / n));
        assertTrue(Arrays.stream(z).allMatch(v -> Math.abs(v) <= 6.67), "a value beyond 6.67 sigma");
    }

    @Test
    void normalF32AppliesMeanAndStd() {
        int n = 1 << 18;
        double[] x = toDouble(fillNormalF32(n, 0, -3f, 0.5f));
        assertMoments(x, -3, 0.25, 2 * 0.25 * 0.25);
    }

    @Test
    void normalF64HasTheMomentsOfANormal() {
        int n = 1 << 19;
        assertMoments(fillNormalF64(n, 0, 0, 1), 0, 1, 2);
        assertMoments(fillNormalF64(n, 0, 2, 3), 2, 9, 2 * 81);
    }

    @Test
    void normalsPassAKolmogorovSmirnovTest() {
        assertKolmogorovSmirnov(toDouble(fillNormalF32(1 << 16, 0, 0f, 1f)), PhiloxTest::standardNormalCdf);
        assertKolmogorovSmirnov(fillNormalF64(1 << 16, 0, 0, 1), PhiloxTest::standardNormalCdf);
    }

    /** The cosine and sine halves of each Box-Muller pair must be uncorrelated (and not, say, equal). */
    @Test
    void normalPairsAreUncorrelated() {
        int n = 1 << 18;
        float[] z = fillNormalF32(n, 0, 0f, 1f);
        double sum = 0;
        for (int i = 0; i < n; i += 2) sum += (double) z[i] * z[i + 1];
        assertEquals(0, sum / (n / 2), 5 / Math.sqrt(n / 2.0));
        double[] z64 = fillNormalF64(n, 0, 0, 1);
        double sum64 = 0;
        for (int i = 0; i < n; i += 2) sum64 += z64[i] * z64[i + 1];
        assertEquals(0, sum64 / (n / 2), 5 / Math.sqrt(n / 2.0));
    }

    // ------------------------------------------------------------------------------------------------
    // Streams of different seeds and offsets

    @Test
    void differentOffsetsAndSeedsGiveDifferentStreams() {
        float[] base = fillUniformF32(64, 0, 0f, 1f);
        float[][] others = {
            fill32(SEED, OFFSET + 1), fill32(SEED, OFFSET ^ (1L << 32)), fill32(SEED, OFFSET ^ (1L << 63)),
            fill32(SEED + 1, OFFSET), fill32(SEED ^ (1L << 32), OFFSET), fill32(SEED ^ (1L << 63), OFFSET),
        };
        for (float[] other : others) {
            int equal = 0;
            for (int i = 0; i < base.length; i++) if (base[i] == other[i]) equal++;
            assertTrue(equal <= 1, "streams share " + equal + " of 64 values");
        }
    }

    @Test
    void clampingKeepsUniformsBelowHiWhenRoundingReachesIt() {
        // Floats near 2^24 are 2 apart, so lo + 2u rounds up to hi for about half of the draws.
        float[] f = new float[1000];
        Philox.fillUniform(f, 0, f.length, 0, SEED, OFFSET, 16777216f, 16777218f);
        for (float v : f) assertEquals(16777216f, v);
        double[] d = new double[1000];
        Philox.fillUniform(d, 0, d.length, 0, SEED, OFFSET, 0x1.0p53, 0x1.0p53 + 2);
        for (double v : d) assertEquals(0x1.0p53, v);
    }

    @Test
    void anEmptyRangeGivesItsBound() {
        float[] f = new float[9];
        Philox.fillUniform(f, 0, f.length, 0, SEED, OFFSET, 1.5f, 1.5f);
        for (float v : f) assertEquals(1.5f, v);
        double[] d = new double[9];
        Philox.fillNormal(d, 0, d.length, 0, SEED, OFFSET, 4, 0);
        for (double v : d) assertEquals(4, v);
    }

    @Test
    void badArgumentsFailWithTheValuesFound() {
        float[] f = new float[8];
        double[] d = new double[8];
        var reversed = assertThrows(IllegalArgumentException.class,
                () -> Philox.fillUniform(f, 0, 8, 0, SEED, OFFSET, 2f, 1f));
        assertTrue(reversed.getMessage().contains("lo=2.0"), reversed.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Philox.fillUniform(f, 0, 8, 0, SEED, OFFSET, -Float.MAX_VALUE, Float.MAX_VALUE));
        assertThrows(IllegalArgumentException.class, () -> Philox.fillUniform(d, 0, 8, 0, SEED, OFFSET, 0, Double.NaN));
        var negativeStd = assertThrows(IllegalArgumentException.class,
                () -> Philox.fillNormal(f, 0, 8, 0, SEED, OFFSET, 0f, -1f));
        assertTrue(negativeStd.getMessage().contains("std=-1.0"), negativeStd.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Philox.fillNormal(d, 0, 8, 0, SEED, OFFSET, Double.NaN, 1));
        var tooLong = assertThrows(IndexOutOfBoundsException.class,
                () -> Philox.fillNormal(d, 4, 5, 0, SEED, OFFSET, 0, 1));
        assertTrue(tooLong.getMessage().contains("length 8"), tooLong.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Philox.fillUniform(f, 0, 1, -1, SEED, OFFSET, 0f, 1f));
        assertThrows(IllegalArgumentException.class,
                () -> Philox.fillUniform(f, 0, 2, Long.MAX_VALUE - 1, SEED, OFFSET, 0f, 1f));
        Philox.fillUniform(f, 8, 0, 0, SEED, OFFSET, 0f, 1f); // an empty fill at the end is fine
    }

    // ------------------------------------------------------------------------------------------------
    // Generator

    @Test
    void generatorHandsOutEachOffsetOnceAndManualSeedRestarts() {
        Generator g = new Generator(7);
        assertEquals(7, g.seed());
        assertEquals(0, g.nextOffset());
        assertEquals(1, g.nextOffset());
        assertEquals(2, g.offset());
        g.manualSeed(11);
        assertEquals(11, g.seed());
        assertEquals(0, g.offset());
    }

    @Test
    void restoringTheStateReplaysTheSameNumbers() {
        Generator g = new Generator(SEED);
        g.nextOffset();
        Generator.State saved = g.state();
        float[] first = fill32(g.seed(), g.nextOffset());
        float[] second = fill32(g.seed(), g.nextOffset());
        assertFalse(Arrays.equals(first, second));
        g.setState(saved);
        assertEquals(new Generator.State(SEED, 1), g.state());
        assertArrayEquals(first, fill32(g.seed(), g.nextOffset()));
        assertArrayEquals(second, fill32(g.seed(), g.nextOffset()));
    }

    @Test
    void concurrentCallersNeverShareAnOffset() throws InterruptedException {
        Generator g = new Generator(1);
        Set<Long> seen = ConcurrentHashMap.newKeySet();
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                for (int i = 0; i < 10_000; i++) assertTrue(seen.add(g.nextOffset()));
            });
            threads[t].start();
        }
        for (Thread t : threads) t.join();
        assertEquals(40_000, seen.size());
        assertEquals(40_000, g.offset());
    }

    @Test
    void defaultGeneratorIsOneProcessWideInstance() {
        assertTrue(Generator.defaultGenerator() == Generator.defaultGenerator());
        assertNotEquals(null, Generator.defaultGenerator().toString());
    }

    @Test
    void seedPropertyIsReadAsDecimalOrHex() {
        assertEquals(Generator.DEFAULT_SEED, Generator.parseSeed(null));
        assertEquals(Generator.DEFAULT_SEED, Generator.parseSeed("  "));
        assertEquals(42, Generator.parseSeed("42"));
        assertEquals(-5, Generator.parseSeed(" -5 "));
        assertEquals(255, Generator.parseSeed("0xff"));
        var bad = assertThrows(IllegalArgumentException.class, () -> Generator.parseSeed("seven"));
        assertTrue(bad.getMessage().contains("rlhf4j.seed") && bad.getMessage().contains("seven"), bad.getMessage());
    }

    // ------------------------------------------------------------------------------------------------
    // Helpers

    private static float[] fill32(long seed, long offset) {
        float[] out = new float[64];
        Philox.fillUniform(out, 0, out.length, 0, seed, offset, 0f, 1f);
        return out;
    }

    private static float[] fillUniformF32(int n, long first, float lo, float hi) {
        float[] out = new float[n];
        Philox.fillUniform(out, 0, n, first, SEED, OFFSET, lo, hi);
        return out;
    }

    private static double[] fillUniformF64(int n, long first, double lo, double hi) {
        double[] out = new double[n];
        Philox.fillUniform(out, 0, n, first, SEED, OFFSET, lo, hi);
        return out;
    }

    private static float[] fillNormalF32(int n, long first, float mean, float std) {
        float[] out = new float[n];
        Philox.fillNormal(out, 0, n, first, SEED, OFFSET, mean, std);
        return out;
    }

    private static double[] fillNormalF64(int n, long first, double mean, double std) {
        double[] out = new double[n];
        Philox.fillNormal(out, 0, n, first, SEED, OFFSET, mean, std);
        return out;
    }

    private static double[] toDouble(float[] xs) {
        double[] out = new double[xs.length];
        for (int i = 0; i < xs.length; i++) out[i] = xs[i];
        return out;
    }

    private static void assertFloatBits(int[] expected, float[] got) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Integer.toHexString(expected[i]), Integer.toHexString(Float.floatToRawIntBits(got[i])),
                    "element " + i);
        }
    }

    private static void assertDoubleBits(long[] expected, double[] got) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Long.toHexString(expected[i]), Long.toHexString(Double.doubleToRawLongBits(got[i])),
                    "element " + i);
        }
    }

    private static void assertWithinOneUlp(int[] expected, float[] got) {
        for (int i = 0; i < expected.length; i++) {
            float want = Float.intBitsToFloat(expected[i]);
            assertEquals(want, got[i], Math.ulp(want), "element " + i);
        }
    }

    private static void assertAllIn(double[] xs, double lo, double hi) {
        for (double x : xs) {
            if (!(x >= lo && x < hi)) throw new AssertionError(x + " is out of [" + lo + ", " + hi + ")");
        }
    }

    /**
     * Sample mean within five standard errors of {@code mean}, and sample variance within five standard errors
     * of {@code variance}; {@code varianceOfSquare} is Var[(x - mean)^2], which sets the latter.
     */
    private static void assertMoments(double[] xs, double mean, double variance, double varianceOfSquare) {
        int n = xs.length;
        double sum = 0, sumSq = 0;
        for (double x : xs) {
            sum += x;
            sumSq += (x - mean) * (x - mean);
        }
        assertEquals(mean, sum / n, 5 * Math.sqrt(variance / n), "mean");
        assertEquals(variance, sumSq / n, 5 * Math.sqrt(varianceOfSquare / n), "variance");
    }

    /** Kolmogorov-Smirnov at the 0.1% level: sqrt(n) D below 1.95. */
    private static void assertKolmogorovSmirnov(double[] xs, java.util.function.DoubleUnaryOperator cdf) {
        double[] sorted = xs.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        double d = 0;
        for (int i = 0; i < n; i++) {
            double f = cdf.applyAsDouble(sorted[i]);
            d = Math.max(d, Math.max(f - (double) i / n, (double) (i + 1) / n - f));
        }
        assertTrue(Math.sqrt(n) * d < 1.95, "KS statistic sqrt(n) D = " + Math.sqrt(n) * d);
    }

    /** Phi(x) = erfc(-x / sqrt 2) / 2, with the Chebyshev erfc of Numerical Recipes (relative error < 1.2e-7). */
    private static double standardNormalCdf(double x) {
        double z = -x / Math.sqrt(2), a = Math.abs(z);
        double t = 1 / (1 + 0.5 * a);
        double erfc = t * Math.exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return 0.5 * (z >= 0 ? erfc : 2 - erfc);
    }
}
