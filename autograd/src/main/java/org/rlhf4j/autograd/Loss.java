package org.rlhf4j.autograd;

import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.NnOps;
import org.rlhf4j.tensor.Tensor;

/** Losses. */
public final class Loss {
    private Loss() {}

    /**
     * Mean cross-entropy of the targets under {@code logits [.., V]} over the positions where {@code mask} is
     * non-zero and the target is not {@code ignoreIndex}: {@code -sum(mask * logp) / sum(mask)}. {@code mask} is
     * null or has the targets' shape (0/1 weights in the logits' dtype). Fused: the token log-prob kernel runs
     * once forward and once backward; masked positions get exactly zero gradient. With no position counted the
     * loss is NaN, as PyTorch's mean reduction gives.
     */
    public static Variable crossEntropy(Variable logits, Tensor targets, Tensor mask, int ignoreIndex) {
        // targets and mask made on the host follow the logits to their device
        targets = targets.to(logits.data().device());
        if (mask != null) mask = mask.to(logits.data().device());
        Tensor weights = mask == null ? Tensor.onesLike(targets).to(logits.dtype()) : mask.to(logits.dtype());
        // in the logits' dtype (exact for ids below 2^24): a GPU compares and multiplies floats, not I32
        Tensor ids = targets.to(logits.dtype());
        Tensor kept = ids.ne(ignoreIndex);                              // 0 where ignored, else 1
        weights = weights.mul(kept);                                    // drop ignored positions
        Tensor safeTargets = ids.mul(kept).to(DType.I32);               // ignored positions read token 0
        Tensor[] r = NnOps.tokenLogProbs(logits.data(), safeTargets, 1.0);
        Tensor logp = r[0], lse = r[1];
        double count = weights.sum().item();
        Tensor loss = logp.mul(weights).sum().div(-count);
        Tensor rowScale = weights.div(-count); // d loss / d logp
        return Function.record("crossEntropy", loss, new Variable[] {logits},
                new Tensor[] {logits.data(), safeTargets, lse, rowScale},
                (g, s, n) -> new Tensor[] {NnOps.tokenLogProbsBackward(s[3].mul(g), s[0], s[1], s[2], 1.0)});
    }

    /** Cross-entropy over every position with no mask. */
    public static Variable crossEntropy(Variable logits, Tensor targets) {
        return crossEntropy(logits, targets, null, -100);
    }
}
