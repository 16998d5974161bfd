package org.rlhf4j.tensor;

/**
 * What every device implements, completely, so that a model runs unchanged on either. The {@link Tensor} layer
 * checks shapes, dtypes and devices, allocates outputs and broadcasts operands (by expanding them to the
 * output's shape with zero strides) before calling in here; backends may assume their arguments are
 * consistent: same shape where it says so, all on this backend's device.
 *
 * <p>Outputs are written through their strides; an output may alias an input exactly (in-place forms), never
 * partially.
 */
public interface Backend {
    /** The device this backend drives. */
    Device device();

    // ---- memory ----

    /** New storage of {@code size} elements; contents unspecified. */
    Storage allocate(DType dtype, int size);

    /** {@code dst = src} elementwise, same shape, any strides; converts between dtypes. */
    void copy(Tensor dst, Tensor src);

    /** Sets every element of {@code dst} to {@code value}. */
    void fill(Tensor dst, double value);

    /** Copies a CPU tensor into this device's {@code dst} (same shape and dtype). */
    void copyFromHost(Tensor dst, Tensor hostSrc);

    /** Copies this device's {@code src} into a CPU tensor (same shape and dtype). */
    void copyToHost(Tensor hostDst, Tensor src);

    // ---- elementwise ----

    /** {@code dst = op(src)}, same shape. */
    void unary(UnaryOp op, Tensor dst, Tensor src);

    /** {@code dst = op(a, b)}; a and b already expanded to dst's shape. */
    void binary(BinaryOp op, Tensor dst, Tensor a, Tensor b);

    /** {@code dst = op(a, scalar)}. */
    void binaryScalar(BinaryOp op, Tensor dst, Tensor a, double scalar);

    /** {@code dst = op(a, b, c)}; all already expanded to dst's shape. */
    void ternary(TernaryOp op, Tensor dst, Tensor a, Tensor b, Tensor c);

    /** {@code dst = clamp(src, min, max)}; either bound may be infinite. */
    void clamp(Tensor dst, Tensor src, double min, double max);

    // ---- reductions ----

    /** Reduces {@code src} along {@code axis} into {@code dst}, whose shape is src's with that axis of size 1. */
    void reduce(ReduceOp op, Tensor dst, Tensor src, int axis);

    /** Index of the first maximum along {@code axis}; dst (I32) has src's shape with that axis of size 1. */
    void argmax(Tensor dst, Tensor src, int axis);

    // ---- linear algebra ----

    /**
     * Batched GEMM: for each b, {@code c[b] = alpha * a[b] · b[b] + beta * c[b]} with a [B,M,K], b [B,K,N] and
     * c [B,M,N], all with arbitrary strides (a transposed operand is a view whose last two strides are
     * swapped; a broadcast batch has stride 0). When beta is 0, c is not read.
     */
    void gemm(Tensor c, Tensor a, Tensor b, double alpha, double beta);

    // ---- indexing ----

    /** {@code dst[..., i, ...] = src[..., index[..., i, ...], ...]} along axis; dst and index share a shape. */
    void gather(Tensor dst, Tensor src, int axis, Tensor index);

    /** {@code dst[..., index[..., i, ...], ...] += src[..., i, ...]} along axis; src and index share a shape. */
    void scatterAdd(Tensor dst, int axis, Tensor index, Tensor src);

    /** {@code dst} takes the slices {@code index[j]} of src along axis; index is 1-d I32. */
    void indexSelect(Tensor dst, Tensor src, int axis, Tensor index);

    // ---- random ----

    /** Uniform numbers in [lo, hi) from the Philox stream (seed, offset), element i in row-major order. */
    void uniform(Tensor dst, long seed, long offset, double lo, double hi);

    /** Normal numbers from the Philox stream (seed, offset), element i in row-major order. */
    void normal(Tensor dst, long seed, long offset, double mean, double std);

    // ---- fused NN ops (forward and backward); shapes are checked by NnOps ----

    /** Softmax (or log-softmax) over the last axis. */
    void softmax(Tensor y, Tensor x, boolean log);

    /** softmax: dx = y (dy - sum(dy y)); log-softmax: dx = dy - exp(y) sum(dy), from the forward output y. */
    void softmaxBackward(Tensor dx, Tensor dy, Tensor y, boolean log);

    /** logp = z[target] - lse with z = logits / T and lse = logsumexp(z) per row; lse is saved for backward. */
    void tokenLogProbs(Tensor logp, Tensor lse, Tensor logits, Tensor targets, double temperature);

    /** dlogits = g (onehot(target) - exp(z - lse)) / T. */
    void tokenLogProbsBackward(Tensor dlogits, Tensor g, Tensor logits, Tensor targets, Tensor lse, double temperature);

    /** Layer norm over the last axis; weight and bias may be null; mean and rstd are saved. */
    void layerNorm(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor weight, Tensor bias, double eps);

    /** Layer norm backward; dweight and dbias (overwritten) may be null. */
    void layerNormBackward(Tensor dx, Tensor dweight, Tensor dbias, Tensor dy, Tensor x, Tensor weight, Tensor mean,
                           Tensor rstd);

    /** dx = dy * gelu'(x), tanh form. */
    void geluBackward(Tensor dx, Tensor dy, Tensor x);

    /** Causal flash-style attention over [B, H, T, D]; lse [B, H, T] is saved; mask is null or additive [B, T]. */
    void attention(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, Tensor mask, double scale);

    /** Attention backward; dq, dk, dv are overwritten. */
    void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out,
                           Tensor lse, Tensor mask, double scale);

    /** dweight[ids[n], :] += dout[n, :]. */
    void embeddingBackward(Tensor dweight, Tensor ids, Tensor dout);

    /** One AdamW step in place (decoupled weight decay, bias correction). */
    void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps,
               double weightDecay, long step);

    /**
     * One AdamW step over several parameters that share the hyper-parameters: list element i of each list
     * belongs to parameter i, every update is the one {@link #adamw} makes. A backend may do them all in one
     * launch; the default updates them one by one.
     */
    default void adamw(java.util.List<Tensor> params, java.util.List<Tensor> grads, java.util.List<Tensor> ms,
                       java.util.List<Tensor> vs, double lr, double beta1, double beta2, double eps, double weightDecay,
                       long step) {
        for (int i = 0; i < params.size(); i++) {
            adamw(params.get(i), grads.get(i), ms.get(i), vs.get(i), lr, beta1, beta2, eps, weightDecay, step);
        }
    }
}
