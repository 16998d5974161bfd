package org.rlhf4j.tensor;

/**
 * Philox4x32-10, the counter-based generator of Random123 (Salmon et al., "Parallel random numbers: as easy as
 * 1, 2, 3", SC11), and the streams that every rlhf4j backend derives from it. The CPU fills here are the
 * reference; a device kernel reproduces them from the definitions below, so a seed gives the same tensor on
 * any device and any thread count.
 *
 * <h2>The block function</h2>
 * {@code philox4x32_10(c0, c1, c2, c3, k0, k1)} maps a 128-bit counter and a 64-bit key to four 32-bit words,
 * all arithmetic on unsigned 32-bit integers modulo 2<sup>32</sup>. Ten times:
 * <pre>
 *   (hi0, lo0) = 0xD2511F53 * c0        full 64-bit product, high and low words
 *   (hi1, lo1) = 0xCD9E8D57 * c2
 *   (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0,  lo1,  hi0 ^ c3 ^ k1,  lo0)
 *   k0 += 0x9E3779B9;  k1 += 0xBB67AE85  (between rounds; a bump after the tenth changes nothing)
 * </pre>
 * and the output is {@code (w0, w1, w2, w3) = (c0, c1, c2, c3)}. This is Random123's {@code philox4x32_R(10, ...)};
 * its published known-answer vectors are pinned in the tests.
 *
 * <h2>Counter and key of a fill</h2>
 * A fill draws a tensor's elements from one {@code (seed, offset)} pair, both 64-bit (see {@link Generator}).
 * Element {@code i} counts the destination in row-major logical order (0 is the first element of the logical
 * tensor, whatever its strides). Its numbers come from block {@code j}:
 * <pre>
 *   key     (k0, k1)          = (low32(seed),  high32(seed))
 *   counter (c0, c1, c2, c3)  = (low32(j), high32(j), low32(offset), high32(offset))
 * </pre>
 * The block index fills counter words 0-1 and the offset words 2-3, so one fill of up to 2<sup>64</sup> blocks
 * never repeats a counter, and two fills with different offsets never share one. That is why a generator
 * advances its offset by exactly one per fill, whatever the size ({@link Generator#nextOffset()}).
 *
 * <h2>Uniform, F32: four elements per block</h2>
 * Element {@code i} uses word {@code w = w[i % 4]} of block {@code j = i / 4}:
 * <pre>
 *   u = (w &gt;&gt;&gt; 8) * 2^-24                     in [0, 1), exact in float
 *   v = lo + (hi - lo) * u                      float ops, each rounded to nearest; no FMA contraction
 *   if (v &gt;= hi &amp;&amp; lo &lt; hi) v = nextDown(hi)   rounding can reach hi; this keeps the range half-open
 * </pre>
 * For {@code lo = 0, hi = 1} the value is {@code u} itself.
 *
 * <h2>Uniform, F64: two elements per block</h2>
 * Element {@code i} uses block {@code j = i / 2} and the word pair {@code (a, b) = (w[2(i%2)], w[2(i%2)+1])}:
 * <pre>
 *   u = ((a &gt;&gt;&gt; 5) * 2^26 + (b &gt;&gt;&gt; 6)) * 2^-53    53 random bits in [0, 1), exact in double
 *   v = lo + (hi - lo) * u, then the same clamp, in double
 * </pre>
 *
 * <h2>Normal, F32: four elements per block (Box-Muller)</h2>
 * Block {@code j} yields elements {@code 4j .. 4j+3} from two word pairs, {@code (w0, w1)} for elements
 * {@code 4j, 4j+1} and {@code (w2, w3)} for {@code 4j+2, 4j+3}. For a pair {@code (a, b)}, all in double:
 * <pre>
 *   r     = (a + 1) * 2^-32                     in (0, 1], so log never sees 0; a, b unsigned
 *   t     = b * 2^-32                           in [0, 1)
 *   rho   = sqrt(-2 * log(r))
 *   theta = TWO_PI * t                          TWO_PI = 6.283185307179586 (2 pi rounded to double)
 *   first  element = (float) (mean + std * (rho * cos(theta)))
 *   second element = (float) (mean + std * (rho * sin(theta)))
 * </pre>
 * with {@code mean} and {@code std} widened from float, each double operation rounded on its own (no FMA), and
 * one rounding to float at the end. The largest magnitude is {@code sqrt(64 ln 2) = 6.66} standard deviations.
 * Here the transcendental functions are {@link StrictMath}'s (fdlibm), so the CPU result is the same on every
 * JVM and platform. A device's double {@code log}, {@code sin} and {@code cos} may differ from fdlibm in the
 * last double bit; after the rounding to float that shows only when the double result lies next to a float
 * rounding boundary (no value of a million differed between fdlibm and glibc's libm), so device tests compare
 * F32 normals within one float ulp and uniforms bit for bit.
 *
 * <h2>Normal, F64: two elements per block</h2>
 * Block {@code j} yields elements {@code 2j, 2j+1}:
 * <pre>
 *   r = (bits53(w0, w1) + 1) * 2^-53   in (0, 1];    t = bits53(w2, w3) * 2^-53   in [0, 1)
 *   element 2j = mean + std * (rho * cos(theta));  element 2j+1 = mean + std * (rho * sin(theta))
 * </pre>
 * where {@code bits53(a, b) = (a >>> 5) * 2^26 + (b >>> 6)} and {@code rho, theta} are as for F32. With no
 * final rounding to float, a device's F64 normals match these within a few double ulps, not bit for bit.
 *
 * <h2>Splitting a fill</h2>
 * Every element is a function of {@code (seed, offset, i)} alone, so the fills below can start at any element
 * (in the middle of a block too): filling {@code [0, n)} at once and filling it in any chunks, on any threads,
 * write the same values.
 */
public final class Philox {
    /** Round multipliers and Weyl key increments of Philox4x32 (Random123). */
    public static final int M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    public static final int W0 = 0x9E3779B9, W1 = 0xBB67AE85;
    public static final int ROUNDS = 10;

    /** Elements one block yields: 4 for F32 (one word each), 2 for F64 (two words each); same for normals. */
    public static final int F32_PER_BLOCK = 4, F64_PER_BLOCK = 2;

    /** 2 pi rounded to double; the Box-Muller angle is {@code TWO_PI * t}. */
    public static final double TWO_PI = 6.283185307179586;

    private static final long UNSIGNED = 0xFFFF_FFFFL;
    private static final float TWO_POW_M24 = 0x1.0p-24f;
    private static final double TWO_POW_M32 = 0x1.0p-32, TWO_POW_M53 = 0x1.0p-53;

    private Philox() {}

    /** Philox4x32-10 of counter {@code (c0..c3)} and key {@code (k0, k1)}; writes four words to {@code out[outOff..]}. */
    public static void philox4x32_10(int c0, int c1, int c2, int c3, int k0, int k1, int[] out, int outOff) {
        for (int round = 0; round < ROUNDS; round++) {
            long p0 = (M0 & UNSIGNED) * (c0 & UNSIGNED); // < 2^64: exact as an unsigned long
            long p1 = (M1 & UNSIGNED) * (c2 & UNSIGNED);
            int next0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int next2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            c1 = (int) p1;
            c3 = (int) p0;
            c0 = next0;
            c2 = next2;
            k0 += W0;
            k1 += W1;
        }
        out[outOff] = c0;
        out[outOff + 1] = c1;
        out[outOff + 2] = c2;
        out[outOff + 3] = c3;
    }

    /** Philox4x32-10 of counter {@code (c0..c3)} and key {@code (k0, k1)} into {@code out4[0..3]}. */
    public static void philox4x32_10(int c0, int c1, int c2, int c3, int k0, int k1, int[] out4) {
        philox4x32_10(c0, c1, c2, c3, k0, k1, out4, 0);
    }

    /** The four words of block {@code block} of the fill {@code (seed, offset)}, with the counter and key above. */
    public static void block(long seed, long offset, long block, int[] out4) {
        philox4x32_10((int) block, (int) (block >>> 32), (int) offset, (int) (offset >>> 32),
                (int) seed, (int) (seed >>> 32), out4, 0);
    }

    /**
     * Distinct blocks a fill of {@code numel} elements reads: {@code ceil(numel / 4)} for F32,
     * {@code ceil(numel / 2)} for F64 (a kernel's launch size). A generator does not need it: it advances its
     * offset by one per fill whatever the size, since the block index has counter words 0-1 to itself.
     */
    public static long blocksUsed(long numel, boolean isDouble) {
        if (numel < 0) throw new IllegalArgumentException("blocksUsed: numel must be >= 0, found " + numel);
        int perBlock = isDouble ? F64_PER_BLOCK : F32_PER_BLOCK;
        return numel / perBlock + (numel % perBlock == 0 ? 0 : 1);
    }

    /** The F32 uniform in [0, 1) of one word: its top 24 bits. */
    public static float uniformF32(int word) {
        return (word >>> 8) * TWO_POW_M24;
    }

    /** The F64 uniform in [0, 1) of a word pair: 27 bits of {@code a} above 26 bits of {@code b}. */
    public static double uniformF64(int a, int b) {
        return bits53(a, b) * TWO_POW_M53;
    }

    private static long bits53(int a, int b) {
        return ((long) (a >>> 5) << 26) | (b >>> 6);
    }

    // ---------------------------------------------------------------------------------------------------
    // Bulk fills. Each writes logical elements [firstElement, firstElement + count) of the fill (seed, offset)
    // to dst[dstOff .. dstOff + count), contiguously.

    /** Uniform F32 in {@code [lo, hi)}; see the class comment for the exact mapping. */
    public static void fillUniform(float[] dst, int dstOff, int count, long firstElement, long seed, long offset,
                                   float lo, float hi) {
        checkRange("fillUniform", dst.length, dstOff, count, firstElement);
        float range = hi - lo;
        checkBounds(lo, hi, range);
        float below = Math.nextDown(hi);
        int[] words = new int[4];
        long i = firstElement, end = firstElement + count;
        int d = dstOff;
        while (i < end) {
            long j = i >>> 2;
            block(seed, offset, j, words);
            int stop = (int) Math.min(4, end - (j << 2));
            for (int w = (int) (i & 3); w < stop; w++) {
                float v = lo + range * uniformF32(words[w]);
                if (v >= hi && lo < hi) v = below;
                dst[d++] = v;
            }
            i = (j + 1) << 2;
        }
    }

    /** Uniform F64 in {@code [lo, hi)}; see the class comment for the exact mapping. */
    public static void fillUniform(double[] dst, int dstOff, int count, long firstElement, long seed, long offset,
                                   double lo, double hi) {
        checkRange("fillUniform", dst.length, dstOff, count, firstElement);
        double range = hi - lo;
        checkBounds(lo, hi, range);
        double below = Math.nextDown(hi);
        int[] words = new int[4];
        long i = firstElement, end = firstElement + count;
        int d = dstOff;
        while (i < end) {
            long j = i >>> 1;
            block(seed, offset, j, words);
            int stop = (int) Math.min(2, end - (j << 1));
            for (int e = (int) (i & 1); e < stop; e++) {
                double v = lo + range * uniformF64(words[2 * e], words[2 * e + 1]);
                if (v >= hi && lo < hi) v = below;
                dst[d++] = v;
            }
            i = (j + 1) << 1;
        }
    }

    /** Normal F32 with {@code mean} and {@code std} (Box-Muller in double); see the class comment. */
    public static void fillNormal(float[] dst, int dstOff, int count, long firstElement, long seed, long offset,
                                  float mean, float std) {
        checkRange("fillNormal", dst.length, dstOff, count, firstElement);
        checkNormal(mean, std);
        double m = mean, s = std;
        int[] words = new int[4];
        long i = firstElement, end = firstElement + count;
        int d = dstOff;
        while (i < end) {
            long j = i >>> 2;
            block(seed, offset, j, words);
            int stop = (int) Math.min(4, end - (j << 2));
            int pair = -1;
            double rho = 0, theta = 0;
            for (int w = (int) (i & 3); w < stop; w++) {
                if (w >> 1 != pair) {
                    pair = w >> 1;
                    double r = ((words[2 * pair] & UNSIGNED) + 1) * TWO_POW_M32;
                    rho = StrictMath.sqrt(-2.0 * StrictMath.log(r));
                    theta = TWO_PI * ((words[2 * pair + 1] & UNSIGNED) * TWO_POW_M32);
                }
                double z = (w & 1) == 0 ? rho * StrictMath.cos(theta) : rho * StrictMath.sin(theta);
                dst[d++] = (float) (m + s * z);
            }
            i = (j + 1) << 2;
        }
    }

    /** Normal F64 with {@code mean} and {@code std} (Box-Muller on 53-bit uniforms); see the class comment. */
    public static void fillNormal(double[] dst, int dstOff, int count, long firstElement, long seed, long offset,
                                  double mean, double std) {
        checkRange("fillNormal", dst.length, dstOff, count, firstElement);
        checkNormal(mean, std);
        int[] words = new int[4];
        long i = firstElement, end = firstElement + count;
        int d = dstOff;
        while (i < end) {
            long j = i >>> 1;
            block(seed, offset, j, words);
            int stop = (int) Math.min(2, end - (j << 1));
            double r = (bits53(words[0], words[1]) + 1) * TWO_POW_M53;
            double rho = StrictMath.sqrt(-2.0 * StrictMath.log(r));
            double theta = TWO_PI * uniformF64(words[2], words[3]);
            for (int e = (int) (i & 1); e < stop; e++) {
                double z = e == 0 ? rho * StrictMath.cos(theta) : rho * StrictMath.sin(theta);
                dst[d++] = mean + std * z;
            }
            i = (j + 1) << 1;
        }
    }

    private static void checkRange(String op, int length, int dstOff, int count, long firstElement) {
        if (count < 0 || dstOff < 0 || dstOff > length - count) {
            throw new IndexOutOfBoundsException(op + ": " + count + " elements at offset " + dstOff
                    + " do not fit an array of length " + length);
        }
        if (firstElement < 0 || firstElement > Long.MAX_VALUE - count) {
            throw new IllegalArgumentException(op + ": first element must be in [0, 2^63 - count), found "
                    + firstElement);
        }
    }

    /** {@code range} is {@code hi - lo} in the fill's own precision, where it must not overflow. */
    private static void checkBounds(double lo, double hi, double range) {
        if (!(lo <= hi) || !Double.isFinite(range)) {
            throw new IllegalArgumentException("uniform: expected finite bounds with lo <= hi, found lo=" + lo
                    + ", hi=" + hi);
        }
    }

    private static void checkNormal(double mean, double std) {
        if (!Double.isFinite(mean) || !(std >= 0) || !Double.isFinite(std)) {
            throw new IllegalArgumentException("normal: expected a finite mean and a finite std >= 0, found mean="
                    + mean + ", std=" + std);
        }
    }
}
