package org.rlhf4j.tensor;

/** Conversions between F32 and bfloat16 bits (the top half of an F32), as GPUs and PyTorch do them. */
public final class BFloat16 {
    private BFloat16() {}

    /** The float whose top 16 bits are {@code bits} (exact). */
    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** {@code f} rounded to the nearest bfloat16, ties to even; NaN stays a (quiet) NaN, infinities stay. */
    public static short fromFloat(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7FFFFFFF) > 0x7F800000) return (short) ((x >>> 16) | 0x0040); // NaN: keep sign, set quiet bit
        int rounded = x + 0x7FFF + ((x >>> 16) & 1);
        return (short) (rounded >>> 16);
    }
}
