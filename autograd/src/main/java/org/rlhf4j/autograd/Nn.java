package org.rlhf4j.autograd;

import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.NnOps;
import org.rlhf4j.tensor.Tensor;

/**
 * The fused NN ops: one forward kernel and one backward kernel each, saving only what the backward kernel reads.
 * Shapes: {@code B} batch, {@code T} time, {@code C} channels, {@code V} vocabulary, {@code H} heads,
 * {@code D} head width.
 */
public final class Nn {
    private Nn() {}

    /** Softmax over the last axis; backward reads only the output. */
    public static Variable softmax(Variable x) {
        Tensor y = NnOps.softmax(x.data(), false);
        return Function.record("softmax", y, new Variable[] {x}, new Tensor[] {y},
                (g, s, n) -> new Tensor[] {NnOps.softmaxBackward(g, s[0], false)}); // y (g - sum(g y))
    }

    /** Log-softmax over the last axis; backward reads only the output. */
    public static Variable logSoftmax(Variable x) {
        Tensor y = NnOps.softmax(x.data(), true);
        return Function.record("logSoftmax", y, new Variable[] {x}, new Tensor[] {y},
                (g, s, n) -> new Tensor[] {NnOps.softmaxBackward(g, s[0], true)}); // g - exp(y) sum(g)
    }

    /**
     * Log-probabilities of the target tokens: logits {@code [B, T, V]} (any leading shape), targets {@code [B, T]}
     * I32, result {@code [B, T]} = log softmax(logits / temperature)[target]. Saves the logits (which the caller
     * holds anyway) and the per-row logsumexp {@code [B, T]}: nothing of size B*T*V is made for backward, whose
     * kernel writes {@code g (onehot - softmax) / temperature} straight from the logits.
     */
    public static Variable tokenLogProbs(Variable logits, Tensor targets, double temperature) {
        targets = targets.to(logits.data().device()); // ids made on the host follow the logits
        Tensor[] r = NnOps.tokenLogProbs(logits.data(), targets, temperature);
        Tensor logp = r[0], lse = r[1];
        return Function.record("tokenLogProbs", logp, new Variable[] {logits}, new Tensor[] {logits.data(), targets, lse},
                (g, s, n) -> new Tensor[] {NnOps.tokenLogProbsBackward(g, s[0], s[1], s[2], temperature)});
    }

    /** Layer norm over the last axis with optional affine weight and bias {@code [C]} (either may be null). */
    public static Variable layerNorm(Variable x, Variable weight, Variable bias, double eps) {
        Tensor[] r = NnOps.layerNorm(x.data(), weight == null ? null : weight.data(), bias == null ? null : bias.data(), eps);
        Tensor y = r[0], mean = r[1], rstd = r[2];
        Tensor w = weight == null ? null : weight.data();
        return Function.record("layerNorm", y, new Variable[] {x, weight, bias}, new Tensor[] {x.data(), w, mean, rstd},
                (g, s, needs) -> {
                    Tensor[] d = NnOps.layerNormBackward(g, s[0], s[1], s[2], s[3], needs[1], needs[2]);
                    return new Tensor[] {needs[0] ? d[0] : null, d[1], d[2]};
                });
    }

    /**
     * Causal multi-head attention, flash-style: q, k, v {@code [B, H, T, D]} -> {@code [B, H, T, D]}. Saves the
     * per-row logsumexp {@code [B, H, T]}; no {@code [T, T]} matrix is stored, backward recomputes the
     * probabilities block by block. {@code padMask} is null or an additive {@code [B, T]} mask over keys (0 for
     * real tokens, -inf for left padding).
     */
    public static Variable attention(Variable q, Variable k, Variable v, Tensor padMask, double scale) {
        if (padMask != null) padMask = padMask.to(q.data().device());
        if (Autocast.lowers(q.data())) return attentionBf16(q, k, v, padMask, scale);
        Tensor[] r = NnOps.attention(q.data(), k.data(), v.data(), padMask, scale);
        Tensor out = r[0], lse = r[1];
        return Function.record("attention", out, new Variable[] {q, k, v},
                new Tensor[] {q.data(), k.data(), v.data(), out, lse, padMask},
                (g, s, needs) -> NnOps.attentionBackward(g, s[0], s[1], s[2], s[3], s[4], s[5], scale));
    }

    /**
     * Causal self-attention straight from a packed projection, as GPT-2's {@code c_attn} makes it: qkv {@code [B, T,
     * 3C]} holds q, k and v side by side, each {@code [B, T, H, D]} with {@code C = H D} -> {@code [B, T, C]} with the
     * heads merged back. The same values and gradients as {@link #attention} on the three head views of qkv followed
     * by the merge, in one graph node: the split and merge are copies inside the node, and backward writes dq, dk and
     * dv into one {@code [B, T, 3C]} gradient instead of three zero-padded ones that the graph then adds. Saves q, k,
     * v as contiguous {@code [B, H, T, D]} copies (the kernel reads them in that layout), the output and its
     * logsumexp. Under {@link Autocast} the kernel runs on BF16 copies as in {@link #attention}.
     */
    public static Variable packedAttention(Variable qkv, int heads, Tensor padMask, double scale) {
        int[] s = qkv.shape();
        if (s.length != 3 || heads <= 0 || s[2] % (3 * heads) != 0) {
            throw new IllegalArgumentException("packedAttention: qkv must be [B, T, 3 * heads * D] with " + heads
                    + " heads, found shape " + java.util.Arrays.toString(s));
        }
        int b = s[0], t = s[1], c = s[2] / 3;
        Tensor packed = qkv.data();
        if (padMask != null) padMask = padMask.to(packed.device());
        DType work = Autocast.lowers(packed) ? DType.BF16 : packed.dtype();
        Tensor q = headsOf(packed, 0, heads).to(work).contiguous();
        Tensor k = headsOf(packed, 1, heads).to(work).contiguous();
        Tensor v = headsOf(packed, 2, heads).to(work).contiguous();
        Tensor[] r = NnOps.attention(q, k, v, padMask, scale);
        Tensor out = r[0], lse = r[1];
        Tensor y = Tensor.empty(packed.dtype(), packed.device(), b, t, c);
        mergedView(y, heads).copyFrom(out);
        return Function.record("packedAttention", y, new Variable[] {qkv}, new Tensor[] {q, k, v, out, lse, padMask},
                (g, sv, needs) -> {
                    Tensor dout = mergedView(g, heads).to(work).contiguous();
                    Tensor[] d = NnOps.attentionBackward(dout, sv[0], sv[1], sv[2], sv[3], sv[4], sv[5], scale);
                    Tensor dqkv = Tensor.empty(g.dtype(), g.device(), b, t, 3 * c);
                    for (int i = 0; i < 3; i++) headsOf(dqkv, i, heads).copyFrom(d[i]);
                    return new Tensor[] {dqkv};
                });
    }

    /** Part {@code part} (0 q, 1 k, 2 v) of a packed {@code [B, T, 3C]} tensor as a {@code [B, H, T, D]} view. */
    private static Tensor headsOf(Tensor packed, int part, int heads) {
        int[] s = packed.shape();
        int c = s[2] / 3;
        return packed.narrow(2, part * c, c).reshape(s[0], s[1], heads, c / heads).permute(0, 2, 1, 3);
    }

    /** A {@code [B, T, C]} tensor as the {@code [B, H, T, D]} view whose heads are its column groups. */
    private static Tensor mergedView(Tensor x, int heads) {
        int[] s = x.shape();
        return x.reshape(s[0], s[1], heads, s[2] / heads).permute(0, 2, 1, 3);
    }

    /**
     * Mixed-precision attention (see {@link Precision#BF16}): BF16 copies of q, k, v in, F32 accumulation, the BF16
     * output widened to F32; the saved logsumexp is F32. Backward rounds the incoming gradient to BF16 and widens
     * dq, dk, dv.
     */
    private static Variable attentionBf16(Variable q, Variable k, Variable v, Tensor padMask, double scale) {
        Tensor q16 = q.data().to(DType.BF16), k16 = k.data().to(DType.BF16), v16 = v.data().to(DType.BF16);
        Tensor[] r = NnOps.attention(q16, k16, v16, padMask, scale);
        Tensor out16 = r[0], lse = r[1];
        return Function.record("attention", out16.to(DType.F32), new Variable[] {q, k, v},
                new Tensor[] {q16, k16, v16, out16, lse, padMask},
                (g, s, needs) -> {
                    Tensor[] d16 = NnOps.attentionBackward(g.to(DType.BF16), s[0], s[1], s[2], s[3], s[4], s[5], scale);
                    return new Tensor[] {d16[0].to(DType.F32), d16[1].to(DType.F32), d16[2].to(DType.F32)};
                });
    }

    /** Rows of {@code weight [V, C]} picked by {@code ids} (I32, any shape) -> {@code [..ids, C]}. */
    public static Variable embedding(Variable weight, Tensor ids) {
        ids = ids.to(weight.data().device());
        Tensor y = NnOps.embedding(weight.data(), ids);
        int[] ws = weight.shape();
        return Function.record("embedding", y, new Variable[] {weight}, new Tensor[] {ids},
                (g, s, n) -> {
                    Tensor dw = Tensor.zeros(g.dtype(), g.device(), ws);
                    NnOps.embeddingBackward(dw, s[0], g); // scatter-add of rows
                    return new Tensor[] {dw};
                });
    }
}
