package org.rlhf4j.tensor;

/**
 * Element types. F32 is the working type everywhere; F64 is for gradient checks; I32 holds indices; BF16 is
 * storage for GPU matrix products and activations (on the CPU it can be allocated, filled, copied and converted
 * to and from the other types, and nothing else: convert it with {@code to(DType.F32)} to compute).
 */
public enum DType {
    F32(4),
    F64(8),
    /** 32-bit signed integers: token ids and the indices of gather, scatter-add and index_select. */
    I32(4),
    /** bfloat16: the top 16 bits of an F32 (8 exponent bits, 7 mantissa bits); see {@link BFloat16}. */
    BF16(2);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** True for F32, F64 and BF16. */
    public boolean isFloatingPoint() {
        return this != I32;
    }
}
