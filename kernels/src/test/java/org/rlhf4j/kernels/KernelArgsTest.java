package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.junit.jupiter.api.Test;

/** What cuLaunchKernel will read: one pointer per parameter, each to that parameter's bytes (no GPU needed). */
class KernelArgsTest {
    private static BytePointer at(long address, int bytes) {
        return new BytePointer(new CudaContext.DevicePointer(address)).capacity(bytes).limit(bytes);
    }

    @Test
    void eachPointerLeadsToItsValueInOrder() {
        KernelArgs args = KernelArgs.create().ptr(0x1234_5678_9ABCL).i32(-7).f32(1.5f).i64(1L << 40).f64(-0.25)
                .ints(new int[] {3, 4, 5}).i32(9);
        KernelArgs.Packed packed = args.pack();
        LongPointer slots = new LongPointer(packed.pointers());
        assertEquals(7, args.count());
        assertEquals(0x1234_5678_9ABCL, at(slots.get(0), 8).getLong(0));
        assertEquals(-7, at(slots.get(1), 4).getInt(0));
        assertEquals(1.5f, at(slots.get(2), 4).getFloat(0));
        assertEquals(1L << 40, at(slots.get(3), 8).getLong(0));
        assertEquals(-0.25, at(slots.get(4), 8).getDouble(0));
        BytePointer array = at(slots.get(5), 12);
        assertEquals(3, array.getInt(0));
        assertEquals(4, array.getInt(4));
        assertEquals(5, array.getInt(8));
        assertEquals(9, at(slots.get(6), 4).getInt(0));
        assertEquals(0, slots.get(0) % 8, "8-byte values are 8-byte aligned");
        assertEquals(0, slots.get(3) % 8);
    }

    @Test
    void appendKeepsTheAppendedArgumentsAndTheirOrder() {
        KernelArgs tail = KernelArgs.create().i64(42).f32(2f);
        KernelArgs args = KernelArgs.create().i32(1).append(tail).i32(3);
        LongPointer slots = new LongPointer(args.pack().pointers());
        assertEquals(4, args.count());
        assertEquals(1, at(slots.get(0), 4).getInt(0));
        assertEquals(42L, at(slots.get(1), 8).getLong(0));
        assertEquals(2f, at(slots.get(2), 4).getFloat(0));
        assertEquals(3, at(slots.get(3), 4).getInt(0));
    }

    @Test
    void manyArgumentsGrowTheNativeBuffers() {
        KernelArgs args = KernelArgs.create();
        for (int i = 0; i < 300; i++) args.i64(i * 3L);
        LongPointer slots = new LongPointer(args.pack().pointers());
        for (int i = 0; i < 300; i++) assertEquals(i * 3L, at(slots.get(i), 8).getLong(0), "argument " + i);
    }
}
