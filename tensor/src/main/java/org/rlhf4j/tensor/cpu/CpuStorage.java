package org.rlhf4j.tensor.cpu;

import org.rlhf4j.tensor.BFloat16;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Storage;

/** CPU storage: one Java array, of the dtype's element type. */
public final class CpuStorage extends Storage {
    private final float[] floats;
    private final double[] doubles;
    private final int[] ints;
    private final short[] bf16;

    public CpuStorage(DType dtype, int size) {
        super(dtype, Device.CPU, size);
        floats = dtype == DType.F32 ? new float[size] : null;
        doubles = dtype == DType.F64 ? new double[size] : null;
        ints = dtype == DType.I32 ? new int[size] : null;
        bf16 = dtype == DType.BF16 ? new short[size] : null;
    }

    private CpuStorage(float[] data) {
        super(DType.F32, Device.CPU, data.length);
        floats = data;
        doubles = null;
        ints = null;
        bf16 = null;
    }

    private CpuStorage(double[] data) {
        super(DType.F64, Device.CPU, data.length);
        floats = null;
        doubles = data;
        ints = null;
        bf16 = null;
    }

    private CpuStorage(int[] data) {
        super(DType.I32, Device.CPU, data.length);
        floats = null;
        doubles = null;
        ints = data;
        bf16 = null;
    }

    /** Wraps an array without copying it. */
    public static CpuStorage wrap(float[] data) {
        return new CpuStorage(data);
    }

    public static CpuStorage wrap(double[] data) {
        return new CpuStorage(data);
    }

    public static CpuStorage wrap(int[] data) {
        return new CpuStorage(data);
    }

    /** The backing array of an F32 storage. */
    public float[] floats() {
        if (floats == null) throw new IllegalStateException("storage holds " + dtype() + ", not F32");
        return floats;
    }

    /** The backing array of an F64 storage. */
    public double[] doubles() {
        if (doubles == null) throw new IllegalStateException("storage holds " + dtype() + ", not F64");
        return doubles;
    }

    /** The backing array of an I32 storage. */
    public int[] ints() {
        if (ints == null) throw new IllegalStateException("storage holds " + dtype() + ", not I32");
        return ints;
    }

    /** The raw bits of a BF16 storage, one short per element. */
    public short[] bf16() {
        if (bf16 == null) throw new IllegalStateException("storage holds " + dtype() + ", not BF16");
        return bf16;
    }

    /** Element i as a double, whatever the dtype. */
    double get(int i) {
        if (floats != null) return floats[i];
        if (doubles != null) return doubles[i];
        if (bf16 != null) return BFloat16.toFloat(bf16[i]);
        return ints[i];
    }

    /** Sets element i from a double (I32 truncates toward zero; BF16 rounds via F32, to nearest even). */
    void set(int i, double v) {
        if (floats != null) floats[i] = (float) v;
        else if (doubles != null) doubles[i] = v;
        else if (bf16 != null) bf16[i] = BFloat16.fromFloat((float) v);
        else ints[i] = (int) v;
    }

    @Override
    protected void release() {
        // Java arrays are reclaimed by the garbage collector.
    }
}
