package org.rlhf4j.kernels.nn;

import org.rlhf4j.kernels.CudaContext;
import org.rlhf4j.tensor.Tensor;

/**
 * The fused NN ops on the GPU, forward and backward: the twins of {@code CpuNn}. {@code CudaBackend} delegates
 * each of these Backend methods here unchanged; shapes, dtypes and devices are already checked by
 * {@code NnOps}. Kernels are PTX resources under {@code org/rlhf4j/kernels/ptx/}, loaded through
 * {@link CudaContext#kernel(String, String)}.
 */
public final class CudaFused {
    private final CudaContext context;

    public CudaFused(CudaContext context) {
        this.context = context;
    }

    /** The context (device, stream, allocator, modules) these kernels run on. */
    public CudaContext context() {
        return context;
    }

    private static UnsupportedOperationException missing(String op) {
        return new UnsupportedOperationException("cuda: " + op + " has no GPU kernel in this build");
    }

    public void softmax(Tensor y, Tensor x, boolean log) {
        throw missing(log ? "logSoftmax" : "softmax");
    }

    public void softmaxBackward(Tensor dx, Tensor dy, Tensor y, boolean log) {
        throw missing(log ? "logSoftmaxBackward" : "softmaxBackward");
    }

    public void tokenLogProbs(Tensor logp, Tensor lse, Tensor logits, Tensor targets, double temperature) {
        throw missing("tokenLogProbs");
    }

    public void tokenLogProbsBackward(Tensor dlogits, Tensor g, Tensor logits, Tensor targets, Tensor lse,
                                      double temperature) {
        throw missing("tokenLogProbsBackward");
    }

    public void layerNorm(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor weight, Tensor bias, double eps) {
        throw missing("layerNorm");
    }

    public void layerNormBackward(Tensor dx, Tensor dweight, Tensor dbias, Tensor dy, Tensor x, Tensor weight,
                                  Tensor mean, Tensor rstd) {
        throw missing("layerNormBackward");
    }

    public void geluBackward(Tensor dx, Tensor dy, Tensor x) {
        throw missing("geluBackward");
    }

    public void embeddingBackward(Tensor dweight, Tensor ids, Tensor dout) {
        throw missing("embeddingBackward");
    }

    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2,
                      double eps, double weightDecay, long step) {
        throw missing("adamw");
    }
}
