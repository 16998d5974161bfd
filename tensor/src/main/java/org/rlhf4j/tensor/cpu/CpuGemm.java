package org.rlhf4j.tensor.cpu;

/**
 * Strided, batched matrix products on the CPU: {@code C_b = alpha * A_b · B_b + beta * C_b}.
 *
 * <p>Shapes, for every batch index b: A_b is m x k, B_b is k x n, C_b is m x n. Element (i, p) of A_b is
 * {@code a[aOff + b*aBatchStride + i*aRowStride + p*aColStride]}; B and C follow the same scheme. Strides are
 * any non-negative ints, so a transposed operand is just swapped strides and a broadcast batch has stride 0.
 * The caller has checked the shapes and that every addressed element lies inside its array.
 *
 * <p>{@link #sgemm} follows the GotoBLAS / BLIS structure. Loops, outermost first:
 * <pre>
 *   jc: NC columns of C        pack B[pc:pc+kc, jc:jc+nc] into NR-wide micro-panels  ([kc][NR] each)
 *   pc: KC of the k dimension
 *   ic: MC rows of C           pack A[ic:ic+mc, pc:pc+kc] into MR-tall micro-panels   ([kc][MR] each)
 *   jr: NR columns             the B micro-panel stays in L1 while ...
 *   ir: MR rows                ... the A micro-panels stream from L2 through the micro-kernel
 * </pre>
 * Packing reads either layout of A and B directly (no separate transposing copy) and pads edges with
 * zeros, so the micro-kernel always computes a full MR x NR tile; partial tiles, and C that is not
 * row-major, go through a small per-thread tile buffer. alpha and beta are applied when the tile is
 * written back; beta applies on the first k block only, and beta == 0 never reads C.
 *
 * <p>Threads: each batch item is cut into parts along M or N (whichever has more micro-tiles), so that
 * batch * parts is a multiple of the thread count; every part is an independent blocked product with
 * its own packing buffers, so threads never wait on each other. Products below {@link #SMALL} multiply-adds
 * skip packing and threads and run a simple loop.
 */
public final class CpuGemm {
    private static final boolean SIMD = Simd.ENABLED;

    /** Micro-tile rows and columns: 12 x 32 with AVX-512, 6 x 16 with AVX2, 4 x 16 in plain Java. */
    static final int MR = SIMD ? GemmSimdKernel.MR : GemmScalarKernel.MR;
    static final int NR = SIMD ? GemmSimdKernel.NR : GemmScalarKernel.NR;

    /** Depth of a packed block: a KC x NR micro-panel of B (32 KiB at 256 x 32) stays in L1. */
    static final int KC = Integer.getInteger("gemm.kc", 256);
    /** Rows of a packed A block: MC x KC floats (150 KiB at 144 x 256) stay in L2. */
    static final int MC = roundUp(Integer.getInteger("gemm.mc", 144), MR);
    /** Columns of a packed B block, KC x NC floats, in L3; large so that A is packed only once. */
    static final int NC = roundUp(Integer.getInteger("gemm.nc", 4096), NR);

    /** Products with fewer multiply-adds than this (per batch item) use the simple loop path. */
    static final long SMALL = 1L << 15;
    /** A batch item with at least this many multiply-adds is split over threads. */
    static final long SPLIT = 1L << 20;

    private CpuGemm() {}

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
        int threads = Parallel.threads();
        boolean splitM = ceilDiv(m, MR) >= ceilDiv(n, NR);
        int tiles = splitM ? ceilDiv(m, MR) : ceilDiv(n, NR);
        // Parts per item such that batch * parts is a multiple of the thread count.
        int parts = work >= SPLIT ? Math.min(tiles, threads / gcd(batch, threads)) : 1;
        int units = batch * parts;
        Parallel.RangeBody body = (from, to) -> {
            for (int u = from; u < to; u++) {
                int bi = u / parts;
                int part = u % parts;
                int t0 = (int) ((long) tiles * part / parts);
                int t1 = (int) ((long) tiles * (part + 1) / parts);
                int m0 = 0, m1 = m, n0 = 0, n1 = n;
                if (splitM) {
                    m0 = t0 * MR;
                    m1 = Math.min(m, t1 * MR);
                } else {
                    n0 = t0 * NR;
                    n1 = Math.min(n, t1 * NR);
                }
                if (m0 >= m1 || n0 >= n1) continue;
                blocked(m1 - m0, n1 - n0, k, alpha,
                        a, aOff + bi * aBatchStride + m0 * aRowStride, aRowStride, aColStride,
                        b, bOff + bi * bBatchStride + n0 * bColStride, bRowStride, bColStride,
                        beta, c, cOff + bi * cBatchStride + m0 * cRowStride + n0 * cColStride, cRowStride, cColStride);
            }
        };
        if (units == 1 || (long) batch * work < SPLIT) {
            body.run(0, units);
        } else {
            Parallel.forEachTask(units, body);
        }
    }

    /** Per-thread packing buffers, grown on demand and reused across calls. */
    private static final class Buffers {
        float[] packedA = new float[0];
        float[] packedB = new float[0];
        final float[] tile = new float[MR * NR];
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    /** One single-threaded blocked product; a, b and c point at element (0, 0) of the operands. */
    private static void blocked(int m, int n, int k, float alpha,
            float[] a, int aBase, int aRs, int aCs,
            float[] b, int bBase, int bRs, int bCs,
            float beta, float[] c, int cBase, int cRs, int cCs) {
        Buffers buf = BUFFERS.get();
        // Even block sizes: k = 384 runs as 2 x 192, not 256 + 128.
        int kBlocks = ceilDiv(k, KC);
        int kcMax = ceilDiv(k, kBlocks);
        int mBlocks = ceilDiv(m, MC);
        int mcMax = roundUp(ceilDiv(m, mBlocks), MR);
        int nBlocks = ceilDiv(n, NC);
        int ncMax = roundUp(ceilDiv(n, nBlocks), NR);
        if (buf.packedA.length < mcMax * kcMax) buf.packedA = new float[mcMax * kcMax];
        if (buf.packedB.length < ncMax * kcMax) buf.packedB = new float[ncMax * kcMax];
        float[] packedA = buf.packedA;
        float[] packedB = buf.packedB;
        float[] tile = buf.tile;
        boolean rowMajorC = cCs == 1;

        for (int jc = 0; jc < n; jc += ncMax) {
            int nc = Math.min(ncMax, n - jc);
            for (int pc = 0; pc < k; pc += kcMax) {
                int kc = Math.min(kcMax, k - pc);
                float betaBlock = pc == 0 ? beta : 1f;
                packB(kc, nc, b, bBase + pc * bRs + jc * bCs, bRs, bCs, packedB);
                for (int ic = 0; ic < m; ic += mcMax) {
                    int mc = Math.min(mcMax, m - ic);
                    packA(mc, kc, a, aBase + ic * aRs + pc * aCs, aRs, aCs, packedA);
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = Math.min(NR, nc - jr);
                        int bIdx = jr * kc;
                        for (int ir = 0; ir < mc; ir += MR) {
                            int mr = Math.min(MR, mc - ir);
                            int aIdx = ir * kc;
                            int cIdx = cBase + (ic + ir) * cRs + (jc + jr) * cCs;
                            if (SIMD) {
                                GemmSimdKernel.kernel(kc, packedA, aIdx, packedB, bIdx, tile);
                                if (mr == MR && nr == NR && rowMajorC) {
                                    GemmSimdKernel.update(tile, alpha, betaBlock, c, cIdx, cRs);
                                } else {
                                    writeTile(tile, mr, nr, alpha, betaBlock, c, cIdx, cRs, cCs);
                                }
                            } else {
                                GemmScalarKernel.kernel(kc, packedA, aIdx, packedB, bIdx, tile);
                                writeTile(tile, mr, nr, alpha, betaBlock, c, cIdx, cRs, cCs);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Packs the mc x kc block of A at {@code base} into MR-row micro-panels: panel q holds rows
     * [q*MR, q*MR + MR) as {@code dst[q*MR*kc + p*MR + i]}, rows past mc zero.
     */
    static void packA(int mc, int kc, float[] a, int base, int rs, int cs, float[] dst) {
        for (int ir = 0; ir < mc; ir += MR) {
            int mr = Math.min(MR, mc - ir);
            int d = ir * kc;
            if (cs == 1 && rs != 1) {
                // Row-major A: read each row contiguously, write with stride MR.
                for (int i = 0; i < mr; i++) {
                    int s = base + (ir + i) * rs;
                    for (int p = 0; p < kc; p++) dst[d + p * MR + i] = a[s + p];
                }
            } else if (rs == 1) {
                // Transposed A (column-major): a column of the panel is contiguous.
                for (int p = 0; p < kc; p++) {
                    int s = base + p * cs + ir;
                    int o = d + p * MR;
                    for (int i = 0; i < mr; i++) dst[o + i] = a[s + i];
                }
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
     * Packs the kc x nc block of B at {@code base} into NR-column micro-panels: panel q holds columns
     * [q*NR, q*NR + NR) as {@code dst[q*NR*kc + p*NR + j]}, columns past nc zero.
     */
    static void packB(int kc, int nc, float[] b, int base, int rs, int cs, float[] dst) {
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            int d = jr * kc;
            if (cs == 1) {
                // Row-major B: a row of the panel is contiguous.
                for (int p = 0; p < kc; p++) {
                    System.arraycopy(b, base + p * rs + jr, dst, d + p * NR, nr);
                }
            } else if (rs == 1) {
                // Transposed B: read each column contiguously, write with stride NR.
                for (int j = 0; j < nr; j++) {
                    int s = base + (jr + j) * cs;
                    for (int p = 0; p < kc; p++) dst[d + p * NR + j] = b[s + p];
                }
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

    private static int gcd(int x, int y) {
        while (y != 0) {
            int t = x % y;
            x = y;
            y = t;
        }
        return x;
    }
}
