package org.rlhf4j.kernels;

/** A CUDA driver or cuBLAS call failed; the message names the call and the error code. */
public final class CudaException extends RuntimeException {
    private final int code;

    public CudaException(String message, int code) {
        super(message);
        this.code = code;
    }

    /** The CUresult or cublasStatus_t value. */
    public int code() {
        return code;
    }
}
