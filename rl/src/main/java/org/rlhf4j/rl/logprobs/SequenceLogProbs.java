package org.rlhf4j.rl.logprobs;

import org.rlhf4j.autograd.Grad;
import org.rlhf4j.autograd.Nn;
import org.rlhf4j.autograd.ShapeOps;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;

/**
 * Log-probabilities of completion tokens under a model: the shared building block of DPO, PPO and GRPO. One
 * forward over prompt + completion, the fused token log-prob op over next-token targets, and the completion mask
 * applied by position (prompt and padding contribute exactly zero, to values and to gradients). The results live
 * on the model's device; a batch built elsewhere (on the host, say) follows the model there.
 */
public final class SequenceLogProbs {
    private SequenceLogProbs() {}

    /** Per-token log-probs and the logits they came from (for entropy metrics). */
    public record WithLogits(Variable logProbs, Variable nextTokenLogits) {}

    /**
     * Per-token log-probs {@code [B, T-1]} of the targets, zero wherever the completion mask is zero; logits are
     * divided by {@code temperature} first (use the sampling temperature for RL).
     */
    public static Variable perToken(Gpt model, SequenceBatch batch, double temperature) {
        return perTokenWithLogits(model, batch, temperature).logProbs();
    }

    /** {@link #perToken} plus the next-token logits {@code [B, T-1, V]} (before the temperature). */
    public static WithLogits perTokenWithLogits(Gpt model, SequenceBatch batch, double temperature) {
        Variable logits = model.forward(batch.ids(), batch.positions(), batch.padMask()); // [B, T, V]
        int t = batch.ids().size(1);
        Variable next = ShapeOps.narrow(logits, 1, 0, t - 1);                              // predicts ids[1..]
        Variable logp = Nn.tokenLogProbs(next, batch.targets(), temperature);              // [B, T-1]
        Tensor mask = batch.completionMask().to(logp.data().device());
        return new WithLogits(logp.mul(Variable.constant(mask)), next);
    }

    /** Sum over completion tokens, {@code [B]}. */
    public static Variable sum(Gpt model, SequenceBatch batch, double temperature) {
        return perToken(model, batch, temperature).sum(1, false);
    }

    /** Mean over completion tokens, {@code [B]} (a row with no completion token gives 0). */
    public static Variable mean(Gpt model, SequenceBatch batch, double temperature) {
        Variable perToken = perToken(model, batch, temperature);
        Tensor counts = batch.completionMask().to(perToken.data().device()).sum(1, false).maximum(1.0);
        return perToken.sum(1, false).div(Variable.constant(counts));
    }

    /** Per-token log-probs without recording a graph (reference models, rollouts). */
    public static Tensor perTokenNoGrad(Gpt model, SequenceBatch batch, double temperature) {
        try (var g = Grad.disabled()) {
            return perToken(model, batch, temperature).data();
        }
    }
}
