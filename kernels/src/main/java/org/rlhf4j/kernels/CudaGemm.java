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
 * (broadcast A or B). The plan is a {@link GemmCall} (cuBLAS's arguments, nothing else), which the context issues
 * to cuBLAS, or, on a driverless test context, to its GEMM executor.
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
        GemmCall.Compute compute = ct == DType.F64 ? GemmCall.Compute.F64
                : !bf16 && backend.tf32() ? GemmCall.Compute.F32_FAST_TF32 : GemmCall.Compute.F32;
        // C^T [n, m] = op(B^T) [n, k] op(A^T) [k, m]
        GemmCall call = new GemmCall(ob.transpose(), oa.transpose(), n, m, k, alpha,
                Cuda.address(tb), bt, ob.ld(), ob.batchStride(), Cuda.address(ta), at, oa.ld(), oa.batchStride(),
                beta, Cuda.address(cc), ct, ldc, strideC, batch, compute);
        try {
            ctx.gemm(call);
        } finally {
            if (ta != a) ta.storage().close();
            if (tb != b) tb.storage().close();
        }
        if (cc != c) {
            backend.copy(c, cc);
            cc.storage().close();
        }
    }

    /** Issues a planned call to cuBLAS on the context's stream. */
    static void cublas(CudaContext ctx, GemmCall call) {
        ctx.makeCurrent();
        cublasContext h = ctx.cublas();
        int opA = call.transA() ? CUBLAS_OP_T : CUBLAS_OP_N, opB = call.transB() ? CUBLAS_OP_T : CUBLAS_OP_N;
        Pointer pa = CudaBackend.at(call.a()), pb = CudaBackend.at(call.b()), pc = CudaBackend.at(call.c());
        String function = call.function();
        if (call.compute() == GemmCall.Compute.F64) {
            try (DoublePointer al = new DoublePointer(1).put(call.alpha());
                 DoublePointer be = new DoublePointer(1).put(call.beta())) {
                Driver.checkBlas(cublasDgemmStridedBatched(h, opA, opB, call.m(), call.n(), call.k(), al,
                        new DoublePointer(pa), call.lda(), call.strideA(), new DoublePointer(pb), call.ldb(),
                        call.strideB(), be, new DoublePointer(pc), call.ldc(), call.strideC(), call.batch()), function);
            }
            return;
        }
        try (FloatPointer al = new FloatPointer(1).put((float) call.alpha());
             FloatPointer be = new FloatPointer(1).put((float) call.beta())) {
            if (function.equals("cublasSgemmStridedBatched")) {
                Driver.checkBlas(cublasSgemmStridedBatched(h, opA, opB, call.m(), call.n(), call.k(), al,
                        new FloatPointer(pa), call.lda(), call.strideA(), new FloatPointer(pb), call.ldb(),
                        call.strideB(), be, new FloatPointer(pc), call.ldc(), call.strideC(), call.batch()), function);
            } else {
                int compute = call.compute() == GemmCall.Compute.F32 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32F_FAST_TF32;
                Driver.checkBlas(cublasGemmStridedBatchedEx(h, opA, opB, call.m(), call.n(), call.k(), al,
                        pa, cudaType(call.aType()), call.lda(), call.strideA(), pb, cudaType(call.bType()), call.ldb(),
                        call.strideB(), be, pc, cudaType(call.cType()), call.ldc(), call.strideC(), call.batch(),
                        compute, CUBLAS_GEMM_DEFAULT),
                        function + "(" + call.aType() + " x " + call.bType() + " -> " + call.cType() + ")");
            }
        }
    }

    private static Tensor contiguousCopy(CudaBackend backend, Tensor t) {
        Tensor c = Tensor.empty(t.dtype(), t.device(), t.shape());
        backend.copy(c, t);
        return c;
    }
}
