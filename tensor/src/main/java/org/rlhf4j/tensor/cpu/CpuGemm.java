package org.rlhf4j.tensor.cpu;

import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Strided, batched matrix products on the CPU: {@code C_b = alpha * A_b · B_b + beta * C_b}.
 *
 * <p>Shapes, for every batch index b: A_b is m x k, B_b is k x n, C_b is m x n. Element (i, p) of A_b is
 * {@code a[aOff + b*aBatchStride + i*aRowStride + p*aColStride]}; B and C follow the same scheme. Strides are
 * any non-negative ints, so a transposed operand is just swapped strides and a broadcast batch has stride 0.
 * The caller has checked the shapes and that every addressed element lies inside its array.
 *
 * <p>{@link #sgemm} follows the GotoBLAS / BLIS structure, with the k loop moved inside a chunk of C.
 * Loops, outermost first:
 * <pre>
 *   jc: column block of C      pack B[0:k, jc:jc+nc], every KC block of it, into NR-wide micro-panels
 *   ic: MC rows of C (one work item; times a range of B panels when there are few row blocks)
 *   kg: up to K_GROUP of depth pack A[ic:ic+mc, kg:kg+K_GROUP] into MR-tall micro-panels, per KC block
 *   chunk: ~C_CHUNK floats of C, which stay in L2 while ...
 *   pc: KC of the depth        ... every k block of the group is added into them
 *   jr: NR columns             the B micro-panel stays in L1 while ...
 *   ir: MR rows                ... the A micro-panels stream from L2 through the micro-kernel
 * </pre>
 * Packing reads either layout of A and B directly (no separate transposing copy) and pads edges with
 * zeros, so the micro-kernel always computes a full MR x NR tile; partial tiles, and C that is not
 * row-major, go through a small per-thread tile buffer. alpha and beta are applied when the tile is
 * written back; beta applies on the first k block only, and beta == 0 never reads C.
 *
 * <p>Threads: a batch with enough items runs one single-threaded product per item. Otherwise each product
 * runs in parallel, in one fork-join round per column block: the threads share the packed B, packing its
 * panels on demand, and take work items (each packing its own rows of A) from a common pool. Products below
 * {@link #SMALL} multiply-adds skip packing and threads and run a simple loop.
 */
public final class CpuGemm {
    private static final boolean SIMD = Simd.ENABLED;

    /** Micro-tile rows and columns: 12 x 32 with AVX-512, 6 x 16 with AVX2, 4 x 16 in plain Java. */
    static final int MR = SIMD ? GemmSimdKernel.MR : GemmScalarKernel.MR;
    static final int NR = SIMD ? GemmSimdKernel.NR : GemmScalarKernel.NR;

    /** Depth of a packed block: a KC x NR micro-panel of B (48 KiB at 384 x 32) stays in L1 / L2. */
    static final int KC = 384;
    /** Rows of a packed A block: MC x KC floats (216 KiB at 144 x 384) stay in L2. */
    static final int MC = roundUp(144, MR);
    /** Columns of a packed B block, KC x NC floats, in L3; large so that A is packed only once. */
    static final int NC = roundUp(4096, NR);

    /** Products with fewer multiply-adds than this (per batch item) use the simple loop path. */
    static final long SMALL = 1L << 15;
    /** A batch item with at least this many multiply-adds is split over threads. */
    static final long SPLIT = 1L << 20;

    private CpuGemm() {}

    static {
        if (SIMD) {
            double millis = GemmSimdKernel.warmUp();
            LoggerFactory.getLogger(CpuGemm.class).debug("GEMM micro-kernel warmed up in {} ms", Math.round(millis));
        }
    }

    // ------------------------------------------------------------------------------------------------------
    // F32

    /**
     * For b in [0, batch): C_b = alpha * A_b · B_b + beta * C_b, with A_b m x k, B_b k x n, C_b m x n, all
     * addressed through offset, batch stride, row stride and column stride. beta == 0 overwrites C without
     * reading it; k == 0 (or alpha == 0) gives C = beta * C.
     */
    public static void sgemm(int batch, int m, int n, int k, float alpha,
            float[] a, int aOff, int aBatchStride, int aRowStride, int aColStride,
            float[] b, int bOff, int bBatchStride, int bRowStride, int bColStride,
            float beta, float[] c, int cOff, int cBatchStride, int cRowStride, int cColStride) {
        if (batch <= 0 || m <= 0 || n <= 0) return;
        if (k <= 0 || alpha == 0f) {
            for (int bi = 0; bi < batch; bi++) {
                scale(m, n, beta, c, cOff + bi * cBatchStride, cRowStride, cColStride);
            }
            return;
        }
        long work = (long) m * n * k;
        if (work < SMALL) {
            Parallel.forRange(batch, work, (from, to) -> {
                for (int bi = from; bi < to; bi++) {
                    smallSgemm(m, n, k, alpha, a, aOff + bi * aBatchStride, aRowStride, aColStride,
                            b, bOff + bi * bBatchStride, bRowStride, bColStride,
                            beta, c, cOff + bi * cBatchStride, cRowStride, cColStride);
                }
            });
            return;
        }
        if (m <= SKINNY_ROWS && bColStride == 1 && (cColStride == 1 || n == 1)) {
            // A few rows against a row-major B (one decoding step of generation): packing B would copy the whole
            // weight matrix for a handful of dot products, so stream B's rows once instead.
            for (int bi = 0; bi < batch; bi++) {
                skinny(m, n, k, alpha, a, aOff + bi * aBatchStride, aRowStride, aColStride,
                        b, bOff + bi * bBatchStride, bRowStride, beta, c, cOff + bi * cBatchStride, cRowStride);
            }
            return;
        }
        int threads = Parallel.threads();
        if (threads == 1 || (batch == 1 && work < SPLIT)) {
            for (int bi = 0; bi < batch; bi++) {
                blocked(m, n, k, alpha, a, aOff + bi * aBatchStride, aRowStride, aColStride,
                        b, bOff + bi * bBatchStride, bRowStride, bColStride,
                        beta, c, cOff + bi * cBatchStride, cRowStride, cColStride, false);
            }
        } else if (batch > 1 && (work < SPLIT || batch >= 2 * threads || batch % threads == 0)) {
            // Enough batch items to keep every thread busy: one single-threaded product per item.
            Parallel.forRange(batch, work, (from, to) -> {
                for (int bi = from; bi < to; bi++) {
                    blocked(m, n, k, alpha, a, aOff + bi * aBatchStride, aRowStride, aColStride,
                            b, bOff + bi * bBatchStride, bRowStride, bColStride,
                            beta, c, cOff + bi * cBatchStride, cRowStride, cColStride, false);
                }
            });
        } else {
            for (int bi = 0; bi < batch; bi++) {
                blocked(m, n, k, alpha, a, aOff + bi * aBatchStride, aRowStride, aColStride,
                        b, bOff + bi * bBatchStride, bRowStride, bColStride,
                        beta, c, cOff + bi * cBatchStride, cRowStride, cColStride, true);
            }
        }
    }

    /** Products with at most this many rows of A take the {@link #skinny} path (when B is row-major). */
    static final int SKINNY_ROWS = 4;

    /** Columns of C per task of the skinny path. */
    private static final int SKINNY_CHUNK = 512;

    /**
     * C = alpha * A · B + beta * C for m <= {@link #SKINNY_ROWS} rows and a row-major B: for each column chunk,
     * accumulate sum_p A[i, p] * B[p, chunk] row by row of B (a loop the JIT vectorizes), then write back.
     */
    private static void skinny(int m, int n, int k, float alpha, float[] a, int aOff, int aRs, int aCs,
            float[] b, int bOff, int bRs, float beta, float[] c, int cOff, int cRs) {
        int chunks = (n + SKINNY_CHUNK - 1) / SKINNY_CHUNK;
        Parallel.forRange(chunks, (long) m * k * Math.min(n, SKINNY_CHUNK), (from, to) -> {
            float[] acc = new float[m * SKINNY_CHUNK];
            for (int chunk = from; chunk < to; chunk++) {
                int j0 = chunk * SKINNY_CHUNK, len = Math.min(SKINNY_CHUNK, n - j0);
                java.util.Arrays.fill(acc, 0f);
                for (int p = 0; p < k; p++) {
                    int row = bOff + p * bRs + j0;
                    for (int i = 0; i < m; i++) {
                        float aip = a[aOff + i * aRs + p * aCs];
                        int base = i * SKINNY_CHUNK;
                        for (int j = 0; j < len; j++) acc[base + j] += aip * b[row + j];
                    }
                }
                for (int i = 0; i < m; i++) {
                    int out = cOff + i * cRs + j0, base = i * SKINNY_CHUNK;
                    if (beta == 0f) {
                        for (int j = 0; j < len; j++) c[out + j] = alpha * acc[base + j];
                    } else {
                        for (int j = 0; j < len; j++) c[out + j] = alpha * acc[base + j] + beta * c[out + j];
                    }
                }
            }
        });
    }

    /** Per-thread packing buffers, grown on demand and reused across calls. */
    private static final class Buffers {
        /** This thread's A block. */
        float[] packedA = new float[0];
        /** The B block of a product this thread runs (shared with the workers when it runs in parallel). */
        float[] packedB = new float[0];
        final float[] tile = new float[MR * NR + 1];
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    /**
     * Floats of B packed at once by {@link #blocked}: all of k for as many columns as fit in 16 MiB. Each work
     * item streams the block once, so it need not stay in cache; a narrower block would make every item pack its
     * rows of A once more per column block (measured: 4 MiB was slower at 2048^3).
     */
    static final int PACKED_B_BUDGET = 1 << 22;

    /**
     * Most depth of A that a work item packs at once (as several KC blocks), and so the most depth over which a
     * chunk of C stays in L2 between the k blocks: C is read back from memory once per this much depth.
     */
    static final int K_GROUP = 2048;

    /** Floats of C in one chunk, the part of C that stays in L2 while every k block of a group is added into it. */
    static final int C_CHUNK = 1 << 14;

    /**
     * One blocked product; a, b and c point at element (0, 0) of the operands. The B of every k block of a
     * column block is packed at once (in the calling thread's buffer; in parallel, each panel is packed on
     * demand by the first thread that needs it and shared). A work item is a range of MR-row micro-panels of A
     * (times a range of B panels when A has too few rows for the threads); it packs its rows of A for up to
     * {@link #K_GROUP} of depth, then walks its part of C in chunks of about {@link #C_CHUNK} floats, adding
     * every k block of the group into a chunk before it moves on. That chunk stays in L2 while it is read and
     * written once per k block; k block outermost, as in the textbook loop order, each k block would read all
     * of C back from memory, and on a 1024^3 product that cost a fifth of the kernel's speed (C is read and
     * written with no prefetch instruction the JVM could emit). In parallel, all items run in one fork-join
     * round per column block, sized so that every thread gets the same number of them.
     */
    private static void blocked(int m, int n, int k, float alpha,
            float[] a, int aBase, int aRs, int aCs,
            float[] b, int bBase, int bRs, int bCs,
            float beta, float[] c, int cBase, int cRs, int cCs, boolean parallel) {
        int threads = parallel ? Parallel.threads() : 1;
        // Even block sizes: k = 512 runs as 2 x 256, not 384 + 128.
        int kBlocks = ceilDiv(k, KC);
        int kcMax = ceilDiv(k, kBlocks);
        int groupBlocks = ceilDiv(kBlocks, ceilDiv(k, K_GROUP));
        // Column blocks: as wide as the packed-B budget allows for the whole depth, never above NC.
        int ncLimit = Math.max(NR, Math.min(NC, PACKED_B_BUDGET / k / NR * NR));
        int nBlocks = ceilDiv(n, ncLimit);
        int ncMax = roundUp(ceilDiv(n, nBlocks), NR);
        // Row blocks: at most MC rows each, and a multiple of the thread count when A has enough micro-panels.
        int rowPanels = ceilDiv(m, MR);
        int fewestBlocks = ceilDiv(m, MC);
        int mBlocks = fewestBlocks < rowPanels ? Math.min(rowPanels, roundUp(fewestBlocks, threads)) : fewestBlocks;
        int mcMax = MR * ceilDiv(rowPanels, mBlocks);
        int chunkPanels = Math.max(1, C_CHUNK / mcMax / NR);

        Buffers own = BUFFERS.get();
        int packedSize = ncMax * kBlocks * kcMax;
        if (own.packedB.length < packedSize) own.packedB = new float[packedSize];
        float[] packedB = own.packedB;

        for (int jc = 0; jc < n; jc += ncMax) {
            int nc = Math.min(ncMax, n - jc);
            int panels = ceilDiv(nc, NR);
            // Too few row blocks for the threads: split the panels too, keeping the item count a multiple of threads.
            int nParts = 1;
            if (parallel && mBlocks < 2 * threads) {
                nParts = Math.min(panels, roundUp(ceilDiv(2 * threads, mBlocks), threads));
            }
            int parts = nParts;
            int items = mBlocks * nParts;
            PackedB[] blocks = new PackedB[kBlocks];
            for (int kb = 0; kb < kBlocks; kb++) {
                int pc = kb * kcMax;
                int kc = Math.min(kcMax, k - pc);
                // k block kb's panels start at kb * kcMax * ncMax in the shared buffer.
                blocks[kb] = new PackedB(kc, nc, b, bBase + pc * bRs + jc * bCs, bRs, bCs, packedB,
                        kb * kcMax * ncMax, parallel);
                if (!parallel) packB(kc, 0, nc, b, blocks[kb].base, bRs, bCs, packedB, blocks[kb].offset);
            }
            int cBlock = cBase + jc * cCs;
            Parallel.RangeBody multiply = (from, to) -> {
                Buffers mine = BUFFERS.get();
                int aSize = mcMax * kcMax * groupBlocks;
                if (mine.packedA.length < aSize) mine.packedA = new float[aSize];
                for (int item = from; item < to; item++) {
                    int block = item / parts;
                    int part = item % parts;
                    int p0 = rowPanels * block / mBlocks, p1 = rowPanels * (block + 1) / mBlocks;
                    int ic = p0 * MR;
                    int mc = Math.min(m, p1 * MR) - ic;
                    if (mc <= 0) continue;
                    int q0 = panels * part / parts;
                    int q1 = panels * (part + 1) / parts;
                    int chunks = ceilDiv(q1 - q0, chunkPanels);
                    // Items start at different chunks, so that threads pack different panels of B first.
                    int firstChunk = (int) ((long) chunks * block / mBlocks);
                    int cItem = cBlock + ic * cRs;
                    for (int kg = 0; kg < kBlocks; kg += groupBlocks) {
                        int kgEnd = Math.min(kBlocks, kg + groupBlocks);
                        for (int kb = kg; kb < kgEnd; kb++) {
                            packA(mc, blocks[kb].kc, a, aBase + kb * kcMax * aCs + ic * aRs, aRs, aCs,
                                    mine.packedA, (kb - kg) * mcMax * kcMax);
                        }
                        for (int t = 0; t < chunks; t++) {
                            int chunk = (firstChunk + t) % chunks;
                            int c0 = q0 + chunk * chunkPanels;
                            int c1 = Math.min(q1, c0 + chunkPanels);
                            for (int kb = kg; kb < kgEnd; kb++) {
                                macroKernel(mc, c0, c1, mine.packedA, (kb - kg) * mcMax * kcMax, blocks[kb],
                                        alpha, kb == 0 ? beta : 1f, c, cItem, cRs, cCs, mine.tile);
                            }
                        }
                    }
                }
            };
            if (parallel) {
                Parallel.forRange(items, (long) mcMax * k * nc / nParts, multiply);
            } else {
                multiply.run(0, items);
            }
        }
    }

    /** A KC x NC block of B being packed into NR-column micro-panels, on demand when shared by threads. */
    private static final class PackedB {
        private static final int NOT_PACKED = 0, PACKING = 1, PACKED = 2;
        final int kc, nc;
        final float[] src;
        final int base, rs, cs;
        final float[] panels;
        /** Where this block's panels start in {@link #panels}. */
        final int offset;
        /** Per panel: NOT_PACKED, PACKING or PACKED; null when the whole block was packed up front. */
        final AtomicIntegerArray state;

        PackedB(int kc, int nc, float[] src, int base, int rs, int cs, float[] panels, boolean onDemand) {
            this(kc, nc, src, base, rs, cs, panels, 0, onDemand);
        }

        PackedB(int kc, int nc, float[] src, int base, int rs, int cs, float[] panels, int offset, boolean onDemand) {
            this.kc = kc;
            this.nc = nc;
            this.src = src;
            this.base = base;
            this.rs = rs;
            this.cs = cs;
            this.panels = panels;
            this.offset = offset;
            this.state = onDemand ? new AtomicIntegerArray(ceilDiv(nc, NR)) : null;
        }

        /** Returns once panel q is packed, packing it if no other thread has started to. */
        void ensurePacked(int q) {
            if (state == null || state.get(q) == PACKED) return;
            if (state.compareAndSet(q, NOT_PACKED, PACKING)) {
                packB(kc, q * NR, Math.min(nc, (q + 1) * NR), src, base, rs, cs, panels, offset);
                state.set(q, PACKED);
            } else {
                // Another thread is packing it right now: a few microseconds.
                while (state.get(q) != PACKED) Thread.onSpinWait();
            }
        }
    }

    /**
     * C[0:mc, panels q0..q1 of the block] = alpha * packedA · packedB + beta * C, where the block's packed A
     * starts at {@code aOff}; c points at the block's element (0, 0).
     */
    private static void macroKernel(int mc, int q0, int q1, float[] packedA, int aOff, PackedB packedB,
            float alpha, float beta, float[] c, int cBlock, int cRs, int cCs, float[] tile) {
        boolean rowMajorC = cCs == 1;
        int kc = packedB.kc;
        for (int q = q0; q < q1; q++) {
            packedB.ensurePacked(q);
            int jr = q * NR;
            int nr = Math.min(NR, packedB.nc - jr);
            int bIdx = packedB.offset + jr * kc;
            float[] bp = packedB.panels;
            for (int ir = 0; ir < mc; ir += MR) {
                int mr = Math.min(MR, mc - ir);
                int aIdx = aOff + ir * kc;
                int cIdx = cBlock + ir * cRs + jr * cCs;
                if (SIMD) {
                    boolean full = mr == MR && nr == NR && rowMajorC;
                    if (full && beta != 0f) touch(c, cIdx, cRs, tile);
                    GemmSimdKernel.kernel(kc, packedA, aIdx, bp, bIdx, tile);
                    if (full) {
                        GemmSimdKernel.update(tile, alpha, beta, c, cIdx, cRs);
                    } else {
                        writeTile(tile, mr, nr, alpha, beta, c, cIdx, cRs, cCs);
                    }
                } else {
                    GemmScalarKernel.kernel(kc, packedA, aIdx, bp, bIdx, tile);
                    writeTile(tile, mr, nr, alpha, beta, c, cIdx, cRs, cCs);
                }
            }
        }
    }

    /**
     * Loads the first and last float of each row of a full MR x NR tile of C and leaves their sum in the tile
     * buffer's spare slot, so that the rows' cache lines are on their way in while the micro-kernel runs.
     */
    private static void touch(float[] c, int cIdx, int cRs, float[] tile) {
        float sum = 0f;
        for (int i = 0; i < MR; i++) sum += c[cIdx + i * cRs] + c[cIdx + i * cRs + NR - 1];
        tile[MR * NR] = sum;
    }

    /**
     * Packs the mc x kc block of A at {@code base} into MR-row micro-panels: panel q holds rows
     * [q*MR, q*MR + MR) as {@code dst[q*MR*kc + p*MR + i]}, rows past mc zero.
     */
    static void packA(int mc, int kc, float[] a, int base, int rs, int cs, float[] dst) {
        packA(mc, kc, a, base, rs, cs, dst, 0);
    }

    /** {@link #packA(int, int, float[], int, int, int, float[])} into {@code dst} from {@code dstOff} on. */
    static void packA(int mc, int kc, float[] a, int base, int rs, int cs, float[] dst, int dstOff) {
        int ir0 = 0;
        if (rs == 1 && cs != 1) {
            // Transposed A (column-major): each column of the block is one contiguous run of mc floats. Walk the
            // columns once, dealing each run out to the panels; a panel at a time would re-read every column's
            // cache lines once per panel, and with a large column stride they do not stay in L1 in between.
            int full = mc / MR;
            if (SIMD) {
                GemmSimdKernel.packColumnMajor(full, kc, a, base, cs, dst, dstOff);
            } else {
                for (int p = 0; p < kc; p++) {
                    int s = base + p * cs;
                    for (int q = 0; q < full; q++) {
                        int o = dstOff + q * MR * kc + p * MR;
                        for (int i = 0; i < MR; i++) dst[o + i] = a[s + q * MR + i];
                    }
                }
            }
            ir0 = full * MR;
        }
        for (int ir = ir0; ir < mc; ir += MR) {
            int mr = Math.min(MR, mc - ir);
            int d = dstOff + ir * kc;
            if (cs == 1 && rs != 1) {
                packTransposed(mr, MR, kc, a, base + ir * rs, rs, dst, d);
            } else {
                for (int p = 0; p < kc; p++) {
                    int s = base + p * cs + ir * rs;
                    int o = d + p * MR;
                    for (int i = 0; i < mr; i++) dst[o + i] = a[s + i * rs];
                }
            }
            if (mr < MR) {
                for (int p = 0; p < kc; p++) {
                    for (int i = mr; i < MR; i++) dst[d + p * MR + i] = 0f;
                }
            }
        }
    }

    /**
     * One micro-panel from {@code rows} source rows that each hold kc consecutive floats (a row-major A, or a
     * transposed B): {@code dst[d + p*width + i] = src[base + i*stride + p]} for i < rows, p < kc. Four depths at
     * a time: the four floats of a row are read together from one cache line and written to four packed rows.
     * Measured on 12 x 384 panels of a row-major A: 2.4-3.1 G floats/s against 0.6-0.7 for one depth at a time
     * (row by row, or depth by depth); on 32-row panels of a transposed B with a row stride of 1.5 to 8 KiB,
     * 1.5-1.8 against 0.4-1.1 for copying a cache line of each row to a buffer first.
     */
    private static void packTransposed(int rows, int width, int kc, float[] src, int base, int stride,
            float[] dst, int d) {
        int p = 0;
        for (; p + 4 <= kc; p += 4) {
            int o = d + p * width;
            for (int i = 0; i < rows; i++) {
                int s = base + i * stride + p;
                float x0 = src[s], x1 = src[s + 1], x2 = src[s + 2], x3 = src[s + 3];
                dst[o + i] = x0;
                dst[o + width + i] = x1;
                dst[o + 2 * width + i] = x2;
                dst[o + 3 * width + i] = x3;
            }
        }
        for (; p < kc; p++) {
            for (int i = 0; i < rows; i++) dst[d + p * width + i] = src[base + i * stride + p];
        }
    }

    /**
     * Packs columns [j0, j1) of the kc-row block of B at {@code base} (j0 a multiple of NR) into NR-column
     * micro-panels: panel q holds columns [q*NR, q*NR + NR) as {@code dst[q*NR*kc + p*NR + j]}, columns
     * past j1 zero.
     */
    static void packB(int kc, int j0, int j1, float[] b, int base, int rs, int cs, float[] dst) {
        packB(kc, j0, j1, b, base, rs, cs, dst, 0);
    }

    /** {@link #packB(int, int, int, float[], int, int, int, float[])} into {@code dst} from {@code dstOff} on. */
    static void packB(int kc, int j0, int j1, float[] b, int base, int rs, int cs, float[] dst, int dstOff) {
        for (int jr = j0; jr < j1; jr += NR) {
            int nr = Math.min(NR, j1 - jr);
            int d = dstOff + jr * kc;
            if (cs == 1) {
                // Row-major B: a row of the panel is contiguous (two vectors; arraycopy costs more than the copy).
                if (SIMD && nr == NR) {
                    GemmSimdKernel.packRowMajorB(kc, b, base + jr, rs, dst, d);
                } else {
                    for (int p = 0; p < kc; p++) {
                        System.arraycopy(b, base + p * rs + jr, dst, d + p * NR, nr);
                    }
                }
            } else if (rs == 1) {
                // Transposed B: the nr source rows (columns of B) each hold the kc depths contiguously.
                packTransposed(nr, NR, kc, b, base + jr * cs, cs, dst, d);
            } else {
                for (int p = 0; p < kc; p++) {
                    int s = base + p * rs + jr * cs;
                    int o = d + p * NR;
                    for (int j = 0; j < nr; j++) dst[o + j] = b[s + j * cs];
                }
            }
            if (nr < NR) {
                for (int p = 0; p < kc; p++) {
                    for (int j = nr; j < NR; j++) dst[d + p * NR + j] = 0f;
                }
            }
        }
    }

    /** Writes the top-left mr x nr of an [MR][NR] accumulator tile: c = alpha * acc + beta * c. */
    private static void writeTile(float[] tile, int mr, int nr, float alpha, float beta,
            float[] c, int cIdx, int cRs, int cCs) {
        for (int i = 0; i < mr; i++) {
            int row = cIdx + i * cRs;
            int t = i * NR;
            if (beta == 0f) {
                for (int j = 0; j < nr; j++) c[row + j * cCs] = alpha * tile[t + j];
            } else {
                for (int j = 0; j < nr; j++) {
                    int idx = row + j * cCs;
                    c[idx] = alpha * tile[t + j] + beta * c[idx];
                }
            }
        }
    }

    /** The loop path for small products: no packing, no threads. */
    private static void smallSgemm(int m, int n, int k, float alpha,
            float[] a, int aBase, int aRs, int aCs,
            float[] b, int bBase, int bRs, int bCs,
            float beta, float[] c, int cBase, int cRs, int cCs) {
        scale(m, n, beta, c, cBase, cRs, cCs);
        for (int i = 0; i < m; i++) {
            int cRow = cBase + i * cRs;
            int aRow = aBase + i * aRs;
            if (bCs == 1 && cCs == 1) {
                for (int p = 0; p < k; p++) {
                    float av = alpha * a[aRow + p * aCs];
                    int bRow = bBase + p * bRs;
                    for (int j = 0; j < n; j++) c[cRow + j] += av * b[bRow + j];
                }
            } else {
                for (int j = 0; j < n; j++) {
                    int bCol = bBase + j * bCs;
                    float sum = 0f;
                    for (int p = 0; p < k; p++) sum += a[aRow + p * aCs] * b[bCol + p * bRs];
                    c[cRow + j * cCs] += alpha * sum;
                }
            }
        }
    }

    /** C = beta * C over an m x n strided matrix; beta == 0 writes zeros without reading. */
    private static void scale(int m, int n, float beta, float[] c, int base, int rs, int cs) {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++) {
            int row = base + i * rs;
            if (beta == 0f) {
                for (int j = 0; j < n; j++) c[row + j * cs] = 0f;
            } else {
                for (int j = 0; j < n; j++) c[row + j * cs] *= beta;
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------
    // F64

    /** The F64 twin of {@link #sgemm} (gradient checks): row-parallel, accumulated per row, same contract. */
    public static void dgemm(int batch, int m, int n, int k, double alpha,
            double[] a, int aOff, int aBatchStride, int aRowStride, int aColStride,
            double[] b, int bOff, int bBatchStride, int bRowStride, int bColStride,
            double beta, double[] c, int cOff, int cBatchStride, int cRowStride, int cColStride) {
        if (batch <= 0 || m <= 0 || n <= 0) return;
        for (int bi = 0; bi < batch; bi++) {
            int aBase = aOff + bi * aBatchStride;
            int cBase = cOff + bi * cBatchStride;
            if (k <= 0 || alpha == 0.0) {
                Parallel.forRange(m, n, (from, to) -> {
                    for (int i = from; i < to; i++) scaleRow(n, beta, c, cBase + i * cRowStride, cColStride);
                });
                continue;
            }
            // Make B_b row-major contiguous so the inner loop runs over unit stride.
            double[] bRows;
            int bBase;
            int bRs;
            if (bColStride == 1) {
                bRows = b;
                bBase = bOff + bi * bBatchStride;
                bRs = bRowStride;
            } else {
                bRows = new double[k * n];
                int src = bOff + bi * bBatchStride;
                for (int p = 0; p < k; p++) {
                    for (int j = 0; j < n; j++) bRows[p * n + j] = b[src + p * bRowStride + j * bColStride];
                }
                bBase = 0;
                bRs = n;
            }
            Parallel.forRange(m, (long) n * k, (from, to) -> {
                double[] row = new double[n];
                for (int i = from; i < to; i++) {
                    java.util.Arrays.fill(row, 0.0);
                    int aRow = aBase + i * aRowStride;
                    for (int p = 0; p < k; p++) {
                        double av = a[aRow + p * aColStride];
                        int bRow = bBase + p * bRs;
                        for (int j = 0; j < n; j++) row[j] += av * bRows[bRow + j];
                    }
                    int cRow = cBase + i * cRowStride;
                    if (beta == 0.0) {
                        for (int j = 0; j < n; j++) c[cRow + j * cColStride] = alpha * row[j];
                    } else {
                        for (int j = 0; j < n; j++) {
                            int idx = cRow + j * cColStride;
                            c[idx] = alpha * row[j] + beta * c[idx];
                        }
                    }
                }
            });
        }
    }

    private static void scaleRow(int n, double beta, double[] c, int row, int cs) {
        if (beta == 1.0) return;
        for (int j = 0; j < n; j++) {
            int idx = row + j * cs;
            c[idx] = beta == 0.0 ? 0.0 : beta * c[idx];
        }
    }

    // ------------------------------------------------------------------------------------------------------

    private static int ceilDiv(int x, int y) {
        return (x + y - 1) / y;
    }

    private static int roundUp(int x, int multiple) {
        return ceilDiv(x, multiple) * multiple;
    }
}
