package org.rlhf4j.kernels;

import static org.bytedeco.cuda.global.cublas.*;
import static org.bytedeco.cuda.global.cudart.CUDA_R_16BF;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;
import static org.bytedeco.cuda.global.cudart.CUDA_R_64F;

import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.rlhf4j.tensor.BinaryOp;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;

/**
 * Batched GEMM through cuBLAS. cuBLAS is column-major, so a row-major {@code C = A B} is computed as
 * {@code C^T = B^T A^T}: each row-major operand is read as its transpose with no copy, and an operand whose last
 * two strides are swapped (a transposed view) is passed with the transpose flag. Operands that are neither
 * (other strides, a broadcast inner dimension) are copied to contiguous storage first. Batch strides may be 0
 * (broadcast A or B).
 *
 * <ul>
 *   <li>F32: {@code cublasSgemmStridedBatched}; with TF32 enabled, {@code cublasGemmStridedBatchedEx} with
 *       {@code CUBLAS_COMPUTE_32F_FAST_TF32};
 *   <li>BF16 A and B, F32 or BF16 C: {@code cublasGemmStridedBatchedEx}, F32 accumulation
 *       ({@code CUBLAS_COMPUTE_32F});
 *   <li>F64: {@code cublasDgemmStridedBatched}.
 * </ul>
 */
final class CudaGemm {
    private CudaGemm() {}

    /**
     * How cuBLAS reads one row-major operand [B, rows, cols]: as column-major X^T with leading dimension ld (no
     * flag), as column-major X needing the transpose flag, or not at all ({@code contiguous}: copy it first, then
     * it is X^T with ld = cols).
     */
    record Operand(boolean contiguous, boolean transpose, int ld, long batchStride) {}

    /**
     * The cuBLAS view of operand t [B, rows, cols]: row-major storage (unit column stride) is X^T with ld = row
     * stride; column-major storage (unit row stride) is X, read with the transpose flag, ld = column stride.
     * Strides of size-1 dimensions do not matter and are taken as whatever suits.
     */
    static Operand operand(Tensor t) {
        int rows = t.size(1), cols = t.size(2);
        int sr = rows == 1 ? Math.max(cols, 1) : t.stride(1);
        int sc = cols == 1 ? Math.max(rows, 1) : t.stride(2);
        long sb = t.size(0) == 1 ? 0 : t.stride(0);
        if (sc == 1 && sr >= Math.max(cols, 1)) return new Operand(false, false, sr, sb);
        if (sr == 1 && sc >= Math.max(rows, 1)) return new Operand(false, true, sc, sb);
        return new Operand(true, false, Math.max(cols, 1), (long) rows * cols);
    }

    /** The leading dimension of C [B, m, n] when cuBLAS can write it in place (row-major, own batches), else -1. */
    static int directLdc(Tensor c) {
        int batch = c.size(0), m = c.size(1), n = c.size(2);
        if (!(c.stride(2) == 1 || n == 1)) return -1;
        int ldc = m == 1 ? Math.max(n, 1) : c.stride(1);
        if (n == 1) ldc = Math.max(ldc, 1);
        if (ldc < n || (batch > 1 && c.stride(0) == 0)) return -1;
        return ldc;
    }

    private static int cudaType(DType t) {
        switch (t) {
            case F32: return CUDA_R_32F;
            case F64: return CUDA_R_64F;
            case BF16: return CUDA_R_16BF;
            default: throw new UnsupportedOperationException("cuda: gemm does not support " + t);
        }
    }

    static void gemm(CudaBackend backend, Tensor c, Tensor a, Tensor b, double alpha, double beta) {
        int batch = c.size(0), m = c.size(1), n = c.size(2), k = a.size(2);
        DType ct = c.dtype(), at = a.dtype(), bt = b.dtype();
        boolean bf16 = at == DType.BF16 && bt == DType.BF16 && (ct == DType.F32 || ct == DType.BF16);
        if (!bf16 && !(at == ct && bt == ct && (ct == DType.F32 || ct == DType.F64))) {
            throw new UnsupportedOperationException("cuda: gemm supports F32 x F32 -> F32, F64 x F64 -> F64 and BF16 x "
                    + "BF16 -> F32 or BF16, found " + at + " x " + bt + " -> " + ct);
        }
        if (batch == 0 || m == 0 || n == 0) return;
        if (k == 0) {
            if (beta == 0) backend.fill(c, 0);
            else backend.binaryScalar(BinaryOp.MUL, c, c, beta);
            return;
        }
        CudaContext ctx = backend.context();
        int ldc = directLdc(c);
        Tensor cc = c;
        if (ldc < 0) {
            cc = Tensor.empty(ct, c.device(), c.shape());
            if (beta != 0) backend.copy(cc, c);
            ldc = n;
        }
        long strideC = batch == 1 ? (long) m * ldc : cc.stride(0);
        Operand oa = operand(a), ob = operand(b);
        Tensor ta = oa.contiguous() ? contiguousCopy(backend, a) : a;
        Tensor tb = ob.contiguous() ? contiguousCopy(backend, b) : b;
        ctx.makeCurrent();
        cublasContext h = ctx.cublas();
        // C^T [n, m] = op(B^T) [n, k] op(A^T) [k, m]
        int opB = ob.transpose() ? CUBLAS_OP_T : CUBLAS_OP_N;
        int opA = oa.transpose() ? CUBLAS_OP_T : CUBLAS_OP_N;
        Pointer pa = CudaBackend.at(Cuda.address(ta)), pb = CudaBackend.at(Cuda.address(tb)),
                pc = CudaBackend.at(Cuda.address(cc));
        try {
            if (ct == DType.F64) {
                try (DoublePointer al = new DoublePointer(1).put(alpha); DoublePointer be = new DoublePointer(1).put(beta)) {
                    Driver.checkBlas(cublasDgemmStridedBatched(h, opB, opA, n, m, k, al,
                            new DoublePointer(pb), ob.ld(), ob.batchStride(), new DoublePointer(pa), oa.ld(), oa.batchStride(),
                            be, new DoublePointer(pc), ldc, strideC, batch), "cublasDgemmStridedBatched");
                }
            } else if (ct == DType.F32 && !bf16 && !backend.tf32()) {
                try (FloatPointer al = new FloatPointer(1).put((float) alpha); FloatPointer be = new FloatPointer(1).put((float) beta)) {
                    Driver.checkBlas(cublasSgemmStridedBatched(h, opB, opA, n, m, k, al,
                            new FloatPointer(pb), ob.ld(), ob.batchStride(), new FloatPointer(pa), oa.ld(), oa.batchStride(),
                            be, new FloatPointer(pc), ldc, strideC, batch), "cublasSgemmStridedBatched");
                }
            } else {
                int compute = bf16 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32F_FAST_TF32;
                try (FloatPointer al = new FloatPointer(1).put((float) alpha); FloatPointer be = new FloatPointer(1).put((float) beta)) {
                    Driver.checkBlas(cublasGemmStridedBatchedEx(h, opB, opA, n, m, k, al,
                            pb, cudaType(bt), ob.ld(), ob.batchStride(), pa, cudaType(at), oa.ld(), oa.batchStride(),
                            be, pc, cudaType(ct), ldc, strideC, batch, compute, CUBLAS_GEMM_DEFAULT),
                            "cublasGemmStridedBatchedEx(" + at + " x " + bt + " -> " + ct + ")");
                }
            }
        } finally {
            if (ta != a) ta.storage().close();
            if (tb != b) tb.storage().close();
        }
        if (cc != c) {
            backend.copy(c, cc);
            cc.storage().close();
        }
    }

    private static Tensor contiguousCopy(CudaBackend backend, Tensor t) {
        Tensor c = Tensor.empty(t.dtype(), t.device(), t.shape());
        backend.copy(c, t);
        return c;
    }
}
