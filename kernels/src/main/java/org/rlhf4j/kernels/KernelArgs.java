package org.rlhf4j.kernels;

import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.rlhf4j.tensor.Tensor;

/**
 * The arguments of one launch, in the order of the kernel's {@code .param} list. Each method appends one
 * parameter of the matching PTX type:
 * <ul>
 *   <li>{@link #ptr(Tensor)}: {@code .u64}, the device address of the tensor's first element (its storage's
 *       address plus {@code offset * dtype size});
 *   <li>{@link #ptr(long)} / {@link #ptr(DeviceBuffer)}: {@code .u64}, a raw device address;
 *   <li>{@link #i32}: {@code .u32}/{@code .s32}; {@link #i64}: {@code .u64}/{@code .s64};
 *       {@link #f32}: {@code .f32}; {@link #f64}: {@code .f64};
 *   <li>{@link #ints(int[])}: a {@code .param .align 4 .b8 name[4 * n]} array (shapes and strides).
 * </ul>
 * Values are copied into native memory at launch, so a KernelArgs may be reused or changed afterwards.
 */
public final class KernelArgs {
    private byte[] bytes = new byte[128];
    private int size;
    private int[] starts = new int[16], lengths = new int[16], aligns = new int[16];
    private int count;

    private KernelArgs() {}

    public static KernelArgs create() {
        return new KernelArgs();
    }

    private int slot(int length, int align) {
        int start = (size + align - 1) / align * align;
        if (start + length > bytes.length) bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, start + length));
        if (count == starts.length) {
            starts = Arrays.copyOf(starts, count * 2);
            lengths = Arrays.copyOf(lengths, count * 2);
            aligns = Arrays.copyOf(aligns, count * 2);
        }
        starts[count] = start;
        lengths[count] = length;
        aligns[count++] = align;
        size = start + length;
        return start;
    }

    /** Appends the arguments of {@code more} after these. */
    public KernelArgs append(KernelArgs more) {
        for (int i = 0; i < more.count; i++) {
            int at = slot(more.lengths[i], more.aligns[i]);
            System.arraycopy(more.bytes, more.starts[i], bytes, at, more.lengths[i]);
        }
        return this;
    }

    /** The bytes of each argument, in order (little-endian, as the kernel reads them). */
    byte[][] values() {
        byte[][] out = new byte[count][];
        for (int i = 0; i < count; i++) out[i] = java.util.Arrays.copyOfRange(bytes, starts[i], starts[i] + lengths[i]);
        return out;
    }

    /** The byte size of each argument, in order. */
    int[] sizes() {
        return java.util.Arrays.copyOf(lengths, count);
    }

    /** Number of parameters so far. */
    public int count() {
        return count;
    }

    private void putLong(int at, long v) {
        for (int i = 0; i < 8; i++) bytes[at + i] = (byte) (v >>> (8 * i));
    }

    private void putInt(int at, int v) {
        for (int i = 0; i < 4; i++) bytes[at + i] = (byte) (v >>> (8 * i));
    }

    /** The device address of {@code t}'s first element; t must live on a CUDA device. */
    public KernelArgs ptr(Tensor t) {
        return ptr(Cuda.address(t));
    }

    public KernelArgs ptr(DeviceBuffer buffer) {
        return ptr(buffer.address());
    }

    public KernelArgs ptr(long deviceAddress) {
        putLong(slot(8, 8), deviceAddress);
        return this;
    }

    public KernelArgs i32(int v) {
        putInt(slot(4, 4), v);
        return this;
    }

    public KernelArgs i64(long v) {
        putLong(slot(8, 8), v);
        return this;
    }

    public KernelArgs f32(float v) {
        putInt(slot(4, 4), Float.floatToRawIntBits(v));
        return this;
    }

    public KernelArgs f64(double v) {
        putLong(slot(8, 8), Double.doubleToRawLongBits(v));
        return this;
    }

    /** An array parameter of 32-bit words ({@code .param .align 4 .b8 name[4 * values.length]}). */
    public KernelArgs ints(int[] values) {
        int at = slot(4 * values.length, 8);
        for (int i = 0; i < values.length; i++) putInt(at + 4 * i, values[i]);
        return this;
    }

    /** Native copies of the values and the array of pointers to them that cuLaunchKernel reads. */
    record Packed(PointerPointer<?> pointers) {}

    private static final class Native {
        BytePointer values = new BytePointer(1024);
        PointerPointer<?> pointers = new PointerPointer<>(64);
    }

    private static final ThreadLocal<Native> NATIVE = ThreadLocal.withInitial(Native::new);

    Packed pack() {
        Native n = NATIVE.get();
        if (n.values.capacity() < size) n.values = new BytePointer(Math.max(size, 2 * n.values.capacity()));
        if (n.pointers.capacity() < count) n.pointers = new PointerPointer<>(Math.max(count, 2L * n.pointers.capacity()));
        n.values.position(0).put(bytes, 0, size);
        LongPointer slots = new LongPointer(n.pointers);
        long base = n.values.address();
        for (int i = 0; i < count; i++) slots.put(i, base + starts[i]);
        return new Packed(n.pointers);
    }
}
