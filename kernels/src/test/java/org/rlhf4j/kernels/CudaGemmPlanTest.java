package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.Backends;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.tensor.cpu.CpuStorage;

/**
 * The row-major-to-cuBLAS mapping of CudaGemm (operand flags, leading dimensions, batch strides, when to copy),
 * checked without a GPU: a column-major strided-batched GEMM written from cuBLAS's definition runs on the CPU
 * tensors' own storage with exactly the arguments CudaGemm would pass, and must equal the CPU backend's GEMM.
 */
class CudaGemmPlanTest {
    private final Random rnd = new Random(21);

    /** op(X)(r, c) of a column-major matrix at base with leading dimension ld. */
    private static double at(float[] x, long base, int ld, boolean transpose, int r, int c) {
        return transpose ? x[(int) (base + c + (long) r * ld)] : x[(int) (base + r + (long) c * ld)];
    }

    /** cublasSgemmStridedBatched by its definition: C = alpha op(A) op(B) + beta C, all column-major. */
    private static void cublasReference(boolean ta, boolean tb, int m, int n, int k, double alpha,
                                        float[] a, long aBase, int lda, long strideA,
                                        float[] b, long bBase, int ldb, long strideB, double beta,
                                        float[] c, long cBase, int ldc, long strideC, int batch) {
        assertTrue(lda >= Math.max(1, ta ? k : m), "lda " + lda + " too small");
        assertTrue(ldb >= Math.max(1, tb ? n : k), "ldb " + ldb + " too small");
        assertTrue(ldc >= Math.max(1, m), "ldc " + ldc + " too small");
        for (int p = 0; p < batch; p++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int l = 0; l < k; l++) {
                        s += at(a, aBase + p * strideA, lda, ta, i, l) * at(b, bBase + p * strideB, ldb, tb, l, j);
                    }
                    int ci = (int) (cBase + p * strideC + i + (long) j * ldc);
                    c[ci] = (float) (alpha * s + (beta == 0 ? 0 : beta * c[ci]));
                }
            }
        }
    }

    private static float[] data(Tensor t) {
        return ((CpuStorage) t.storage()).floats();
    }

    /** What CudaGemm.gemm does, with the reference in place of cuBLAS and CPU tensors in place of device ones. */
    private static void planned(Tensor c, Tensor a, Tensor b, double alpha, double beta) {
        int batch = c.size(0), m = c.size(1), n = c.size(2), k = a.size(2);
        int ldc = CudaGemm.directLdc(c);
        Tensor cc = c;
        if (ldc < 0) {
            cc = c.copy();
            ldc = n;
        }
        long strideC = batch == 1 ? (long) m * ldc : cc.stride(0);
        CudaGemm.Operand oa = CudaGemm.operand(a), ob = CudaGemm.operand(b);
        Tensor ta = oa.contiguous() ? a.copy() : a, tb = ob.contiguous() ? b.copy() : b;
        cublasReference(ob.transpose(), oa.transpose(), n, m, k, alpha, data(tb), tb.offset(), ob.ld(), ob.batchStride(),
                data(ta), ta.offset(), oa.ld(), oa.batchStride(), beta, data(cc), cc.offset(), ldc, strideC, batch);
        if (cc != c) Backends.cpu().copy(c, cc);
    }

    private Tensor random(int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return Tensor.wrap(v, shape);
    }

    /** A [B, rows, cols] operand laid out in one of five ways. */
    private Tensor operand(int layout, int batch, int rows, int cols) {
        switch (layout) {
            case 0: return random(batch, rows, cols);                                   // row-major
            case 1: return random(batch, cols, rows).transpose(1, 2);                   // column-major
            case 2: return random(1, rows, cols).expand(batch, rows, cols);             // broadcast batch
            case 3: return random(batch, rows, 2 * cols + 1).slice(2, 1, 2 * cols + 1, 2); // stepped: copied
            default: return random(batch, rows + 3, cols + 2).narrow(1, 2, rows).narrow(2, 1, cols); // padded rows
        }
    }

    @Test
    void theCublasArgumentsComputeTheRowMajorProductForEveryLayout() {
        int cases = 0;
        for (int la = 0; la < 5; la++) {
            for (int lb = 0; lb < 5; lb++) {
                for (int[] s : new int[][] {{3, 5, 4, 6}, {1, 1, 7, 5}, {2, 6, 1, 3}, {2, 4, 3, 1}, {1, 1, 1, 1}}) {
                    int batch = s[0], m = s[1], n = s[2], k = s[3];
                    Tensor a = operand(la, batch, m, k), b = operand(lb, batch, k, n);
                    for (int lc = 0; lc < 3; lc++) {
                        Tensor c = lc == 0 ? random(batch, m, n) : lc == 1 ? random(batch, n, m).transpose(1, 2)
                                : random(batch, m, n + 2).narrow(2, 1, n);
                        double alpha = 0.5 + rnd.nextDouble(), beta = rnd.nextBoolean() ? 0 : -0.75;
                        Tensor expected = c.copy();
                        Backends.cpu().gemm(expected, a, b, alpha, beta);
                        Tensor found = c.copy();
                        if (lc == 1) found = c.copy().transpose(1, 2).contiguous().transpose(1, 2); // keep the layout
                        if (lc == 2) {
                            Tensor wide = random(batch, m, n + 2);
                            found = wide.narrow(2, 1, n);
                            Backends.cpu().copy(found, c);
                        }
                        planned(found, a, b, alpha, beta);
                        float[] e = expected.toFloatArray(), f = found.toFloatArray();
                        for (int i = 0; i < e.length; i++) {
                            assertEquals(e[i], f[i], 1e-4 * (1 + Math.abs(e[i])), "layouts a" + la + " b" + lb + " c" + lc
                                    + " shape " + java.util.Arrays.toString(s) + " at " + i);
                        }
                        cases++;
                    }
                }
            }
        }
        assertEquals(375, cases);
    }

    @Test
    void rowAndColumnMajorOperandsAreNeverCopied() {
        assertEquals(false, CudaGemm.operand(Tensor.zeros(DType.F32, 2, 3, 4)).contiguous());
        CudaGemm.Operand t = CudaGemm.operand(Tensor.zeros(DType.F32, 2, 4, 3).transpose(1, 2));
        assertEquals(false, t.contiguous());
        assertEquals(true, t.transpose());
        assertEquals(3, t.ld()); // column-major [3 x 4]: a column of 3 rows per step
        assertEquals(true, CudaGemm.operand(Tensor.zeros(DType.F32, 1, 3, 8).slice(2, 0, 8, 2)).contiguous());
        assertEquals(0, CudaGemm.operand(Tensor.zeros(DType.F32, 1, 3, 4).expand(5, 3, 4)).batchStride());
    }
}
