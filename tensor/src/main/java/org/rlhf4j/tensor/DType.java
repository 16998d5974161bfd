package org.rlhf4j.tensor;

/** Element types. F32 is the working type everywhere; F64 is for gradient checks; I32 holds indices. */
public enum DType {
    F32(4),
    F64(8),
    /** 32-bit signed integers: token ids and the indices of gather, scatter-add and index_select. */
    I32(4);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** True for F32 and F64. */
    public boolean isFloatingPoint() {
        return this != I32;
    }
}
