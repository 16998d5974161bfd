package org.rlhf4j.kernels.attention;

import org.rlhf4j.kernels.CudaContext;
import org.rlhf4j.tensor.Tensor;

/**
 * Causal flash-style attention on the GPU, forward and backward: the twin of {@code CpuAttention}.
 * {@code CudaBackend} delegates {@code attention} and {@code attentionBackward} here unchanged; shapes are
 * already checked by {@code NnOps}. Kernels are PTX resources under {@code org/rlhf4j/kernels/ptx/}, loaded
 * through {@link CudaContext#kernel(String, String)}.
 */
public final class CudaAttention {
    private final CudaContext context;

    public CudaAttention(CudaContext context) {
        this.context = context;
    }

    /** The context (device, stream, allocator, modules) these kernels run on. */
    public CudaContext context() {
        return context;
    }

    private static UnsupportedOperationException missing(String op) {
        return new UnsupportedOperationException("cuda: " + op + " has no GPU kernel in this build");
    }

    /** out [B, H, T, D], lse [B, H, T] (saved), q/k/v [B, H, T, D], mask null or additive [B, T]. */
    public void attention(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, Tensor mask, double scale) {
        throw missing("attention");
    }

    /** dq, dk, dv are overwritten. */
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v,
                                  Tensor out, Tensor lse, Tensor mask, double scale) {
        throw missing("attentionBackward");
    }
}
