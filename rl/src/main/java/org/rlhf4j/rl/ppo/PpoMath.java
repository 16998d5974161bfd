package org.rlhf4j.rl.ppo;

import java.util.Arrays;
import org.rlhf4j.autograd.Elementwise;
import org.rlhf4j.autograd.Grad;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.NnOps;
import org.rlhf4j.tensor.Tensor;

/**
 * The arithmetic of PPO for language models, as TRL's {@code PPOTrainer} (the "PPOv2" trainer,
 * {@code trl/trainer/ppo_trainer.py}) does it: masked statistics, per-token KL, the reward with its KL penalty,
 * GAE, and the clipped policy and value losses.
 *
 * <p>Shapes: {@code B} rows (responses), {@code T} response positions. Every per-token tensor is {@code [B, T]}
 * and comes with a 0/1 {@code mask [B, T]} of the same dtype (1 = a position that counts). Inputs are F32 or F64,
 * all of one dtype; results keep it. Masked positions are <em>selected away</em> ({@code where(mask, x, 0)})
 * before any arithmetic, so whatever they hold (even NaN or -inf) changes no result and no gradient. For finite
 * inputs this equals TRL's {@code x * mask}.
 *
 * <p>TRL's rollout, step by step, and the calls that reproduce it exactly ({@code L} = index of the row's last
 * real response token, TRL's {@code sequence_lengths}; {@code mask} = positions {@code t <= L}, TRL's
 * {@code ~padding_mask}; {@code valueMask} = positions {@code t <= L + 1}, TRL's {@code ~padding_mask_p1}):
 * <ol>
 *   <li>{@code scores = applyMissingEosPenalty(scores, containsEos, missingEosPenalty)} when the penalty is set;
 *   <li>{@code kl = klPerToken(logprobs, refLogprobs, mask, klEstimator)} (TRL fills padding with
 *       {@code INVALID_LOGPROB} in both, which makes its KL 0 there, as the mask does here);
 *   <li>{@code rewards = rewards(scores, kl, klCoef, mask, trlScoreIndex(mask))}: TRL adds the score at
 *       {@code L + 1} when that position exists (else at {@code L}); {@link #lastTokenIndex} puts it on the last
 *       real token instead, the textbook placement;
 *   <li>{@code if (whitenRewards) rewards = whitenRewards(rewards, valueMask)};
 *   <li>{@code gae = gae(rewards, values, valueMask, gamma, lam)}: TRL zeroes values beyond {@code L + 1} first,
 *       which the mask does here; returns = advantages + values;
 *   <li>{@code advantages = whitenAdvantages(gae.advantages(), mask)};
 *   <li>per minibatch: {@link #policyLoss} over {@code mask}, {@link #valueLoss} over {@code valueMask}, and
 *       {@code loss = pgLoss + vfCoef * vfLoss}.
 * </ol>
 * With the last-token placement, pass {@code mask} everywhere instead of {@code valueMask}.
 *
 * <p>Tensors may be on any device, all on one; results stay there. A statistic returned as a double costs one host
 * wait (a download) for the mask's count and its check, and one for the sums; the loss functions download their
 * statistics together.
 *
 * <p>TRL's {@code PPOConfig} defaults, for callers: {@link #DEFAULT_CLIPRANGE}, {@link #DEFAULT_CLIPRANGE_VALUE},
 * {@link #DEFAULT_VF_COEF}, {@link #DEFAULT_GAMMA}, {@link #DEFAULT_LAM}, {@link #DEFAULT_KL_COEF},
 * {@code kl_estimator = "k1"}, {@code whiten_rewards = false}, {@code missing_eos_penalty = None}.
 */
public final class PpoMath {
    private PpoMath() {}

    /** TRL {@code PPOConfig.cliprange}. */
    public static final double DEFAULT_CLIPRANGE = 0.2;
    /** TRL {@code PPOConfig.cliprange_value}. */
    public static final double DEFAULT_CLIPRANGE_VALUE = 0.2;
    /** TRL {@code PPOConfig.vf_coef}. */
    public static final double DEFAULT_VF_COEF = 0.1;
    /** TRL {@code PPOConfig.gamma}. */
    public static final double DEFAULT_GAMMA = 1.0;
    /** TRL {@code PPOConfig.lam}. */
    public static final double DEFAULT_LAM = 0.95;
    /** TRL {@code PPOConfig.kl_coef}. */
    public static final double DEFAULT_KL_COEF = 0.05;
    /** The epsilon under the square root in TRL's {@code masked_whiten}. */
    public static final double WHITEN_EPS = 1e-8;

    // =====================================================================================================
    // masked statistics (TRL masked_mean, masked_var, masked_whiten)
    // =====================================================================================================

    /**
     * TRL {@code masked_mean(values, mask)}: {@code sum(x * mask) / sum(mask)} over all elements.
     * Deviation: an all-zero mask fails here; TRL returns NaN (0/0).
     */
    public static double maskedMean(Tensor x, Tensor mask) {
        double count = nonEmptyCount("maskedMean", mask, x, "x");
        return select(x, mask).sum().item() / count;
    }

    /**
     * TRL {@code masked_mean(values, mask, axis)}: {@code sum(x * mask, axis) / sum(mask, axis)}, with the axis
     * removed. As in TRL, a slice whose mask is all zeros gives NaN (0/0).
     */
    public static Tensor maskedMean(Tensor x, Tensor mask, int axis) {
        requireMask("maskedMean", mask, x, "x");
        return select(x, mask).sum(axis, false).div(mask.sum(axis, false));
    }

    /** {@code sum(x * mask) / sum(mask)} for a differentiable {@code x}; masked elements get a zero gradient. */
    public static Variable maskedMean(Variable x, Tensor mask) {
        return maskedMean(x, mask, nonEmptyCount("maskedMean", mask, x.data(), "x"));
    }

    /** {@link #maskedMean(Variable, Tensor)} with the mask's count known ({@link #nonEmptyCount}). */
    private static Variable maskedMean(Variable x, Tensor mask, double count) {
        return select(x, mask).sum().mul(1.0 / count);
    }

    /** The mask's count of ones, checked as {@link #maskCount} does; fails when it is zero. */
    private static double nonEmptyCount(String op, Tensor mask, Tensor like, String likeName) {
        double count = maskCount(op, mask, like, likeName);
        if (count == 0) throw new IllegalArgumentException(op + ": the mask is all zeros; nothing to average");
        return count;
    }

    /** TRL {@code masked_var(values, mask, unbiased=True)}. */
    public static double maskedVar(Tensor x, Tensor mask) {
        return maskedVar(x, mask, true);
    }

    /**
     * TRL {@code masked_var}: {@code masked_mean((x - masked_mean(x))^2)}, times the Bessel correction
     * {@code n / (n - 1)} when {@code unbiased} ({@code n = sum(mask)}). TRL raises when {@code n == 0}; for
     * {@code n == 1} it divides by zero (its comment says so) and yields NaN. Both fail here, with a message.
     */
    public static double maskedVar(Tensor x, Tensor mask, boolean unbiased) {
        double n = varianceCount(x, mask, unbiased);
        return maskedVar(x, mask, unbiased, n, select(x, mask).sum().item() / n);
    }

    /** The mask's count for a variance, checked; fails where TRL raises or divides by zero. */
    private static double varianceCount(Tensor x, Tensor mask, boolean unbiased) {
        double n = maskCount("maskedVar", mask, x, "x");
        if (n == 0) throw new IllegalArgumentException("maskedVar: the mask is all zeros (TRL raises here too: try a larger"
                + " mini-batch)");
        if (unbiased && n == 1) throw new IllegalArgumentException("maskedVar: one masked element has no unbiased variance"
                + " (Bessel correction n / (n - 1) divides by zero); use a larger mini-batch");
        return n;
    }

    /** {@link #maskedVar(Tensor, Tensor, boolean)} with the count and the masked mean known. */
    private static double maskedVar(Tensor x, Tensor mask, boolean unbiased, double n, double mean) {
        Tensor centered = x.sub(mean);
        double variance = select(centered.mul(centered), mask).sum().item() / n;
        return unbiased ? variance * n / (n - 1) : variance;
    }

    /** TRL {@code masked_whiten(values, mask, shift_mean=True)}. */
    public static Tensor maskedWhiten(Tensor x, Tensor mask) {
        return maskedWhiten(x, mask, true);
    }

    /**
     * TRL {@code masked_whiten}: {@code (x - mean) * rsqrt(var + 1e-8)} with the masked mean and unbiased masked
     * variance, plus {@code mean} back when {@code !shiftMean}. As in TRL, every position is transformed,
     * masked ones too (from their own values); {@link #whitenAdvantages} and {@link #whitenRewards} zero them.
     */
    public static Tensor maskedWhiten(Tensor x, Tensor mask, boolean shiftMean) {
        // the values of maskedMean and maskedVar, with the count and the mean downloaded once for both
        double n = varianceCount(x, mask, true);
        double mean = select(x, mask).sum().item() / n;
        double variance = maskedVar(x, mask, true, n, mean);
        Tensor whitened = x.sub(mean).mul(1.0 / Math.sqrt(variance + WHITEN_EPS));
        return shiftMean ? whitened : whitened.add(mean);
    }

    /** TRL step 6's tail: {@code masked_fill(masked_whiten(advantages, mask), ~mask, 0)}. */
    public static Tensor whitenAdvantages(Tensor advantages, Tensor mask) {
        return select(maskedWhiten(advantages, mask, true), mask);
    }

    /**
     * TRL step 5 ({@code whiten_rewards=True}): {@code masked_fill(masked_whiten(rewards, mask, shift_mean=False),
     * ~mask, 0)}; TRL passes its value mask ({@code ~padding_mask_p1}) here.
     */
    public static Tensor whitenRewards(Tensor rewards, Tensor mask) {
        return select(maskedWhiten(rewards, mask, false), mask);
    }

    // =====================================================================================================
    // KL and rewards
    // =====================================================================================================

    /**
     * Per-token KL estimate of the policy from the reference, as TRL step 4 (J. Schulman's estimators):
     * {@code logr = ref - logp}; {@code "k1"}: {@code -logr}; {@code "k3"}: {@code (exp(logr) - 1) - logr}
     * (always &gt;= 0). Every position is computed; see the masked overload.
     */
    public static Tensor klPerToken(Tensor logprobs, Tensor refLogprobs, String estimator) {
        requireSameShape("klPerToken", logprobs, "logprobs", refLogprobs, "refLogprobs");
        Tensor logr = refLogprobs.sub(logprobs);
        switch (estimator) {
            case "k1": return logr.neg();
            case "k3": return logr.exp().sub(1.0).sub(logr);
            default: throw new IllegalArgumentException("klPerToken: estimator must be \"k1\" or \"k3\", found \"" + estimator + "\"");
        }
    }

    /** {@link #klPerToken(Tensor, Tensor, String)} with 0 at masked positions (TRL gets 0 there from INVALID_LOGPROB). */
    public static Tensor klPerToken(Tensor logprobs, Tensor refLogprobs, Tensor mask, String estimator) {
        requireMask("klPerToken", mask, logprobs, "logprobs");
        return select(klPerToken(select(logprobs, mask), select(refLogprobs, mask), estimator), mask);
    }

    /** TRL {@code non_score_reward = -kl_coef * kl}, 0 at masked positions. */
    public static Tensor nonScoreRewards(Tensor kl, double klCoef, Tensor mask) {
        requireMask("nonScoreRewards", mask, kl, "kl");
        return select(kl, mask).mul(-klCoef);
    }

    /**
     * TRL step 4: {@code rewards = -klCoef * kl} at unmasked positions, 0 at masked ones, then
     * {@code rewards[b, scoreIndex[b]] += scores[b]}.
     *
     * @param scores {@code [B]} reward-model scores (after {@link #applyMissingEosPenalty})
     * @param kl {@code [B, T]} per-token KL ({@link #klPerToken})
     * @param scoreIndex per row, the position that receives the score: the last real response token
     *     ({@link #lastTokenIndex}), or TRL's one-past placement ({@link #trlScoreIndex}). The score is added there
     *     whether or not the mask covers it.
     */
    public static Tensor rewards(Tensor scores, Tensor kl, double klCoef, Tensor mask, int[] scoreIndex) {
        requireMask("rewards", mask, kl, "kl");
        int b = kl.size(0), t = kl.size(1);
        if (scores.dim() != 1 || scores.size(0) != b) {
            throw new IllegalArgumentException("rewards: scores must have shape [" + b + "], found " + Arrays.toString(scores.shape()));
        }
        requireSameDType("rewards", kl, "kl", scores, "scores");
        if (scoreIndex.length != b) {
            throw new IllegalArgumentException("rewards: " + scoreIndex.length + " score indices for " + b + " rows");
        }
        for (int i = 0; i < b; i++) {
            if (scoreIndex[i] < 0 || scoreIndex[i] >= t) {
                throw new IllegalArgumentException("rewards: score index " + scoreIndex[i] + " of row " + i
                        + " is outside [0, " + t + ") (a row with no response token?)");
            }
        }
        Tensor index = Tensor.ofInts(scoreIndex, b, 1).to(kl.device());
        return nonScoreRewards(kl, klCoef, mask).scatterAdd(1, index, scores.reshape(b, 1));
    }

    /** Per row, the index of the last position whose mask is 1; -1 for a row with none (TRL's {@code sequence_lengths}). */
    public static int[] lastTokenIndex(Tensor mask) {
        if (mask.dim() != 2) throw new IllegalArgumentException("lastTokenIndex: mask must be [B, T], found " + Arrays.toString(mask.shape()));
        int b = mask.size(0), t = mask.size(1);
        double[] m = mask.toDoubleArray();
        int[] last = new int[b];
        for (int i = 0; i < b; i++) {
            last[i] = -1;
            for (int j = 0; j < t; j++) if (m[i * t + j] != 0) last[i] = j;
        }
        return last;
    }

    /**
     * TRL's score position: {@code actual_end = L + 1 if L + 1 < T else L}, with {@code L} from
     * {@link #lastTokenIndex} (a row with no token gets 0, as in TRL where {@code L = -1}).
     */
    public static int[] trlScoreIndex(Tensor mask) {
        int t = mask.size(1);
        int[] last = lastTokenIndex(mask);
        int[] out = new int[last.length];
        for (int i = 0; i < last.length; i++) out[i] = last[i] + 1 < t ? last[i] + 1 : last[i];
        return out;
    }

    /** TRL's {@code ~padding_mask_p1}: the mask widened by one position after each row's last real token. */
    public static Tensor trlValueMask(Tensor mask) {
        int b = mask.size(0), t = mask.size(1);
        int[] last = lastTokenIndex(mask);
        double[] out = new double[b * t];
        for (int i = 0; i < b; i++) for (int j = 0; j <= last[i] + 1 && j < t; j++) out[i * t + j] = 1;
        return Tensor.of(out, b, t).to(mask.dtype()).to(mask.device());
    }

    /** TRL step 3: {@code scores[~contains_eos] -= missing_eos_penalty}, into a new tensor. */
    public static Tensor applyMissingEosPenalty(Tensor scores, boolean[] containsEos, double penalty) {
        if (scores.dim() != 1 || scores.size(0) != containsEos.length) {
            throw new IllegalArgumentException("applyMissingEosPenalty: scores must have shape [" + containsEos.length
                    + "], found " + Arrays.toString(scores.shape()));
        }
        double[] p = new double[containsEos.length];
        for (int i = 0; i < p.length; i++) p[i] = containsEos[i] ? 0 : penalty;
        return scores.sub(Tensor.of(p).to(scores.dtype()).to(scores.device()));
    }

    // =====================================================================================================
    // GAE
    // =====================================================================================================

    /** Advantages and returns {@code [B, T]} from {@link #gae}, before any whitening. */
    public record Gae(Tensor advantages, Tensor returns) {}

    /**
     * Generalized advantage estimation, TRL step 6's loop, per row, with rewards and values first zeroed at masked
     * positions (TRL zeroes values beyond {@code padding_mask_p1} and its rewards are 0 there already):
     * <pre>
     *   lastgaelam = 0
     *   for t = T-1 .. 0:
     *     nextvalue  = t &lt; T-1 ? v[t+1] : 0
     *     delta      = r[t] + gamma * nextvalue - v[t]
     *     lastgaelam = delta + gamma * lam * lastgaelam
     *     adv[t]     = lastgaelam
     *   returns = adv + v
     * </pre>
     * No whitening here: TRL whitens the advantages afterwards over the response mask
     * ({@link #whitenAdvantages}), and the returns never. For trailing padding (mask a prefix of each row, as in
     * TRL) both outputs are 0 past the mask. Accumulates in F64 on the host (rewards, values and mask come down
     * in one download); the results go back in the input dtype and to its device.
     */
    public static Gae gae(Tensor rewards, Tensor values, Tensor mask, double gamma, double lam) {
        requireMask("gae", mask, rewards, "rewards");
        requireSameShape("gae", rewards, "rewards", values, "values");
        requireSameDType("gae", rewards, "rewards", values, "values");
        int b = rewards.size(0), t = rewards.size(1);
        int n = b * t;
        double[] all = Tensor.stack(0, rewards, values, mask).toDoubleArray(); // [3, B, T]
        double[] r = Arrays.copyOfRange(all, 0, n), v = Arrays.copyOfRange(all, n, 2 * n), m = Arrays.copyOfRange(all, 2 * n, 3 * n);
        double[] adv = new double[b * t], ret = new double[b * t];
        for (int i = 0; i < b; i++) {
            double lastgaelam = 0;
            for (int j = t - 1; j >= 0; j--) {
                int k = i * t + j;
                double rt = m[k] != 0 ? r[k] : 0;
                double vt = m[k] != 0 ? v[k] : 0;
                double next = j < t - 1 && m[k + 1] != 0 ? v[k + 1] : 0;
                double delta = rt + gamma * next - vt;
                lastgaelam = delta + gamma * lam * lastgaelam;
                adv[k] = lastgaelam;
                ret[k] = lastgaelam + vt;
            }
        }
        return new Gae(Tensor.of(adv, b, t).to(rewards.dtype()).to(rewards.device()),
                Tensor.of(ret, b, t).to(rewards.dtype()).to(rewards.device()));
    }

    // =====================================================================================================
    // losses
    // =====================================================================================================

    /**
     * The clipped policy loss and its statistics.
     *
     * @param loss {@code masked_mean(max(pg1, pg2))}, a one-element variable
     * @param clipfrac {@code masked_mean(pg2 > pg1)}: the fraction of tokens whose ratio was clipped (TRL
     *     {@code policy/clipfrac_avg})
     * @param approxkl {@code 0.5 * masked_mean((new - old)^2)} (TRL {@code policy/approxkl_avg})
     */
    public record PolicyLoss(Variable loss, double clipfrac, double approxkl) {}

    /**
     * TRL's PPO policy loss:
     * <pre>
     *   ratio = exp(new - old)
     *   pg1   = -adv * ratio
     *   pg2   = -adv * clamp(ratio, 1 - cliprange, 1 + cliprange)
     *   loss  = masked_mean(max(pg1, pg2), mask)
     * </pre>
     * Deviation: TRL's {@code approxkl = 0.5 * (logprobs_diff ** 2).mean()} averages over every position,
     * padding included (where its diff is 0 by construction); here the mean is over the mask, so TRL's value is
     * this one times {@code sum(mask) / (B * T)}.
     *
     * @param newLogprobs {@code [B, T]} log-probs under the policy being trained
     * @param oldLogprobs {@code [B, T]} log-probs recorded at rollout
     * @param advantages {@code [B, T]} (whitened) advantages
     */
    public static PolicyLoss policyLoss(Variable newLogprobs, Tensor oldLogprobs, Tensor advantages, Tensor mask,
                                        double cliprange) {
        Tensor x = newLogprobs.data();
        double count = nonEmptyCount("policyLoss", mask, x, "newLogprobs");
        requireSameShape("policyLoss", x, "newLogprobs", oldLogprobs, "oldLogprobs");
        requireSameShape("policyLoss", x, "newLogprobs", advantages, "advantages");
        requireSameDType("policyLoss", x, "newLogprobs", oldLogprobs, "oldLogprobs");
        requireSameDType("policyLoss", x, "newLogprobs", advantages, "advantages");
        if (!(cliprange >= 0)) throw new IllegalArgumentException("policyLoss: cliprange must be >= 0, found " + cliprange);
        Variable logp = select(newLogprobs, mask);
        Tensor old = select(oldLogprobs, mask);
        Variable negAdv = Variable.constant(select(advantages, mask).neg());
        Variable ratio = logp.sub(Variable.constant(old)).exp();                                 // [B, T]
        Variable pg1 = ratio.mul(negAdv);
        Variable pg2 = Elementwise.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange).mul(negAdv);
        Variable loss = maskedMean(Elementwise.maximum(pg1, pg2), mask, count);
        double[] sums;
        try (var g = Grad.disabled()) {
            Tensor diff = logp.data().sub(old);
            sums = Tensor.concat(0, select(pg2.data().gt(pg1.data()), mask).sum().reshape(1),
                    select(diff.mul(diff), mask).sum().reshape(1)).toDoubleArray(); // one download
        }
        return new PolicyLoss(loss, sums[0] / count, 0.5 * (sums[1] / count));
    }

    /**
     * The clipped value loss and its statistics.
     *
     * @param loss {@code 0.5 * masked_mean(max((vpred - ret)^2, (vclipped - ret)^2))}
     * @param clipfrac {@code masked_mean((vclipped - ret)^2 > (vpred - ret)^2)} (TRL {@code val/clipfrac_avg})
     */
    public record ValueLoss(Variable loss, double clipfrac) {}

    /**
     * TRL's PPO value loss:
     * <pre>
     *   vclipped = clamp(vpred, old - cliprange_value, old + cliprange_value)
     *   loss     = 0.5 * masked_mean(max((vpred - ret)^2, (vclipped - ret)^2), mask)
     * </pre>
     * The clamp passes the gradient where {@code old - c <= vpred <= old + c}, as torch's clamp with tensor bounds.
     * TRL averages over {@code ~padding_mask_p1}: pass that mask ({@link #trlValueMask}) to match it.
     *
     * @param vpred {@code [B, T]} values predicted now
     * @param oldValues {@code [B, T]} values recorded at rollout
     * @param returns {@code [B, T]} GAE returns
     */
    public static ValueLoss valueLoss(Variable vpred, Tensor oldValues, Tensor returns, Tensor mask, double cliprangeValue) {
        Tensor x = vpred.data();
        double count = nonEmptyCount("valueLoss", mask, x, "vpred");
        requireSameShape("valueLoss", x, "vpred", oldValues, "oldValues");
        requireSameShape("valueLoss", x, "vpred", returns, "returns");
        requireSameDType("valueLoss", x, "vpred", oldValues, "oldValues");
        requireSameDType("valueLoss", x, "vpred", returns, "returns");
        if (!(cliprangeValue >= 0)) {
            throw new IllegalArgumentException("valueLoss: cliprangeValue must be >= 0, found " + cliprangeValue);
        }
        Variable v = select(vpred, mask);
        Tensor old = select(oldValues, mask);
        Variable ret = Variable.constant(select(returns, mask));
        Tensor lo = old.sub(cliprangeValue), hi = old.add(cliprangeValue);
        Tensor inside = v.data().ge(lo).mul(v.data().le(hi));
        Variable vclipped = Elementwise.where(inside, v, Variable.constant(v.data().maximum(lo).minimum(hi)));
        Variable vf1 = Elementwise.square(v.sub(ret));
        Variable vf2 = Elementwise.square(vclipped.sub(ret));
        Variable loss = maskedMean(Elementwise.maximum(vf1, vf2), mask, count).mul(0.5);
        double clipfrac;
        try (var g = Grad.disabled()) {
            clipfrac = select(vf2.data().gt(vf1.data()), mask).sum().item() / count;
        }
        return new ValueLoss(loss, clipfrac);
    }

    /**
     * Per-position entropy of the categorical distribution given by {@code logits [B, T, V]}, as TRL computes it
     * for {@code policy/entropy_avg}: {@code logsumexp(logits) - sum(softmax(logits) * logits)} (written here as
     * {@code -sum(p * log p)} from a stable log-softmax). Returns {@code [B, T]}; divide the logits by the
     * sampling temperature first, as TRL does. TRL's metric is the unmasked mean of this tensor.
     */
    public static Tensor entropy(Tensor logits) {
        Tensor logp = NnOps.softmax(logits, true);                    // [B, T, V]
        return logp.exp().mul(logp).sum(-1, false).neg();             // [B, T]
    }

    // =====================================================================================================
    // helpers
    // =====================================================================================================

    /** {@code where(mask, x, 0)}: masked positions become exactly 0, whatever they held. */
    static Tensor select(Tensor x, Tensor mask) {
        return Tensor.where(mask, x, Tensor.zeros(x.dtype(), x.device()));
    }

    /** {@code where(mask, x, 0)} on a variable: masked positions become 0 and pass back a zero gradient. */
    static Variable select(Variable x, Tensor mask) {
        return Elementwise.where(mask, x, Variable.constant(Tensor.zeros(x.dtype(), x.data().device())));
    }

    static void requireSameShape(String op, Tensor a, String aName, Tensor b, String bName) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException(op + ": " + bName + " must have the shape of " + aName + ", "
                    + Arrays.toString(a.shape()) + ", found " + Arrays.toString(b.shape()));
        }
    }

    static void requireSameDType(String op, Tensor a, String aName, Tensor b, String bName) {
        if (a.dtype() != b.dtype()) {
            throw new IllegalArgumentException(op + ": " + bName + " is " + b.dtype() + " but " + aName + " is " + a.dtype()
                    + "; convert one with to(DType)");
        }
    }

    /** A [B, T] 0/1 mask of {@code like}'s shape and dtype; one download for the 0/1 check. */
    static void requireMask(String op, Tensor mask, Tensor like, String likeName) {
        requireMaskShape(op, mask, like, likeName);
        if (mask.ne(0).mul(mask.ne(1)).sum().item() != 0) {
            throw new IllegalArgumentException(op + ": mask must hold only 0 and 1");
        }
    }

    /**
     * {@link #requireMask}'s checks, and the number of ones in the mask, from one download (the count and the 0/1
     * check travel together).
     */
    static double maskCount(String op, Tensor mask, Tensor like, String likeName) {
        requireMaskShape(op, mask, like, likeName);
        double[] r = Tensor.concat(0, mask.sum().reshape(1), mask.ne(0).mul(mask.ne(1)).sum().reshape(1)).toDoubleArray();
        if (r[1] != 0) throw new IllegalArgumentException(op + ": mask must hold only 0 and 1");
        return r[0];
    }

    private static void requireMaskShape(String op, Tensor mask, Tensor like, String likeName) {
        if (like.dim() != 2) {
            throw new IllegalArgumentException(op + ": " + likeName + " must be [B, T], found " + Arrays.toString(like.shape()));
        }
        if (like.dtype() == DType.I32) {
            throw new IllegalArgumentException(op + ": " + likeName + " must be F32 or F64, found I32");
        }
        requireSameShape(op, like, likeName, mask, "mask");
        requireSameDType(op, like, likeName, mask, "mask");
        if (!mask.device().equals(like.device())) {
            throw new IllegalArgumentException(op + ": mask is on " + mask.device() + " but " + likeName + " on " + like.device());
        }
    }
}
