package org.rlhf4j.tensor;

import java.util.Arrays;

/**
 * The fused NN ops at the tensor level: input checks, output allocation, then one backend kernel each. Autograd
 * builds its differentiable ops on these. Shapes: {@code B} batch, {@code T} time, {@code C} channels,
 * {@code V} vocabulary, {@code H} heads, {@code D} head width; {@code R} is the product of leading dimensions.
 */
public final class NnOps {
    private NnOps() {}

    private static void requireFloat(String op, Tensor t, String what) {
        if (!t.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException(op + ": " + what + " must be F32 or F64, found " + t.dtype());
        }
    }

    private static void requireSame(String op, Tensor a, String an, Tensor b, String bn) {
        if (a.dtype() != b.dtype()) {
            throw new IllegalArgumentException(op + ": " + an + " is " + a.dtype() + " but " + bn + " is " + b.dtype());
        }
        if (!a.device().equals(b.device())) {
            throw new IllegalArgumentException(op + ": " + an + " is on " + a.device() + " but " + bn + " on " + b.device());
        }
    }

    private static void requireShape(String op, Tensor t, String what, int... shape) {
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(op + ": " + what + " has shape " + Shapes.str(t.shape()) + ", expected "
                    + Shapes.str(shape));
        }
    }

    private static int[] leading(Tensor t) {
        return Arrays.copyOf(t.shape(), t.dim() - 1);
    }

    private static void requireRank(String op, Tensor t, String what, int min) {
        if (t.dim() < min) {
            throw new IllegalArgumentException(op + ": " + what + " needs at least " + min + " dimension(s), found shape "
                    + Shapes.str(t.shape()));
        }
    }

    /** Softmax (or log-softmax) over the last axis. */
    public static Tensor softmax(Tensor x, boolean log) {
        String op = log ? "logSoftmax" : "softmax";
        requireFloat(op, x, "input");
        requireRank(op, x, "input", 1);
        Tensor y = Tensor.emptyLike(x);
        x.backend().softmax(y, x, log);
        return y;
    }

    /** The input gradient of softmax (or log-softmax) from the output gradient and the forward output. */
    public static Tensor softmaxBackward(Tensor dy, Tensor y, boolean log) {
        String op = log ? "logSoftmaxBackward" : "softmaxBackward";
        requireSame(op, dy, "gradient", y, "output");
        requireShape(op, dy, "gradient", y.shape());
        Tensor dx = Tensor.emptyLike(y);
        y.backend().softmaxBackward(dx, dy, y, log);
        return dx;
    }

    private static void checkTokens(String op, Tensor logits, Tensor targets, double temperature) {
        requireFloat(op, logits, "logits");
        requireRank(op, logits, "logits", 1);
        if (targets.dtype() != DType.I32) throw new IllegalArgumentException(op + ": targets must be I32, found " + targets.dtype());
        if (!targets.device().equals(logits.device())) {
            throw new IllegalArgumentException(op + ": targets are on " + targets.device() + ", logits on " + logits.device());
        }
        requireShape(op, targets, "targets", leading(logits));
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException(op + ": temperature must be a positive finite number, found " + temperature);
        }
        int vocab = logits.size(-1);
        if (targets.device().isCpu()) {
            int[] ids = targets.toIntArray();
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] < 0 || ids[i] >= vocab) {
                    throw new IndexOutOfBoundsException(op + ": target " + ids[i] + " at flat position " + i
                            + " is outside the vocabulary [0, " + vocab + ")");
                }
            }
        }
    }

    /**
     * Log-probabilities of the targets: logits {@code [.., V]}, targets {@code [..]} I32 ->
     * {@code {logp [..], lse [..]}} with {@code logp = z[target] - logsumexp(z)}, {@code z = logits / temperature}.
     */
    public static Tensor[] tokenLogProbs(Tensor logits, Tensor targets, double temperature) {
        checkTokens("tokenLogProbs", logits, targets, temperature);
        int[] rows = leading(logits);
        Tensor logp = Tensor.empty(logits.dtype(), logits.device(), rows);
        Tensor lse = Tensor.empty(logits.dtype(), logits.device(), rows);
        logits.backend().tokenLogProbs(logp, lse, logits, targets, temperature);
        return new Tensor[] {logp, lse};
    }

    /** {@code dlogits = g (onehot(target) - softmax(logits / T)) / T}, from the logits and the saved logsumexp. */
    public static Tensor tokenLogProbsBackward(Tensor g, Tensor logits, Tensor targets, Tensor lse, double temperature) {
        checkTokens("tokenLogProbsBackward", logits, targets, temperature);
        requireSame("tokenLogProbsBackward", g, "gradient", logits, "logits");
        requireShape("tokenLogProbsBackward", g, "gradient", leading(logits));
        requireShape("tokenLogProbsBackward", lse, "lse", leading(logits));
        Tensor dlogits = Tensor.emptyLike(logits);
        logits.backend().tokenLogProbsBackward(dlogits, g, logits, targets, lse, temperature);
        return dlogits;
    }

    /** Layer norm over the last axis: {@code {y, mean [..], rstd [..]}}; weight and bias {@code [C]} may be null. */
    public static Tensor[] layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        requireFloat("layerNorm", x, "input");
        requireRank("layerNorm", x, "input", 1);
        int c = x.size(-1);
        if (weight != null) {
            requireSame("layerNorm", x, "input", weight, "weight");
            requireShape("layerNorm", weight, "weight", c);
        }
        if (bias != null) {
            requireSame("layerNorm", x, "input", bias, "bias");
            requireShape("layerNorm", bias, "bias", c);
        }
        if (!(eps >= 0)) throw new IllegalArgumentException("layerNorm: eps must be >= 0, found " + eps);
        Tensor y = Tensor.emptyLike(x);
        Tensor mean = Tensor.empty(x.dtype(), x.device(), leading(x));
        Tensor rstd = Tensor.empty(x.dtype(), x.device(), leading(x));
        x.backend().layerNorm(y, mean, rstd, x, weight, bias, eps);
        return new Tensor[] {y, mean, rstd};
    }

    /** Layer norm backward: {@code {dx, dweight or null, dbias or null}}. */
    public static Tensor[] layerNormBackward(Tensor dy, Tensor x, Tensor weight, Tensor mean, Tensor rstd,
                                             boolean wantWeight, boolean wantBias) {
        requireSame("layerNormBackward", dy, "gradient", x, "input");
        requireShape("layerNormBackward", dy, "gradient", x.shape());
        int c = x.size(-1);
        Tensor dx = Tensor.emptyLike(x);
        Tensor dw = wantWeight ? Tensor.empty(x.dtype(), x.device(), c) : null;
        Tensor db = wantBias ? Tensor.empty(x.dtype(), x.device(), c) : null;
        x.backend().layerNormBackward(dx, dw, db, dy, x, weight, mean, rstd);
        return new Tensor[] {dx, dw, db};
    }

    /** The input gradient of the tanh-form GELU. */
    public static Tensor geluBackward(Tensor dy, Tensor x) {
        requireSame("geluBackward", dy, "gradient", x, "input");
        requireShape("geluBackward", dy, "gradient", x.shape());
        Tensor dx = Tensor.emptyLike(x);
        x.backend().geluBackward(dx, dy, x);
        return dx;
    }

    private static void checkAttention(String op, Tensor q, Tensor k, Tensor v, Tensor mask) {
        requireFloat(op, q, "q");
        if (q.dim() != 4) throw new IllegalArgumentException(op + ": q must be [B, H, T, D], found shape " + Shapes.str(q.shape()));
        requireSame(op, q, "q", k, "k");
        requireSame(op, q, "q", v, "v");
        requireShape(op, k, "k", q.shape());
        requireShape(op, v, "v", q.shape());
        if (mask != null) {
            if (q.dtype() == DType.BF16 && mask.dtype() == DType.F32) {
                // BF16 q may take an F32 mask (the mask is added to F32 scores)
                if (!mask.device().equals(q.device())) {
                    throw new IllegalArgumentException(op + ": q is on " + q.device() + " but mask on " + mask.device());
                }
            } else {
                requireSame(op, q, "q", mask, "mask");
            }
            requireShape(op, mask, "mask", q.size(0), q.size(2));
        }
    }

    /** Causal attention: q, k, v {@code [B, H, T, D]}, mask null or additive {@code [B, T]} -> {@code {out, lse [B, H, T]}}. */
    public static Tensor[] attention(Tensor q, Tensor k, Tensor v, Tensor mask, double scale) {
        checkAttention("attention", q, k, v, mask);
        Tensor out = Tensor.empty(q.dtype(), q.device(), q.shape());
        // BF16 q, k, v keep an F32 logsumexp: the backward recomputes the probabilities from it
        Tensor lse = Tensor.empty(q.dtype() == DType.BF16 ? DType.F32 : q.dtype(), q.device(), q.size(0), q.size(1), q.size(2));
        q.backend().attention(out, lse, q, k, v, mask, scale);
        return new Tensor[] {out, lse};
    }

    /** Attention backward: {@code {dq, dk, dv}}, recomputing the probabilities from q, k and the saved lse. */
    public static Tensor[] attentionBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                             Tensor mask, double scale) {
        checkAttention("attentionBackward", q, k, v, mask);
        requireShape("attentionBackward", dout, "gradient", q.shape());
        Tensor dq = Tensor.empty(q.dtype(), q.device(), q.shape());
        Tensor dk = Tensor.empty(q.dtype(), q.device(), q.shape());
        Tensor dv = Tensor.empty(q.dtype(), q.device(), q.shape());
        q.backend().attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, mask, scale);
        return new Tensor[] {dq, dk, dv};
    }

    /** Rows of {@code weight [V, C]} picked by {@code ids} (I32, any shape) -> {@code [..ids, C]}. */
    public static Tensor embedding(Tensor weight, Tensor ids) {
        if (weight.dim() != 2) throw new IllegalArgumentException("embedding: weight must be [V, C], found " + Shapes.str(weight.shape()));
        int[] outShape = Arrays.copyOf(ids.shape(), ids.dim() + 1);
        outShape[ids.dim()] = weight.size(1);
        return weight.indexSelect(0, ids.reshape(-1)).reshape(outShape);
    }

    /** {@code dweight[ids[n], :] += dout[n, :]} (dweight accumulates; rows with repeated ids add up). */
    public static void embeddingBackward(Tensor dweight, Tensor ids, Tensor dout) {
        if (ids.dtype() != DType.I32) throw new IllegalArgumentException("embeddingBackward: ids must be I32, found " + ids.dtype());
        requireSame("embeddingBackward", dweight, "weight gradient", dout, "output gradient");
        int c = dweight.size(1);
        int n = ids.numel();
        if (dout.numel() != n * c || dout.size(-1) != c) {
            throw new IllegalArgumentException("embeddingBackward: output gradient shape " + Shapes.str(dout.shape())
                    + " does not match " + n + " ids of width " + c);
        }
        int vocab = dweight.size(0);
        for (int id : ids.toIntArray()) {
            if (id < 0 || id >= vocab) {
                throw new IndexOutOfBoundsException("embeddingBackward: id " + id + " is outside [0, " + vocab + ")");
            }
        }
        dweight.backend().embeddingBackward(dweight, ids.reshape(-1), dout.reshape(n, c));
    }

    /** One fused AdamW step, in place on param, m and v (PyTorch semantics, decoupled weight decay). */
    public static void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2,
                             double eps, double weightDecay, long step) {
        requireFloat("adamw", param, "param");
        for (Tensor t : new Tensor[] {grad, m, v}) {
            requireSame("adamw", param, "param", t, "state");
            requireShape("adamw", t, "gradient/state", param.shape());
        }
        if (step < 1) throw new IllegalArgumentException("adamw: step must be >= 1, found " + step);
        param.backend().adamw(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step);
    }

    /**
     * One fused AdamW step over several parameters with the same hyper-parameters (in one launch where the
     * backend can): element i of each list belongs to parameter i. Every parameter is checked as
     * {@link #adamw(Tensor, Tensor, Tensor, Tensor, double, double, double, double, double, long)} checks it,
     * and all must be on one device, before anything is written.
     */
    public static void adamw(java.util.List<Tensor> params, java.util.List<Tensor> grads, java.util.List<Tensor> ms,
                             java.util.List<Tensor> vs, double lr, double beta1, double beta2, double eps,
                             double weightDecay, long step) {
        int n = params.size();
        if (grads.size() != n || ms.size() != n || vs.size() != n) {
            throw new IllegalArgumentException("adamw: " + n + " parameters but " + grads.size() + " gradients, "
                    + ms.size() + " first moments and " + vs.size() + " second moments");
        }
        if (step < 1) throw new IllegalArgumentException("adamw: step must be >= 1, found " + step);
        if (n == 0) return;
        for (int i = 0; i < n; i++) {
            Tensor param = params.get(i);
            requireFloat("adamw", param, "param " + i);
            if (!param.device().equals(params.get(0).device())) {
                throw new IllegalArgumentException("adamw: param " + i + " is on " + param.device() + ", param 0 on "
                        + params.get(0).device());
            }
            for (Tensor t : new Tensor[] {grads.get(i), ms.get(i), vs.get(i)}) {
                requireSame("adamw", param, "param " + i, t, "its state");
                requireShape("adamw", t, "gradient/state of param " + i, param.shape());
            }
        }
        params.get(0).backend().adamw(params, grads, ms, vs, lr, beta1, beta2, eps, weightDecay, step);
    }
}
