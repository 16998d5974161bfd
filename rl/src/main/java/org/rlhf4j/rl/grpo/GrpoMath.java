package org.rlhf4j.rl.grpo;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.rlhf4j.autograd.Elementwise;
import org.rlhf4j.autograd.Grad;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;

/**
 * The arithmetic of GRPO as TRL's {@code GRPOTrainer} does it: group-relative advantages
 * ({@code _generate_and_score_completions}) and the clipped surrogate loss with its k3 KL term and four ways to
 * aggregate tokens ({@code _compute_loss}), with the metrics TRL logs.
 *
 * <p>Shapes: {@code G} completions per prompt, {@code B} completions in a batch (a multiple of {@code G} for the
 * advantages), {@code T} completion positions. Per-token tensors are {@code [B, T]} with a 0/1 {@code mask [B, T]}
 * of the same dtype (TRL's {@code completion_mask}). Masked positions are selected away ({@code where(mask, x, 0)})
 * before any arithmetic, so nothing they hold reaches a value or a gradient.
 * Tensors may be on any device, all on one; the loss downloads its mask count and its statistics in two reads.
 *
 * <p>Supported: token-level importance sampling ({@code importance_sampling_level="token"}, TRL's default).
 * Not here: sequence-level weights (GSPO), two-sided clipping ({@code delta}), the entropy mask, vLLM
 * importance-sampling correction. TRL defaults, for callers: {@link #DEFAULT_EPSILON} (and
 * {@code epsilon_high = epsilon}), {@link #DEFAULT_BETA}, {@link #DEFAULT_LOSS_TYPE},
 * {@link #DEFAULT_SCALE_REWARDS}.
 */
public final class GrpoMath {
    private GrpoMath() {}

    /** TRL {@code GRPOConfig.epsilon}; {@code epsilon_high} defaults to it. */
    public static final double DEFAULT_EPSILON = 0.2;
    /** TRL {@code GRPOConfig.beta}: no KL term, no reference model. */
    public static final double DEFAULT_BETA = 0.0;
    /** TRL {@code GRPOConfig.loss_type} (earlier releases defaulted to "bnpo", and before that "grpo"). */
    public static final String DEFAULT_LOSS_TYPE = "dapo";
    /** TRL {@code GRPOConfig.scale_rewards} ({@code True} in earlier releases, which means "group"). */
    public static final String DEFAULT_SCALE_REWARDS = "group";
    /** Added to the standard deviation before dividing, as TRL. */
    public static final double STD_EPS = 1e-4;

    // =====================================================================================================
    // advantages
    // =====================================================================================================

    /**
     * Group-relative advantages and TRL's reward metrics.
     *
     * @param advantages {@code [B]} {@code (r - groupMean) / (std + 1e-4)}, or {@code r - groupMean} for "none"
     * @param stdRewards {@code [B]} the std each reward was scaled by (its group's, or the batch's); for "none",
     *     the group std, which TRL still computes for its metrics
     * @param reward TRL {@code reward}: the mean reward
     * @param rewardStd TRL {@code reward_std}: the mean of {@code stdRewards}
     * @param fracRewardZeroStd TRL {@code frac_reward_zero_std}: the fraction of rows whose {@code stdRewards} is
     *     0 ({@code torch.isclose(std, 0)}: {@code |std| <= 1e-8})
     */
    public record GroupAdvantages(Tensor advantages, Tensor stdRewards, double reward, double rewardStd,
                                  double fracRewardZeroStd) {
        /** The metrics under TRL's names. */
        public Map<String, Double> metrics() {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("reward", reward);
            m.put("reward_std", rewardStd);
            m.put("frac_reward_zero_std", fracRewardZeroStd);
            return m;
        }
    }

    /**
     * TRL's advantages:
     * <pre>
     *   mean_grouped = rewards.view(-1, G).mean(1).repeat_interleave(G)
     *   adv          = rewards - mean_grouped
     *   std          = "group" or "none": rewards.view(-1, G).std(1).repeat_interleave(G)   (unbiased)
     *                  "batch":           rewards.std()                                     (unbiased, whole batch)
     *   if scale != "none": adv = adv / (std + 1e-4)
     * </pre>
     * Computed in F64 (TRL: in the rewards' dtype); the results come back in the input dtype.
     *
     * @param rewards {@code [B]}: consecutive groups of {@code groupSize} completions of one prompt
     * @param groupSize {@code G}, TRL's {@code num_generations}; at least 2 (an unbiased std needs two values)
     * @param scaleRewards "group", "batch" or "none"
     */
    public static GroupAdvantages advantages(Tensor rewards, int groupSize, String scaleRewards) {
        if (!scaleRewards.equals("group") && !scaleRewards.equals("batch") && !scaleRewards.equals("none")) {
            throw new IllegalArgumentException("advantages: scaleRewards must be \"group\", \"batch\" or \"none\", found \""
                    + scaleRewards + "\"");
        }
        if (rewards.dim() != 1) {
            throw new IllegalArgumentException("advantages: rewards must be 1-d [B], found " + Arrays.toString(rewards.shape()));
        }
        if (rewards.dtype() == DType.I32) throw new IllegalArgumentException("advantages: rewards must be F32 or F64, found I32");
        if (groupSize < 2) {
            throw new IllegalArgumentException("advantages: groupSize must be at least 2 (TRL's num_generations), found " + groupSize);
        }
        int n = rewards.size(0);
        if (n == 0 || n % groupSize != 0) {
            throw new IllegalArgumentException("advantages: " + n + " rewards do not split into groups of " + groupSize);
        }
        double[] r = rewards.toDoubleArray();
        double[] adv = new double[n], std = new double[n];
        double batchStd = "batch".equals(scaleRewards) ? unbiasedStd(r, 0, n) : 0;
        for (int g = 0; g < n; g += groupSize) {
            double mean = 0;
            for (int i = g; i < g + groupSize; i++) mean += r[i];
            mean /= groupSize;
            double s = "batch".equals(scaleRewards) ? batchStd : unbiasedStd(r, g, groupSize);
            for (int i = g; i < g + groupSize; i++) {
                adv[i] = r[i] - mean;
                std[i] = s;
            }
        }
        double meanReward = 0, meanStd = 0, zero = 0;
        for (int i = 0; i < n; i++) {
            if (!"none".equals(scaleRewards)) adv[i] = adv[i] / (std[i] + STD_EPS);
            meanReward += r[i];
            meanStd += std[i];
            if (Math.abs(std[i]) <= 1e-8) zero++;
        }
        Tensor advantages = Tensor.of(adv).to(rewards.dtype()).to(rewards.device());
        Tensor stdRewards = Tensor.of(std).to(rewards.dtype()).to(rewards.device());
        return new GroupAdvantages(advantages, stdRewards, meanReward / n, meanStd / n, zero / n);
    }

    /** torch.std (Bessel-corrected) of {@code x[from, from + count)}. */
    private static double unbiasedStd(double[] x, int from, int count) {
        double mean = 0;
        for (int i = from; i < from + count; i++) mean += x[i];
        mean /= count;
        double ss = 0;
        for (int i = from; i < from + count; i++) ss += (x[i] - mean) * (x[i] - mean);
        return Math.sqrt(ss / (count - 1));
    }

    // =====================================================================================================
    // KL
    // =====================================================================================================

    /** TRL's per-token k3 KL: {@code exp(ref - logp) - (ref - logp) - 1}, &gt;= 0 everywhere. */
    public static Tensor perTokenKl(Tensor logp, Tensor refLogp) {
        requireSameShape("perTokenKl", logp, "logp", refLogp, "refLogp");
        requireSameDType("perTokenKl", logp, "logp", refLogp, "refLogp");
        Tensor d = refLogp.sub(logp);
        return d.exp().sub(d).sub(1.0);
    }

    /** The k3 KL, differentiable in {@code logp}: d/dlogp = 1 - exp(ref - logp). */
    public static Variable perTokenKl(Variable logp, Tensor refLogp) {
        requireSameShape("perTokenKl", logp.data(), "logp", refLogp, "refLogp");
        requireSameDType("perTokenKl", logp.data(), "logp", refLogp, "refLogp");
        Variable d = Variable.constant(refLogp).sub(logp);
        return d.exp().sub(d).add(-1.0);
    }

    // =====================================================================================================
    // loss
    // =====================================================================================================

    /**
     * The GRPO loss and the metrics TRL logs from {@code _compute_loss} (one process: TRL's gathered
     * {@code nanmean}, {@code nanmin} and {@code nanmax} over processes all equal the local value).
     *
     * @param loss the aggregated loss, a one-element variable (not divided by gradient-accumulation steps)
     * @param kl TRL {@code kl}: masked mean of the per-token k3 KL; NaN when {@code beta == 0} (TRL logs none)
     * @param clipRatioLowMean TRL {@code clip_ratio/low_mean}: tokens with {@code coef1 < 1 - epsLow} and
     *     {@code adv < 0}
     * @param clipRatioHighMean TRL {@code clip_ratio/high_mean}: tokens with {@code coef1 > 1 + epsHigh} and
     *     {@code adv > 0}
     * @param clipRatioRegionMean TRL {@code clip_ratio/region_mean}: tokens clipped either way
     */
    public record Loss(Variable loss, double kl, double clipRatioLowMean, double clipRatioHighMean,
                       double clipRatioRegionMean) {
        /** The metrics under TRL's names; "kl" only when the KL term was computed. */
        public Map<String, Double> metrics() {
            Map<String, Double> m = new LinkedHashMap<>();
            if (!Double.isNaN(kl)) m.put("kl", kl);
            m.put("clip_ratio/low_mean", clipRatioLowMean);
            m.put("clip_ratio/low_min", clipRatioLowMean);
            m.put("clip_ratio/high_mean", clipRatioHighMean);
            m.put("clip_ratio/high_max", clipRatioHighMean);
            m.put("clip_ratio/region_mean", clipRatioRegionMean);
            return m;
        }
    }

    /**
     * {@link #loss(Variable, Tensor, Tensor, Tensor, Tensor, double, double, double, String, int, double)} with the
     * "dapo" normalizer set to this batch's completion-token count, {@code max(sum(mask), 1)}.
     */
    public static Loss loss(Variable logp, Tensor oldLogp, Tensor refLogp, Tensor advantages, Tensor mask,
                            double epsLow, double epsHigh, double beta, String lossType, int maxCompletionLength) {
        return loss(logp, oldLogp, refLogp, advantages, mask, epsLow, epsHigh, beta, lossType, maxCompletionLength, Double.NaN);
    }

    /**
     * TRL {@code GRPOTrainer._compute_loss} (token-level importance sampling):
     * <pre>
     *   coef1          = exp(logp - old)                         (old = logp.detach() when oldLogp is null)
     *   coef2          = clamp(coef1, 1 - epsLow, 1 + epsHigh)
     *   per_token_loss = -min(coef1 * adv, coef2 * adv)           (adv broadcast along T)
     *   if beta != 0:  per_token_loss += beta * (exp(ref - logp) - (ref - logp) - 1)
     *   "grpo":    mean over rows of sum_t(loss * mask) / max(sum_t mask, 1)
     *   "bnpo":    sum(loss * mask) / max(sum(mask), 1)
     *   "dr_grpo": sum(loss * mask) / (B * maxCompletionLength)
     *   "dapo":    sum(loss * mask) / numItemsInBatch
     * </pre>
     * TRL's "dapo" normalizer is {@code num_items_in_batch / num_processes}: the completion tokens of the whole
     * generation batch (all gradient-accumulation micro-batches, all processes) per process; pass it as
     * {@code numItemsInBatch} when a batch is split into micro-batches, so that their summed gradients average
     * over every token. NaN means this micro-batch's own count, {@code max(sum(mask), 1)}: then "dapo" equals
     * "bnpo". TRL divides "grpo", "bnpo" and "dr_grpo" (not "dapo") by the gradient-accumulation steps; that is
     * the caller's to do.
     *
     * @param logp {@code [B, T]} per-token log-probs under the policy being trained
     * @param oldLogp {@code [B, T]} log-probs at generation, or null when they equal {@code logp} (one iteration)
     * @param refLogp {@code [B, T]} reference log-probs; may be null when {@code beta == 0}
     * @param advantages {@code [B]} from {@link #advantages}
     * @param epsLow TRL {@code epsilon}; epsHigh TRL {@code epsilon_high}
     * @param maxCompletionLength TRL {@code max_completion_length}, used by "dr_grpo" only
     */
    public static Loss loss(Variable logp, Tensor oldLogp, Tensor refLogp, Tensor advantages, Tensor mask,
                            double epsLow, double epsHigh, double beta, String lossType, int maxCompletionLength,
                            double numItemsInBatch) {
        Tensor x = logp.data();
        double tokenCount = maskCount("grpoLoss", mask, x, "logp");
        if (oldLogp != null) {
            requireSameShape("grpoLoss", x, "logp", oldLogp, "oldLogp");
            requireSameDType("grpoLoss", x, "logp", oldLogp, "oldLogp");
        }
        int b = x.size(0);
        if (advantages.dim() != 1 || advantages.size(0) != b) {
            throw new IllegalArgumentException("grpoLoss: advantages must have shape [" + b + "], found "
                    + Arrays.toString(advantages.shape()));
        }
        requireSameDType("grpoLoss", x, "logp", advantages, "advantages");
        if (!(epsLow >= 0) || !(epsHigh >= 0)) {
            throw new IllegalArgumentException("grpoLoss: epsLow and epsHigh must be >= 0, found " + epsLow + " and " + epsHigh);
        }
        if (!(beta >= 0)) throw new IllegalArgumentException("grpoLoss: beta must be >= 0, found " + beta);
        if (beta != 0) {
            if (refLogp == null) throw new IllegalArgumentException("grpoLoss: beta = " + beta + " needs reference log-probs");
            requireSameShape("grpoLoss", x, "logp", refLogp, "refLogp");
            requireSameDType("grpoLoss", x, "logp", refLogp, "refLogp");
        }
        switch (lossType) {
            case "grpo": case "bnpo": case "dapo": break;
            case "dr_grpo":
                if (maxCompletionLength <= 0) {
                    throw new IllegalArgumentException("grpoLoss: \"dr_grpo\" needs maxCompletionLength > 0, found " + maxCompletionLength);
                }
                break;
            default:
                throw new IllegalArgumentException("grpoLoss: lossType must be \"grpo\", \"bnpo\", \"dr_grpo\" or \"dapo\", found \""
                        + lossType + "\"");
        }
        if (!Double.isNaN(numItemsInBatch) && !(numItemsInBatch > 0)) {
            throw new IllegalArgumentException("grpoLoss: numItemsInBatch must be > 0 (or NaN for this batch's count), found "
                    + numItemsInBatch);
        }

        Variable lp = select(logp, mask);                                                 // [B, T]
        Tensor old = oldLogp == null ? lp.data() : select(oldLogp, mask);
        Tensor adv = advantages.reshape(b, 1);                                            // [B, 1]
        Variable advVar = Variable.constant(adv);
        Variable coef1 = lp.sub(Variable.constant(old)).exp();
        Variable coef2 = Elementwise.clamp(coef1, 1 - epsLow, 1 + epsHigh);
        Variable perTokenLoss = Elementwise.minimum(coef1.mul(advVar), coef2.mul(advVar)).neg();
        Variable perTokenKl = null;
        if (beta != 0) {
            perTokenKl = perTokenKl(lp, select(refLogp, mask));
            perTokenLoss = perTokenLoss.add(perTokenKl.mul(beta));
        }
        Variable masked = select(perTokenLoss, mask);
        Variable loss;
        switch (lossType) {
            case "grpo": {
                Tensor rowCounts = mask.sum(1, false).maximum(1.0);                      // [B]
                loss = masked.sum(1, false).div(Variable.constant(rowCounts)).mean();
                break;
            }
            case "bnpo":
                loss = masked.sum().mul(1.0 / Math.max(tokenCount, 1.0));
                break;
            case "dr_grpo":
                loss = masked.sum().mul(1.0 / ((double) b * maxCompletionLength));
                break;
            default: // dapo
                loss = masked.sum().mul(1.0 / (Double.isNaN(numItemsInBatch) ? Math.max(tokenCount, 1.0) : numItemsInBatch));
        }

        double[] sums; // [low, high, region, kl], one download
        double denominator = Math.max(tokenCount, 1.0);                                   // completion_token_count
        try (var g = Grad.disabled()) {
            Tensor c1 = coef1.data();
            Tensor isLow = c1.lt(1 - epsLow).mul(adv.lt(0.0));
            Tensor isHigh = c1.gt(1 + epsHigh).mul(adv.gt(0.0));
            Tensor isRegion = isLow.maximum(isHigh);
            Tensor[] parts = new Tensor[perTokenKl == null ? 3 : 4];
            parts[0] = select(isLow, mask).sum().reshape(1);
            parts[1] = select(isHigh, mask).sum().reshape(1);
            parts[2] = select(isRegion, mask).sum().reshape(1);
            if (perTokenKl != null) parts[3] = select(perTokenKl.data(), mask).sum().reshape(1);
            sums = Tensor.concat(0, parts).toDoubleArray();
        }
        double kl = perTokenKl == null ? Double.NaN : sums[3] / denominator;
        return new Loss(loss, kl, sums[0] / denominator, sums[1] / denominator, sums[2] / denominator);
    }

    // =====================================================================================================
    // helpers
    // =====================================================================================================

    private static Tensor select(Tensor x, Tensor mask) {
        return Tensor.where(mask, x, Tensor.zeros(x.dtype(), x.device()));
    }

    private static Variable select(Variable x, Tensor mask) {
        return Elementwise.where(mask, x, Variable.constant(Tensor.zeros(x.dtype(), x.data().device())));
    }

    private static void requireSameShape(String op, Tensor a, String aName, Tensor b, String bName) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException(op + ": " + bName + " must have the shape of " + aName + ", "
                    + Arrays.toString(a.shape()) + ", found " + Arrays.toString(b.shape()));
        }
    }

    private static void requireSameDType(String op, Tensor a, String aName, Tensor b, String bName) {
        if (a.dtype() != b.dtype()) {
            throw new IllegalArgumentException(op + ": " + bName + " is " + b.dtype() + " but " + aName + " is " + a.dtype()
                    + "; convert one with to(DType)");
        }
    }

    /**
     * Checks a [B, T] 0/1 mask of {@code like}'s shape, dtype and device, and returns its number of ones: the count
     * and the 0/1 check come from one download.
     */
    private static double maskCount(String op, Tensor mask, Tensor like, String likeName) {
        if (like.dim() != 2) {
            throw new IllegalArgumentException(op + ": " + likeName + " must be [B, T], found " + Arrays.toString(like.shape()));
        }
        if (like.dtype() == DType.I32) throw new IllegalArgumentException(op + ": " + likeName + " must be F32 or F64, found I32");
        requireSameShape(op, like, likeName, mask, "mask");
        requireSameDType(op, like, likeName, mask, "mask");
        if (!mask.device().equals(like.device())) {
            throw new IllegalArgumentException(op + ": mask is on " + mask.device() + " but " + likeName + " on " + like.device());
        }
        double[] r = Tensor.concat(0, mask.sum().reshape(1), mask.ne(0).mul(mask.ne(1)).sum().reshape(1)).toDoubleArray();
        if (r[1] != 0) throw new IllegalArgumentException(op + ": mask must hold only 0 and 1");
        return r[0];
    }
}
