package org.rlhf4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** BF16 on the CPU: exact conversions, and storage that allocates, fills, copies and converts; it computes only
 * matrix products and attention (MixedPrecisionTest). */
class BFloat16Test {
    private static int bits(float f) {
        return BFloat16.fromFloat(f) & 0xFFFF;
    }

    @Test
    void roundsToNearestEvenAndKeepsSpecialValues() {
        assertEquals(0x3F80, bits(1.0f));
        assertEquals(0xC020, bits(-2.5f));
        assertEquals(0x4049, bits((float) Math.PI)); // 0x40490FDB: below the halfway point, rounds down
        // exactly halfway between 0x3F80 and 0x3F81: ties go to the even one (0x3F80)
        assertEquals(0x3F80, bits(Float.intBitsToFloat(0x3F808000)));
        // halfway between 0x3F81 and 0x3F82: ties go to 0x3F82
        assertEquals(0x3F82, bits(Float.intBitsToFloat(0x3F818000)));
        assertEquals(0x3F81, bits(Float.intBitsToFloat(0x3F808001)));
        assertEquals(0x7F80, bits(Float.POSITIVE_INFINITY));
        assertEquals(0xFF80, bits(Float.NEGATIVE_INFINITY));
        assertEquals(0x7F80, bits(Float.MAX_VALUE)); // rounds past the largest finite bfloat16
        assertEquals(0x8000, bits(-0.0f));
        assertTrue(Float.isNaN(BFloat16.toFloat(BFloat16.fromFloat(Float.NaN))));
        assertTrue(Float.isNaN(BFloat16.toFloat(BFloat16.fromFloat(Float.intBitsToFloat(0x7F800001)))));
    }

    @Test
    void roundTripIsExactForBf16ValuesAndWithinHalfAnUlpOtherwise() {
        Random r = new Random(7);
        for (int i = 0; i < 100_000; i++) {
            short b = (short) r.nextInt(1 << 16);
            float f = BFloat16.toFloat(b);
            if (!Float.isNaN(f)) assertEquals(b, BFloat16.fromFloat(f));
            float x = (float) r.nextGaussian() * 100;
            float back = BFloat16.toFloat(BFloat16.fromFloat(x));
            assertTrue(Math.abs(back - x) <= Math.abs(x) * 0x1p-8f, x + " -> " + back);
        }
    }

    @Test
    void cpuAllocatesFillsCopiesAndConverts() {
        Tensor x = Tensor.of(new float[] {1f, -2.5f, 3.14159f, 1e-3f, 65504f, -0f}, 2, 3);
        Tensor b = x.to(DType.BF16);
        assertEquals(DType.BF16, b.dtype());
        float[] back = b.toFloatArray();
        for (int i = 0; i < back.length; i++) {
            assertEquals(BFloat16.toFloat(BFloat16.fromFloat(x.toFloatArray()[i])), back[i], 0f, "element " + i);
        }
        assertEquals(-2.5, b.get(0, 1));
        b.set(7.0, 1, 2);
        assertEquals(7.0, b.get(1, 2));
        // a strided BF16 -> BF16 copy and a BF16 -> F64 conversion
        Tensor t = b.transpose(0, 1).contiguous();
        assertEquals(3, t.size(0));
        assertEquals(b.get(1, 0), t.get(0, 1));
        assertArrayEquals(new double[] {1.0, 1e-3f}, b.select(1, 0).to(DType.F64).toDoubleArray(), 1e-5);
        Tensor filled = Tensor.full(0.1, DType.BF16, Device.CPU, 4);
        for (float v : filled.toFloatArray()) assertEquals(BFloat16.toFloat(BFloat16.fromFloat(0.1f)), v, 0f);
        Tensor range = Tensor.arange(0, 4, 1, DType.BF16);
        assertArrayEquals(new float[] {0, 1, 2, 3}, range.toFloatArray());
        Tensor ints = Tensor.ofInts(new int[] {3, -4}, 2).to(DType.BF16);
        assertArrayEquals(new float[] {3, -4}, ints.toFloatArray());
    }

    @Test
    void cpuRefusesToComputeInBf16AndSaysHow() {
        Tensor b = Tensor.ones(DType.BF16, 2, 2);
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, b::exp);
        assertTrue(e.getMessage().contains("unary EXP") && e.getMessage().contains("to(DType.F32)"), e.getMessage());
        e = assertThrows(UnsupportedOperationException.class, () -> b.add(b));
        assertTrue(e.getMessage().contains("binary ADD"), e.getMessage());
        e = assertThrows(UnsupportedOperationException.class, () -> b.sum(0, false));
        assertTrue(e.getMessage().contains("BF16"), e.getMessage());
    }
}
