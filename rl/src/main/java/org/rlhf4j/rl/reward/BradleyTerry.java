package org.rlhf4j.rl.reward;

import java.util.Arrays;
import org.rlhf4j.autograd.Elementwise;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.Tensor;

/**
 * The Bradley-Terry pairwise loss of reward modelling, as TRL's {@code RewardTrainer.compute_loss}:
 *
 * <pre>
 *   loss = -mean(logsigmoid(r_chosen - r_rejected - margin))          margin = 0 when the data has none
 *        + center_rewards_coefficient * mean((r_chosen + r_rejected)^2)   only when the coefficient is set
 * </pre>
 *
 * (log-sigmoid computed as {@code -softplus(-x)}, stable for any x). The centring term is Eisenstein et al.'s
 * (arXiv 2312.09244, eq. 2), which TRL adds when {@code center_rewards_coefficient} is not None.
 */
public final class BradleyTerry {
    private BradleyTerry() {}

    /**
     * {@code -mean(logsigmoid(rChosen - rRejected - margin))}; rewards {@code [B]}, margin {@code [B]} or null (made
     * on the host, it follows the rewards to their device).
     */
    public static Variable loss(Variable rChosen, Variable rRejected, Tensor margin) {
        checkShapes(rChosen, rRejected);
        Variable diff = rChosen.sub(rRejected);
        if (margin != null) {
            if (!Arrays.equals(margin.shape(), rChosen.shape())) {
                throw new IllegalArgumentException("BradleyTerry: margin " + Arrays.toString(margin.shape())
                        + " does not match the rewards " + Arrays.toString(rChosen.shape()));
            }
            diff = diff.sub(Variable.constant(margin.to(rChosen.dtype()).to(rChosen.data().device())));
        }
        return Elementwise.logSigmoid(diff).mean().neg();
    }

    /** {@code -mean(logsigmoid(rChosen - rRejected))}. */
    public static Variable loss(Variable rChosen, Variable rRejected) {
        return loss(rChosen, rRejected, null);
    }

    /** {@code coefficient * mean((rChosen + rRejected)^2)}: pulls the rewards towards mean zero. */
    public static Variable centeringPenalty(Variable rChosen, Variable rRejected, double coefficient) {
        checkShapes(rChosen, rRejected);
        return Elementwise.square(rChosen.add(rRejected)).mean().mul(coefficient);
    }

    /**
     * Fraction of pairs whose chosen reward is strictly higher than the rejected one (a tie counts as wrong; TRL's
     * older {@code compute_accuracy} left ties out of the count instead, with a warning).
     */
    public static double accuracy(double[] rChosen, double[] rRejected) {
        if (rChosen.length != rRejected.length) {
            throw new IllegalArgumentException("BradleyTerry.accuracy: " + rChosen.length + " chosen but " + rRejected.length + " rejected rewards");
        }
        if (rChosen.length == 0) return Double.NaN;
        int right = 0;
        for (int i = 0; i < rChosen.length; i++) if (rChosen[i] > rRejected[i]) right++;
        return (double) right / rChosen.length;
    }

    private static void checkShapes(Variable rChosen, Variable rRejected) {
        if (rChosen.shape().length != 1 || !Arrays.equals(rChosen.shape(), rRejected.shape())) {
            throw new IllegalArgumentException("BradleyTerry: rewards must both be [B]; found chosen "
                    + Arrays.toString(rChosen.shape()) + " and rejected " + Arrays.toString(rRejected.shape()));
        }
    }
}
