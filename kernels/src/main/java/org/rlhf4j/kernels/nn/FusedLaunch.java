package org.rlhf4j.kernels.nn;

/**
 * Launch configuration of the fused kernels: pure arithmetic on sizes and addresses, so it is tested without a
 * GPU. The PTX side of each rule is written in the header of the kernel's file.
 */
final class FusedLaunch {
    private FusedLaunch() {}

    /** The most threads a block may have, and the warp size every block is a multiple of. */
    static final int MAX_THREADS = 1024, WARP = 32;

    /** Static shared memory of the kernels that reduce over a block (two arrays of 64 floats). */
    static final int STATIC_SHARED = 512;

    /** Dynamic shared memory a launch gets without opting in, less what the kernel declares statically. */
    static final int DEFAULT_DYNAMIC_SHARED = 48 * 1024 - STATIC_SHARED;

    /**
     * Threads per block for the one-block-per-row kernels (softmax, token log-probs, cross-entropy, layer-norm
     * forward): about {@link #VECTORS_PER_THREAD} 16-byte vectors of the row per thread, rounded up to whole
     * warps, at least one warp, at most {@link #MAX_THREADS}; longer rows loop (thread i takes vectors i, i + NT,
     * ...). Several loads per thread and several small blocks per SM keep loads in flight while another block of
     * the SM is in its reduction.
     */
    static int rowThreads(int cols) {
        return rowThreads(cols, VECTORS_PER_THREAD);
    }

    /** Vectors per thread that {@link #rowThreads(int)} aims at. */
    static final int VECTORS_PER_THREAD = 4;

    /** Threads per block with about {@code perThread} 16-byte vectors (4 F32) of a row per thread. */
    static int rowThreads(int cols, int perThread) {
        long vectors = ((long) cols + 3) / 4;
        long threads = (vectors + (long) perThread * WARP - 1) / ((long) perThread * WARP) * WARP;
        return (int) Math.max(WARP, Math.min(MAX_THREADS, threads));
    }

    /**
     * Whether F32 row kernels may use 16-byte accesses: every address 4-byte aligned and all of them equal modulo
     * 16, so that one split of each row into head, 16-byte body and tail serves all operands. The kernel
     * computes the split per row from the first operand's row address.
     */
    static boolean sameAlignment(long... addresses) {
        return sameAlignmentOf(4, addresses);
    }

    /** As {@link #sameAlignment(long...)} for elements of {@code elementBytes} (4 for F32, 2 for BF16). */
    static boolean sameAlignmentOf(int elementBytes, long... addresses) {
        long first = addresses[0] & 15;
        for (long a : addresses) {
            if (a % elementBytes != 0 || (a & 15) != first) return false;
        }
        return true;
    }

    /**
     * Whether the layer-norm kernels may use 16-byte accesses: rows a whole number of float4s and every operand
     * (rows and the weight/bias vectors) 16-byte aligned, so column 4i..4i+3 is one vector in every row.
     * Absent operands are passed as 0, which is aligned.
     */
    static boolean alignedRows(int cols, long... addresses) {
        if (cols % 4 != 0) return false;
        for (long a : addresses) {
            if ((a & 15) != 0) return false;
        }
        return true;
    }

    /** Elementwise kernels: all operands 16-byte aligned (the float4 body starts at element 0). */
    static boolean aligned16(long... addresses) {
        for (long a : addresses) {
            if ((a & 15) != 0) return false;
        }
        return true;
    }

    /** Grid of a grid-stride elementwise launch over n elements in float4s: enough blocks, at most 8 per SM. */
    static int elementwiseGrid(long n, int threads, int multiprocessors) {
        long vectors = (n + 3) / 4;
        long blocks = (vectors + threads - 1) / threads;
        return (int) Math.max(1, Math.min(blocks, 8L * multiprocessors));
    }

    /**
     * Blocks G of the layer-norm backward (which runs {@code rowThreads(cols, 1)} threads, one vector each, so
     * that its few blocks still fill the SMs): as many as fill the device (2048 resident threads per SM, at most
     * 8 blocks of this size each), never more than the rows. G fixes the order of the weight/bias sums, so it is
     * a function of the shape and the device only: the same G, the same bits, on every run.
     */
    static int layerNormParts(int rows, int threads, int multiprocessors) {
        int perSm = Math.max(1, Math.min(8, 2048 / threads));
        return Math.max(1, Math.min(rows, perSm * multiprocessors));
    }

    /** The rows block {@code b} of {@code parts} takes in the layer-norm backward: b, b + G, ... (a count). */
    static int rowsOfPart(int rows, int parts, int b) {
        return b >= rows ? 0 : (rows - b + parts - 1) / parts;
    }

    /**
     * Dynamic shared memory of the layer-norm backward: 2 C floats of weight and bias accumulators when they
     * fit the default limit, else 0 (the kernel then accumulates in its slice of the scratch buffer).
     */
    static int layerNormSharedBytes(int cols) {
        long bytes = 8L * cols;
        return bytes <= DEFAULT_DYNAMIC_SHARED ? (int) bytes : 0;
    }

    /** Blocks of the weight/bias reduction: one thread per column. */
    static int columnsGrid(int cols, int threads) {
        return Math.max(1, (cols + threads - 1) / threads);
    }

    /**
     * How a row kernel splits one row (the computation at the top of each row kernel, mirrored here): head =
     * elements before the row address's next 16-byte boundary (at most cols), then nvec 16-byte vectors, then
     * the tail. Scalar index k in [0, head + tail) is element {@code k < head ? k : k + width nvec}. With
     * vec false the whole row is head.
     */
    record RowSplit(int head, int nvec, int width, int cols) {
        int tail() {
            return cols - head - width * nvec;
        }

        int scalars() {
            return cols - width * nvec;
        }

        /** The element of scalar index k. */
        int scalarElement(int k) {
            return k < head ? k : k + width * nvec;
        }
    }

    static RowSplit split(long rowAddress, int cols, int elementBytes, boolean vec) {
        int width = 16 / elementBytes;
        if (!vec) return new RowSplit(cols, 0, width, cols);
        int head = (int) Math.min(((-rowAddress) & 15) / elementBytes, cols);
        return new RowSplit(head, (cols - head) / width, width, cols);
    }
}
