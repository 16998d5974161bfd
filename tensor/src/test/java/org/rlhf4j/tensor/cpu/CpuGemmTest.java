package org.rlhf4j.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * CpuGemm against a plain F64 triple loop on random inputs.
 *
 * <p>Tolerance for sgemm, per element: {@code |got - ref| <= 2e-6 * k * |alpha| * max|a| * max|b|
 * + 2e-6 * |beta| * max|c|}: the F32 rounding of a k-term sum grows at most linearly with k, and a single
 * wrong or missing term (of size up to max|a| * max|b|) still exceeds it. dgemm: the same form with 1e-12.
 * Every array also holds sentinel values around the addressed elements, and those must come back unchanged.
 */
class CpuGemmTest {
    private static final float SENTINEL = -7777f;
    private final int savedThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(savedThreads);
    }

    /** How an operand of R x C is laid out in its array. */
    enum Layout {
        ROW_MAJOR, TRANSPOSED, GENERAL;

        int rowStride(int rows, int cols) {
            return switch (this) {
                case ROW_MAJOR -> cols + 3; // padded leading dimension
                case TRANSPOSED -> 1;
                case GENERAL -> 2 * cols + 1;
            };
        }

        int colStride(int rows, int cols) {
            return switch (this) {
                case ROW_MAJOR -> 1;
                case TRANSPOSED -> rows + 2;
                case GENERAL -> 2;
            };
        }
    }

    /** One strided batch of R x C matrices inside a sentinel-filled array. */
    static final class Operand {
        final int rows, cols, off, batchStride, rs, cs;
        final float[] data;
        /** True at the array indices that belong to some matrix of the batch. */
        final boolean[] addressed;

        Operand(Random rnd, int batch, int rows, int cols, Layout layout, boolean broadcast, float fill) {
            this.rows = rows;
            this.cols = cols;
            this.rs = layout.rowStride(rows, cols);
            this.cs = layout.colStride(rows, cols);
            int span = rows == 0 || cols == 0 ? 0 : (rows - 1) * rs + (cols - 1) * cs + 1;
            this.off = 5 + rnd.nextInt(7);
            this.batchStride = broadcast ? 0 : span + 4;
            int stored = broadcast ? 1 : batch;
            this.data = new float[off + stored * (span + 4) + 9];
            this.addressed = new boolean[data.length];
            Arrays.fill(data, SENTINEL);
            for (int b = 0; b < stored; b++) {
                for (int i = 0; i < rows; i++) {
                    for (int j = 0; j < cols; j++) {
                        data[index(b, i, j)] = Float.isNaN(fill) ? fill : 2 * rnd.nextFloat() - 1;
                        addressed[index(b, i, j)] = true;
                    }
                }
            }
        }

        int index(int b, int i, int j) {
            return off + b * batchStride + i * rs + j * cs;
        }

        double maxAbs() {
            double max = 0;
            for (float v : data) if (v != SENTINEL && !Float.isNaN(v)) max = Math.max(max, Math.abs(v));
            return max;
        }
    }

    private static void checkSgemm(Random rnd, int batch, int m, int n, int k, Layout la, Layout lb, Layout lc,
            boolean broadcastA, boolean broadcastB, float alpha, float beta, boolean nanC) {
        String what = String.format("batch=%d m=%d n=%d k=%d A=%s%s B=%s%s C=%s alpha=%s beta=%s nanC=%s threads=%d",
                batch, m, n, k, la, broadcastA ? "(bcast)" : "", lb, broadcastB ? "(bcast)" : "", lc, alpha, beta,
                nanC, Parallel.threads());
        Operand a = new Operand(rnd, batch, m, k, la, broadcastA, 0f);
        Operand b = new Operand(rnd, batch, k, n, lb, broadcastB, 0f);
        Operand c = new Operand(rnd, batch, m, n, lc, false, nanC ? Float.NaN : 0f);
        float[] cBefore = c.data.clone();

        CpuGemm.sgemm(batch, m, n, k, alpha, a.data, a.off, a.batchStride, a.rs, a.cs,
                b.data, b.off, b.batchStride, b.rs, b.cs, beta, c.data, c.off, c.batchStride, c.rs, c.cs);

        double maxC = 0;
        for (float v : cBefore) if (v != SENTINEL && !Float.isNaN(v)) maxC = Math.max(maxC, Math.abs(v));
        double tol = 2e-6 * Math.max(k, 1) * Math.abs(alpha) * a.maxAbs() * b.maxAbs() + 2e-6 * Math.abs(beta) * maxC;
        for (int bi = 0; bi < batch; bi++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int p = 0; p < k; p++) {
                        sum += (double) a.data[a.index(bi, i, p)] * b.data[b.index(bi, p, j)];
                    }
                    int ci = c.index(bi, i, j);
                    double ref = alpha * sum + (beta == 0f ? 0.0 : beta * (double) cBefore[ci]);
                    float got = c.data[ci];
                    if (!(Math.abs(got - ref) <= tol)) {
                        fail(what + ": C[" + bi + "][" + i + "][" + j + "] = " + got + ", expected " + ref + " +- " + tol);
                    }
                }
            }
        }
        for (int idx = 0; idx < c.data.length; idx++) {
            if (!c.addressed[idx] && c.data[idx] != SENTINEL) {
                fail(what + ": wrote outside C at array index " + idx);
            }
        }
    }

    /**
     * The packed layouts, element by element, against their definition (packA: {@code dst[q*MR*kc + p*MR + i] =
     * A(q*MR + i, p)}, zero past mc; packB: {@code dst[q*NR*kc + p*NR + j] = B(p, q*NR + j)}, zero past the last
     * column), for row-major, column-major and general strides, with the block at the very end of its array (the
     * vector copies must not read past it) and the destination prefilled with NaN (nothing left unwritten).
     */
    @Test
    void packingWritesEveryElementOfTheDocumentedLayout() {
        Random rnd = new Random(5);
        int mr = CpuGemm.MR, nr = CpuGemm.NR;
        int[][] blocks = {{1, 1}, {mr, 1}, {mr, 2}, {mr - 1, 7}, {3 * mr, 40}, {3 * mr + 5, 33}, {145, 97}};
        for (int[] blk : blocks) {
            int rows = blk[0], kc = blk[1];
            // {rowStride, colStride} of A (rows x kc); the block ends at the end of its array
            int[][] strides = {{kc + 3, 1}, {1, rows + 2}, {2 * kc + 1, 2}, {2, 2 * rows + 1}};
            for (int[] st : strides) {
                int span = (rows - 1) * st[0] + (kc - 1) * st[1] + 1;
                float[] a = new float[span + 11 + kc % 3];
                for (int i = 0; i < a.length; i++) a[i] = rnd.nextFloat();
                int base = a.length - span;
                int panels = (rows + mr - 1) / mr;
                float[] dst = new float[panels * mr * kc];
                Arrays.fill(dst, Float.NaN);
                CpuGemm.packA(rows, kc, a, base, st[0], st[1], dst);
                for (int q = 0; q < panels; q++) {
                    for (int p = 0; p < kc; p++) {
                        for (int i = 0; i < mr; i++) {
                            int row = q * mr + i;
                            float want = row < rows ? a[base + row * st[0] + p * st[1]] : 0f;
                            assertEquals(want, dst[q * mr * kc + p * mr + i], "packA " + rows + "x" + kc + " strides "
                                    + Arrays.toString(st) + " at row " + row + ", column " + p);
                        }
                    }
                }
                // the same block as B (kc x cols), cols = rows
                int cols = rows;
                int bSpan = (kc - 1) * st[0] + (cols - 1) * st[1] + 1;
                float[] b = new float[bSpan + 5];
                for (int i = 0; i < b.length; i++) b[i] = rnd.nextFloat();
                int bBase = b.length - bSpan;
                int bPanels = (cols + nr - 1) / nr;
                float[] bDst = new float[bPanels * nr * kc];
                Arrays.fill(bDst, Float.NaN);
                CpuGemm.packB(kc, 0, cols, b, bBase, st[0], st[1], bDst);
                for (int q = 0; q < bPanels; q++) {
                    for (int p = 0; p < kc; p++) {
                        for (int j = 0; j < nr; j++) {
                            int col = q * nr + j;
                            float want = col < cols ? b[bBase + p * st[0] + col * st[1]] : 0f;
                            assertEquals(want, bDst[q * nr * kc + p * nr + j], "packB " + kc + "x" + cols + " strides "
                                    + Arrays.toString(st) + " at row " + p + ", column " + col);
                        }
                    }
                }
            }
        }
    }

    @Test
    void matchesReferenceOnTileAndBlockEdgesForAllTransposes() {
        Random rnd = new Random(11);
        int[][] shapes = {
            {1, 1, 1}, {1, 7, 1}, {7, 1, 1}, {1, 1, 9}, {3, 5, 7}, {12, 32, 16}, {13, 33, 17}, {11, 31, 257},
            {25, 65, 300}, {64, 64, 64}, {97, 45, 129}, {145, 97, 33}, {31, 200, 513}, {300, 17, 40}, {2, 300, 70},
        };
        Layout[] ab = {Layout.ROW_MAJOR, Layout.TRANSPOSED};
        for (int[] s : shapes) {
            for (Layout la : ab) {
                for (Layout lb : ab) {
                    checkSgemm(rnd, 1, s[0], s[1], s[2], la, lb, Layout.ROW_MAJOR, false, false, 1f, 0f, false);
                }
            }
        }
    }

    @Test
    void fewRowsAgainstRowMajorBTakeTheSkinnyPathCorrectly() {
        // m <= 4 with a row-major B and enough work to pass the small-problem path: the generation-step GEMM
        Random rnd = new Random(21);
        for (int threads : new int[] {1, 2, 3}) {
            Parallel.setThreads(threads);
            for (int m = 1; m <= CpuGemm.SKINNY_ROWS + 1; m++) {
                for (Layout la : new Layout[] {Layout.ROW_MAJOR, Layout.TRANSPOSED, Layout.GENERAL}) {
                    checkSgemm(rnd, 1, m, 1153, 300, la, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, 1f, 0f, true);
                    checkSgemm(rnd, 2, m, 517, 129, la, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, true, -0.75f, 0.5f, false);
                }
            }
        }
    }

    @Test
    void matchesReferenceOnRandomShapesAtSeveralThreadCounts() {
        Random rnd = new Random(12);
        Layout[] all = Layout.values();
        for (int threads : new int[] {1, 2, 3}) {
            Parallel.setThreads(threads);
            for (int t = 0; t < 12; t++) {
                int m = 1 + rnd.nextInt(300);
                int n = 1 + rnd.nextInt(300);
                int k = 1 + rnd.nextInt(300);
                Layout la = all[rnd.nextInt(2)];
                Layout lb = all[rnd.nextInt(2)];
                Layout lc = rnd.nextInt(4) == 0 ? all[rnd.nextInt(3)] : Layout.ROW_MAJOR;
                float alpha = rnd.nextBoolean() ? 1f : -0.75f;
                float beta = switch (rnd.nextInt(3)) {
                    case 0 -> 0f;
                    case 1 -> 1f;
                    default -> 0.5f;
                };
                checkSgemm(rnd, 1, m, n, k, la, lb, lc, false, false, alpha, beta, false);
            }
            checkSgemm(rnd, 1, 517, 263, 391, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, 1f, 0f, false);
            checkSgemm(rnd, 1, 263, 517, 391, Layout.TRANSPOSED, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, 1f, 1f, false);
            checkSgemm(rnd, 1, 391, 263, 517, Layout.ROW_MAJOR, Layout.TRANSPOSED, Layout.ROW_MAJOR, false, false, 2f, 0.5f, false);
        }
    }

    @Test
    void parallelProductsWithSeveralDepthAndColumnBlocksMatchReference() {
        // Depth above 2 * KC (three k blocks in one round), rows not a multiple of MR or of the thread count, and
        // one product wide and deep enough to need more than one column block of packed B.
        Random rnd = new Random(15);
        int wide = CpuGemm.PACKED_B_BUDGET / 1100 + 100;
        for (int threads : new int[] {2, 3}) {
            Parallel.setThreads(threads);
            checkSgemm(rnd, 1, 301, 130, 1000, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, 1f, 0.5f, false);
            checkSgemm(rnd, 1, 150, 97, 900, Layout.TRANSPOSED, Layout.TRANSPOSED, Layout.ROW_MAJOR, false, false, -1f, 0f, true);
            checkSgemm(rnd, 1, 37, 300, 800, Layout.ROW_MAJOR, Layout.TRANSPOSED, Layout.GENERAL, false, false, 1f, 1f, false);
        }
        Parallel.setThreads(2);
        checkSgemm(rnd, 1, 13, wide, 1100, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, 1f, 0f, false);
    }

    @Test
    void depthBeyondOneGroupAndSeveralChunksOfCMatchReference() {
        // Depth above K_GROUP (two groups of k blocks, so C is read back between them), a C wide enough for several
        // chunks per work item, and beta != 0 (the touched tiles): on one thread and in parallel.
        Random rnd = new Random(16);
        int k = CpuGemm.K_GROUP + 3 * CpuGemm.KC / 2 + 5;
        int wide = 3 * CpuGemm.C_CHUNK / CpuGemm.MC + 2 * CpuGemm.NR + 3;
        for (int threads : new int[] {1, 2}) {
            Parallel.setThreads(threads);
            checkSgemm(rnd, 1, CpuGemm.MC + 7, wide, k, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR,
                    false, false, 1f, 1f, false);
            checkSgemm(rnd, 1, 2 * CpuGemm.MR + 1, wide, k, Layout.TRANSPOSED, Layout.TRANSPOSED, Layout.ROW_MAJOR,
                    false, false, 0.5f, -2f, false);
            checkSgemm(rnd, 1, 3 * CpuGemm.MR, 2 * CpuGemm.NR + 5, k, Layout.ROW_MAJOR, Layout.TRANSPOSED,
                    Layout.GENERAL, false, false, 1f, 0f, true);
        }
    }

    @Test
    void handlesGeneralStridesOnEveryOperand() {
        Random rnd = new Random(13);
        for (int threads : new int[] {1, 2}) {
            Parallel.setThreads(threads);
            checkSgemm(rnd, 1, 5, 6, 7, Layout.GENERAL, Layout.GENERAL, Layout.GENERAL, false, false, 1f, 0f, false);
            checkSgemm(rnd, 1, 77, 90, 130, Layout.GENERAL, Layout.GENERAL, Layout.GENERAL, false, false, 1.5f, 0.5f, false);
            checkSgemm(rnd, 2, 150, 70, 260, Layout.GENERAL, Layout.TRANSPOSED, Layout.TRANSPOSED, false, false, 1f, 1f, false);
            checkSgemm(rnd, 1, 130, 300, 100, Layout.TRANSPOSED, Layout.GENERAL, Layout.GENERAL, false, false, 1f, 0f, true);
        }
    }

    @Test
    void batchesWithBroadcastOperands() {
        Random rnd = new Random(14);
        for (int threads : new int[] {1, 2, 3}) {
            Parallel.setThreads(threads);
            // Small items: the loop path, split over the batch.
            checkSgemm(rnd, 5, 9, 10, 11, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, true, 1f, 0f, false);
            // Blocked items, batch not a multiple of the thread count.
            checkSgemm(rnd, 3, 70, 90, 80, Layout.ROW_MAJOR, Layout.TRANSPOSED, Layout.ROW_MAJOR, true, false, 1f, 0.5f, false);
            checkSgemm(rnd, 4, 64, 48, 100, Layout.TRANSPOSED, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, -1f, 1f, false);
            // Large enough items to be split over threads as well.
            checkSgemm(rnd, 3, 140, 130, 120, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, true, 1f, 0f, true);
        }
    }

    @Test
    void betaZeroOverwritesNanWithoutReadingC() {
        Random rnd = new Random(15);
        for (int threads : new int[] {1, 2}) {
            Parallel.setThreads(threads);
            for (int[] s : new int[][] {{3, 4, 5}, {40, 50, 60}, {100, 150, 90}}) {
                for (Layout lc : Layout.values()) {
                    checkSgemm(rnd, 2, s[0], s[1], s[2], Layout.ROW_MAJOR, Layout.TRANSPOSED, lc, false, false, 0.5f, 0f, true);
                }
            }
        }
    }

    @Test
    void zeroInnerDimensionScalesCByBeta() {
        Random rnd = new Random(16);
        for (float beta : new float[] {0f, 1f, -2f}) {
            checkSgemm(rnd, 2, 20, 30, 0, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, 1f, beta, false);
        }
        checkSgemm(rnd, 1, 20, 30, 0, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.GENERAL, false, false, 1f, 0f, true);
        // alpha == 0: C = beta * C and A, B are not needed.
        checkSgemm(rnd, 1, 50, 60, 70, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, 0f, 3f, false);
    }

    @Test
    void emptyOutputLeavesEverythingUntouched() {
        float[] c = {1f, 2f, 3f};
        float[] a = {4f};
        CpuGemm.sgemm(1, 0, 3, 1, 1f, a, 0, 0, 1, 1, a, 0, 0, 1, 1, 0f, c, 0, 0, 3, 1);
        CpuGemm.sgemm(1, 3, 0, 1, 1f, a, 0, 0, 1, 1, a, 0, 0, 1, 1, 0f, c, 0, 0, 3, 1);
        CpuGemm.sgemm(0, 1, 3, 1, 1f, a, 0, 0, 1, 1, a, 0, 0, 1, 1, 0f, c, 0, 0, 3, 1);
        assertTrue(Arrays.equals(new float[] {1f, 2f, 3f}, c));
    }

    @Test
    void dgemmMatchesReferenceForAllLayouts() {
        Random rnd = new Random(17);
        Layout[] all = Layout.values();
        for (int threads : new int[] {1, 2, 3}) {
            Parallel.setThreads(threads);
            for (int t = 0; t < 12; t++) {
                int batch = 1 + rnd.nextInt(3);
                int m = 1 + rnd.nextInt(70);
                int n = 1 + rnd.nextInt(70);
                int k = rnd.nextInt(70);
                Layout la = all[rnd.nextInt(3)];
                Layout lb = all[rnd.nextInt(3)];
                Layout lc = all[rnd.nextInt(3)];
                double alpha = rnd.nextBoolean() ? 1.0 : -0.3;
                double beta = t % 3 == 0 ? 0.0 : 0.7;
                checkDgemm(rnd, batch, m, n, k, la, lb, lc, rnd.nextInt(4) == 0, alpha, beta);
            }
        }
    }

    private static void checkDgemm(Random rnd, int batch, int m, int n, int k, Layout la, Layout lb, Layout lc,
            boolean broadcastB, double alpha, double beta) {
        String what = String.format("dgemm batch=%d m=%d n=%d k=%d A=%s B=%s C=%s alpha=%s beta=%s", batch, m, n, k,
                la, lb, lc, alpha, beta);
        Operand a = new Operand(rnd, batch, m, k, la, false, 0f);
        Operand b = new Operand(rnd, batch, k, n, lb, broadcastB, 0f);
        Operand c = new Operand(rnd, batch, m, n, lc, false, beta == 0.0 ? Float.NaN : 0f);
        double[] ad = toDouble(a.data, rnd);
        double[] bd = toDouble(b.data, rnd);
        double[] cd = toDouble(c.data, rnd);
        double[] cBefore = cd.clone();
        CpuGemm.dgemm(batch, m, n, k, alpha, ad, a.off, a.batchStride, a.rs, a.cs,
                bd, b.off, b.batchStride, b.rs, b.cs, beta, cd, c.off, c.batchStride, c.rs, c.cs);
        for (int bi = 0; bi < batch; bi++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    double scale = 0;
                    for (int p = 0; p < k; p++) {
                        double term = ad[a.index(bi, i, p)] * bd[b.index(bi, p, j)];
                        sum += term;
                        scale += Math.abs(term);
                    }
                    int ci = c.index(bi, i, j);
                    double old = beta == 0.0 ? 0.0 : beta * cBefore[ci];
                    double ref = alpha * sum + old;
                    double tol = 1e-12 * (Math.abs(alpha) * scale + Math.abs(old)) + 1e-300;
                    assertEquals(ref, cd[ci], tol, what + ": C[" + bi + "][" + i + "][" + j + "]");
                }
            }
        }
        for (int idx = 0; idx < cd.length; idx++) {
            if (!c.addressed[idx]) assertEquals(SENTINEL, cd[idx], 0.0, what + ": wrote outside C at " + idx);
        }
    }

    /** Widens to F64, giving every addressed element a full-precision random value. */
    private static double[] toDouble(float[] data, Random rnd) {
        double[] out = new double[data.length];
        for (int i = 0; i < data.length; i++) {
            float v = data[i];
            out[i] = v == SENTINEL || Float.isNaN(v) ? v : 2 * rnd.nextDouble() - 1;
        }
        return out;
    }
}
