package org.rlhf4j.kernels.nn;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The chunk table of the multi-tensor AdamW kernel ({@code adamw.ptx}): every parameter tensor is cut into
 * chunks of at most {@link #CHUNK} elements, one block each, so a whole model updates in one launch. Entry
 * layout, 48 bytes, little-endian:
 * <pre>
 *   0: u64 param   8: u64 grad   16: u64 m   24: u64 v     (device addresses of the chunk's first element)
 *  32: u32 n      36: u32 vec (1 when all four addresses are 16-byte aligned)   40: 8 bytes zero
 * </pre>
 * Pure arithmetic on addresses, so it is tested without a GPU.
 */
final class AdamwTable {
    /** Elements per chunk: 256 threads x float4 x 32 iterations. */
    static final int CHUNK = 32 * 1024;
    static final int ENTRY_BYTES = 48;

    private AdamwTable() {}

    /** Number of chunks of {@code n} elements. */
    static int chunks(long n) {
        return (int) ((n + CHUNK - 1) / CHUNK);
    }

    /**
     * The table for tensors {@code k = 0..}: addresses[k] = {param, grad, m, v} of the first element, sizes[k]
     * their element count (F32, 4 bytes each).
     */
    static byte[] build(long[][] addresses, int[] sizes) {
        long entries = 0;
        for (int size : sizes) entries += chunks(size);
        if (entries > Integer.MAX_VALUE / ENTRY_BYTES) {
            throw new IllegalArgumentException("adamw: " + entries + " chunks do not fit one launch table");
        }
        ByteBuffer table = ByteBuffer.allocate((int) entries * ENTRY_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k < sizes.length; k++) {
            long[] a = addresses[k];
            for (long start = 0; start < sizes[k]; start += CHUNK) {
                int n = (int) Math.min(CHUNK, sizes[k] - start);
                long bytes = 4 * start;
                boolean vec = true;
                for (int j = 0; j < 4; j++) {
                    long address = a[j] + bytes;
                    table.putLong(address);
                    vec &= (address & 15) == 0;
                }
                table.putInt(n);
                table.putInt(vec ? 1 : 0);
                table.putLong(0);
            }
        }
        return table.array();
    }
}
