package org.rlhf4j.transformer.io;

/**
 * Exact widening of the two 16-bit float formats of model files to F32. Every F16 and BF16 value, subnormals,
 * infinities and NaNs included, is representable in F32, so no rounding happens.
 */
public final class HalfFloats {
    private HalfFloats() {}

    /**
     * IEEE 754 binary16 (1 sign, 5 exponent bits with bias 15, 10 mantissa bits) to F32. NaN payloads are kept
     * (shifted into the top of the F32 mantissa).
     */
    public static float f16ToFloat(short half) {
        int bits = half & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1f;
        int mantissa = bits & 0x3ff;
        if (exponent == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13)); // inf, NaN
        if (exponent == 0) {
            // zero or subnormal: mantissa * 2^-24, exact in F32 (at most 10 significant bits)
            float magnitude = mantissa * 0x1p-24f;
            return sign != 0 ? -magnitude : magnitude;
        }
        // normal: rebias the exponent from 15 to 127
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    /** bfloat16 (the top 16 bits of an F32) to F32. */
    public static float bf16ToFloat(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xffff) << 16);
    }
}
