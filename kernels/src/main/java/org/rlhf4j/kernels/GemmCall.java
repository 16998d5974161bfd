package org.rlhf4j.kernels;

import org.rlhf4j.tensor.DType;

/**
 * One strided-batched GEMM exactly as it goes to cuBLAS, in cuBLAS's column-major terms: for each batch p,
 * {@code C_p = alpha op(A_p) op(B_p) + beta C_p} with op(A) [m, k], op(B) [k, n], C [m, n]; X_p starts
 * {@code p * strideX} elements after X, element (r, c) of the stored matrix at {@code r + c * ldX}. With beta = 0
 * C is not read (NaN there does not matter). {@link CudaGemm} plans it from row-major tensors; on a GPU it becomes
 * {@code cublasSgemmStridedBatched}, {@code cublasDgemmStridedBatched} or {@code cublasGemmStridedBatchedEx}
 * ({@link #function()}); a driverless test context hands it to its {@link CudaContext.GemmExecutor} instead.
 */
record GemmCall(boolean transA, boolean transB, int m, int n, int k, double alpha,
                long a, DType aType, int lda, long strideA,
                long b, DType bType, int ldb, long strideB,
                double beta, long c, DType cType, int ldc, long strideC,
                int batch, Compute compute) {

    /** The cuBLAS compute type: F32 accumulation, F32 with TF32 tensor-core inputs, or F64. */
    enum Compute { F32, F32_FAST_TF32, F64 }

    /** The cuBLAS entry point this call goes to. */
    String function() {
        if (compute == Compute.F64) return "cublasDgemmStridedBatched";
        if (compute == Compute.F32 && aType == DType.F32 && bType == DType.F32 && cType == DType.F32) {
            return "cublasSgemmStridedBatched";
        }
        return "cublasGemmStridedBatchedEx";
    }

    /** Rows of the stored A (before op): k when transposed, else m. */
    int rowsA() {
        return transA ? k : m;
    }

    int colsA() {
        return transA ? m : k;
    }

    int rowsB() {
        return transB ? n : k;
    }

    int colsB() {
        return transB ? k : n;
    }

    /** Bytes from an operand's first element to one past its last, over every batch (0 when it is empty). */
    static long spanBytes(DType type, int rows, int cols, int ld, long batchStride, int batch) {
        if (rows == 0 || cols == 0 || batch == 0) return 0;
        long elements = (long) (batch - 1) * batchStride + (long) (cols - 1) * ld + rows;
        return elements * type.byteSize();
    }

    long spanA() {
        return spanBytes(aType, rowsA(), colsA(), lda, strideA, batch);
    }

    long spanB() {
        return spanBytes(bType, rowsB(), colsB(), ldb, strideB, batch);
    }

    long spanC() {
        return spanBytes(cType, m, n, ldc, strideC, batch);
    }

    /**
     * Fails unless cuBLAS would accept the call (its CUBLAS_STATUS_INVALID_VALUE rules: sizes >= 0,
     * lda >= max(1, rows of A), ldb likewise, ldc >= max(1, m)) and it is sane beyond that: types cuBLAS takes for
     * the compute type, element-aligned addresses, non-negative batch strides, no two batches
     * writing one C.
     */
    GemmCall validate() {
        StringBuilder bad = new StringBuilder();
        if (m < 0 || n < 0 || k < 0 || batch < 0) bad.append(" negative size;");
        if (lda < Math.max(1, rowsA())) bad.append(" lda ").append(lda).append(" < max(1, ").append(rowsA()).append(");");
        if (ldb < Math.max(1, rowsB())) bad.append(" ldb ").append(ldb).append(" < max(1, ").append(rowsB()).append(");");
        if (ldc < Math.max(1, m)) bad.append(" ldc ").append(ldc).append(" < max(1, ").append(m).append(");");
        if (strideA < 0 || strideB < 0 || strideC < 0) bad.append(" negative batch stride;");
        if (batch > 1 && strideC == 0 && m > 0 && n > 0) bad.append(" strideC 0: every batch writes the same C;");
        boolean typesOk = switch (compute) {
            case F64 -> aType == DType.F64 && bType == DType.F64 && cType == DType.F64;
            case F32_FAST_TF32 -> aType == DType.F32 && bType == DType.F32 && cType == DType.F32;
            case F32 -> aType == bType && (aType == DType.F32 && cType == DType.F32
                    || aType == DType.BF16 && (cType == DType.F32 || cType == DType.BF16));
        };
        if (!typesOk) bad.append(" types ").append(aType).append(" x ").append(bType).append(" -> ").append(cType)
                .append(" with compute ").append(compute).append(';');
        if (a % aType.byteSize() != 0 || b % bType.byteSize() != 0 || c % cType.byteSize() != 0) {
            bad.append(" an address not aligned to its element size;");
        }
        if (bad.length() > 0) throw new IllegalArgumentException(function() + ":" + bad + " in " + this);
        return this;
    }
}
