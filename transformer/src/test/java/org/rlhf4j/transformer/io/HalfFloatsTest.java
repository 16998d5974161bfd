package org.rlhf4j.transformer.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HalfFloatsTest {

    private static float f16(int bits) {
        return HalfFloats.f16ToFloat((short) bits);
    }

    private static float bf16(int bits) {
        return HalfFloats.bf16ToFloat((short) bits);
    }

    private static void assertBits(float expected, float actual) {
        assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual),
                () -> "expected " + expected + " got " + actual);
    }

    @Test
    void f16HandEncodedValues() {
        assertBits(1.0f, f16(0x3C00));            // 0 01111 0000000000
        assertBits(-2.5f, f16(0xC100));           // 1 10000 0100000000: -(1 + 1/4) * 2
        assertBits(65504f, f16(0x7BFF));          // largest finite: (2 - 2^-10) * 2^15
        assertBits(0x1p-24f, f16(0x0001));        // smallest subnormal
        assertBits(1023 * 0x1p-24f, f16(0x03FF)); // largest subnormal
        assertBits(0x1p-14f, f16(0x0400));        // smallest normal
        assertBits(-0x1p-24f, f16(0x8001));
        assertBits(0.0f, f16(0x0000));
        assertBits(-0.0f, f16(0x8000));
        assertBits(0.333251953125f, f16(0x3555)); // nearest half to 1/3
        assertBits(Float.POSITIVE_INFINITY, f16(0x7C00));
        assertBits(Float.NEGATIVE_INFINITY, f16(0xFC00));
        assertTrue(Float.isNaN(f16(0x7E00)));
        assertTrue(Float.isNaN(f16(0x7C01)));     // smallest payload must not turn into infinity
        assertTrue(Float.isNaN(f16(0xFFFF)));
    }

    /** Every one of the 65536 patterns against the textbook formula, evaluated in double. */
    @Test
    void f16AllPatternsMatchTheFormula() {
        for (int bits = 0; bits < 0x10000; bits++) {
            int sign = bits >>> 15, exponent = (bits >>> 10) & 0x1f, mantissa = bits & 0x3ff;
            double magnitude;
            if (exponent == 31) magnitude = mantissa == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
            else if (exponent == 0) magnitude = mantissa / 1024.0 * Math.pow(2, -14);
            else magnitude = (1 + mantissa / 1024.0) * Math.pow(2, exponent - 15);
            double expected = sign == 1 ? -magnitude : magnitude;
            float actual = f16(bits);
            if (Double.isNaN(expected)) {
                assertTrue(Float.isNaN(actual), "pattern " + Integer.toHexString(bits));
            } else {
                assertBits((float) expected, actual);
            }
        }
    }

    @Test
    void bf16HandEncodedValues() {
        assertBits(1.0f, bf16(0x3F80));
        assertBits(-2.5f, bf16(0xC020));
        assertBits(3.140625f, bf16(0x4049));            // pi = 0x40490FDB truncated
        assertBits(Float.intBitsToFloat(0x7F7F0000), bf16(0x7F7F)); // largest finite
        assertBits(0x1p-133f, bf16(0x0001));            // smallest subnormal
        assertBits(Float.POSITIVE_INFINITY, bf16(0x7F80));
        assertBits(Float.NEGATIVE_INFINITY, bf16(0xFF80));
        assertBits(-0.0f, bf16(0x8000));
        assertTrue(Float.isNaN(bf16(0x7FC0)));
        assertTrue(Float.isNaN(bf16(0x7F81)));
    }

    @Test
    void bf16IsTheTopHalfOfKnownFloats() {
        float[] known = {0.1f, -123.456f, 1e-30f, 6.02214076e23f, (float) Math.E};
        for (float f : known) {
            float truncated = Float.intBitsToFloat(Float.floatToRawIntBits(f) & 0xFFFF0000);
            assertBits(truncated, bf16(Float.floatToRawIntBits(f) >>> 16));
        }
        assertBits(0.099609375f, bf16(0x3DCC)); // 0.1 = 0x3DCCCCCD truncated: (1 + 76/128) * 2^-4
    }
}
