package org.rlhf4j.rl.ppo;

import java.util.LinkedHashMap;
import java.util.Map;
import org.rlhf4j.autograd.Autocast;
import org.rlhf4j.autograd.Grad;
import org.rlhf4j.autograd.ShapeOps;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.rl.logprobs.SequenceBatch;
import org.rlhf4j.rl.logprobs.SequenceLogProbs;
import org.rlhf4j.rl.reward.RewardModel;
import org.rlhf4j.rl.rollout.Rollout;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.gpt.SamplingConfig;
import org.rlhf4j.transformer.optim.AdamW;
import org.rlhf4j.transformer.optim.GradClip;

/**
 * PPO as TRL's PPOTrainer: rollouts from the policy at temperature T; log-probs under policy and frozen reference
 * at the same temperature; a per-token KL penalty (k1 or k3) times {@code klCoef} as reward, the score added at the
 * last response token; GAE; whitened advantages; {@code numPpoEpochs} passes of clipped policy and value losses
 * over {@code numMiniBatches} mini-batches; one optimizer over policy and value model.
 *
 * <p>All per-token tensors are over next-token targets, {@code [B, T-1]}, masked by the rollout's completion
 * mask; the value for target j is the value head at position j (the state before that token), as in TRL.
 *
 * <p>Policy, reference and value model live on one device (any); the rollout, the scores and the advantages are
 * made there. Generation, the log-prob passes, scoring and the mini-batch forwards run in
 * {@link PpoConfig#precision()} ({@link Autocast}); advantages, losses and statistics are computed in the models'
 * dtype. Each mini-batch downloads its losses and statistics in a few small reads; see {@link PpoMath}.
 */
public final class PpoTrainer {
    /** Scores a whole rollout: one scalar per row (called inside the trainer's precision scope). */
    @FunctionalInterface
    public interface Scorer {
        double[] score(Rollout rollout);
    }

    private final Gpt policy, reference;
    private final RewardModel valueModel;
    private final Scorer scorer;
    private final PpoConfig config;
    private final int eosId, padId;
    private final AdamW optimizer;
    private KlController kl;
    private long step;

    public PpoTrainer(Gpt policy, Gpt reference, RewardModel valueModel, Scorer scorer, PpoConfig config, int eosId, int padId) {
        this.policy = policy;
        this.reference = reference;
        this.valueModel = valueModel;
        this.scorer = scorer;
        this.config = config;
        this.eosId = eosId;
        this.padId = padId;
        Map<String, Variable> params = new LinkedHashMap<>();
        for (var e : policy.namedParameters().entrySet()) params.put("policy." + e.getKey(), e.getValue());
        for (var e : valueModel.namedParameters().entrySet()) params.put("value." + e.getKey(), e.getValue());
        this.optimizer = new AdamW(params, AdamW.Config.defaults().withLearningRate(config.learningRate()));
        this.kl = config.adaptiveKl() ? KlController.adaptive(config.klCoef(), config.klTarget(), (long) config.klHorizon())
                : KlController.fixed(config.klCoef());
    }

    /** A scorer from a reward model: its head at each row's last real token. */
    public static Scorer rewardModelScorer(RewardModel rewardModel) {
        return rollout -> rewardModel.scoreNoGrad(rollout.batch());
    }

    public Gpt policy() {
        return policy;
    }

    public long step() {
        return step;
    }

    public double klCoef() {
        return kl.value();
    }

    /** The one optimizer over policy ({@code policy.*}) and value model ({@code value.*}); its state goes into checkpoints. */
    public AdamW optimizer() {
        return optimizer;
    }

    /**
     * Continues a run after {@code step} iterations, with the KL coefficient it had then (it only moves under the
     * adaptive controller); parameters and optimizer state are restored separately, from a checkpoint. Sampling
     * seeds and mini-batch orders are functions of the seed and the step, so the run goes on as if it had never
     * stopped.
     */
    public void restore(long step, double klCoef) {
        if (step < 0) throw new IllegalArgumentException("PpoTrainer: step must be >= 0, found " + step);
        this.step = step;
        if (config.adaptiveKl()) this.kl = KlController.adaptive(klCoef, config.klTarget(), config.klHorizon());
    }

    private static Tensor valuesOverTargets(Variable values, int t) {
        return values.data().narrow(1, 0, t - 1); // value at position j is for target j
    }

    /** One PPO iteration on {@code prompts}: rollout, scoring, advantages, then the PPO epochs. */
    public Map<String, Object> trainStep(int[][] prompts) {
        long[] seeds = new long[prompts.length];
        for (int i = 0; i < seeds.length; i++) seeds[i] = config.seed() * 1_000_003L + step * prompts.length + i;
        SamplingConfig sampling = new SamplingConfig(config.responseLength(), config.temperature(), 0, 1.0, eosId, padId,
                config.seed());
        Rollout rollout;
        try (var p = Autocast.with(config.precision())) {
            rollout = Rollout.sample(policy, reference, prompts, sampling, seeds);
        }
        SequenceBatch batch = rollout.batch();
        Tensor mask = batch.completionMask();
        int t = batch.ids().size(1);
        DType dtype = policy.dtype();
        Device device = policy.device();

        long scoreStart = System.nanoTime();
        double[] rawScores;
        Tensor oldValues;
        try (var p = Autocast.with(config.precision()); var g = Grad.disabled()) {
            rawScores = scorer.score(rollout);
            valueModel.eval();
            oldValues = valuesOverTargets(valueModel.values(batch), t).mul(mask);
        }
        Tensor scores = Tensor.of(rawScores).to(dtype).to(device);
        if (!Double.isNaN(config.missingEosPenalty())) {
            scores = PpoMath.applyMissingEosPenalty(scores, rollout.endedWithEos(), config.missingEosPenalty());
        }
        double scoreSeconds = (System.nanoTime() - scoreStart) * 1e-9;
        Tensor klPerToken = PpoMath.klPerToken(rollout.policyLogProbs(), rollout.referenceLogProbs(), mask, config.klEstimator());
        Tensor rewards = PpoMath.rewards(scores, klPerToken, kl.value(), mask, rollout.lastTokenIndex());
        if (config.whitenRewards()) rewards = PpoMath.whitenRewards(rewards, mask);
        PpoMath.Gae gae = PpoMath.gae(rewards, oldValues, mask, config.gamma(), config.lam());
        Tensor advantages = PpoMath.whitenAdvantages(gae.advantages(), mask);
        Tensor returns = gae.returns();

        int b = prompts.length, miniBatch = b / config.numMiniBatches();
        double policyLossSum = 0, valueLossSum = 0, clipfracSum = 0, approxklSum = 0, vClipfracSum = 0, ratioSum = 0,
                entropySum = 0;
        int updates = 0;
        long forwardNanos = 0, backwardNanos = 0;
        policy.train();
        valueModel.train();
        for (int epoch = 0; epoch < config.numPpoEpochs(); epoch++) {
            int[] order = permutation(b, config.seed() + step * 31 + epoch);
            for (int mb = 0; mb < config.numMiniBatches(); mb++) {
                int[] rows = java.util.Arrays.copyOfRange(order, mb * miniBatch, (mb + 1) * miniBatch);
                Tensor index = Tensor.ofInts(rows).to(device);
                long f0 = System.nanoTime();
                SequenceBatch sub = batch.select(rows);
                Tensor subMask = sub.completionMask();
                Tensor oldLogProbs = rollout.policyLogProbs().indexSelect(0, index);
                SequenceLogProbs.WithLogits out;
                Variable vpred;
                try (var p = Autocast.with(config.precision())) {
                    out = SequenceLogProbs.perTokenWithLogits(policy, sub, config.temperature());
                    vpred = ShapeOps.narrow(valueModel.values(sub), 1, 0, t - 1);
                }
                PpoMath.PolicyLoss pl = PpoMath.policyLoss(out.logProbs(), oldLogProbs, advantages.indexSelect(0, index),
                        subMask, config.cliprange());
                PpoMath.ValueLoss vl = PpoMath.valueLoss(vpred, oldValues.indexSelect(0, index), returns.indexSelect(0, index),
                        subMask, config.cliprangeValue());
                Variable loss = pl.loss().add(vl.loss().mul(config.vfCoef()));
                // the losses and the ratio and entropy sums in one download: [loss, policy, value, ratio, entropy, count]
                double[] host;
                try (var g = Grad.disabled()) {
                    Tensor ratio = out.logProbs().data().sub(oldLogProbs).exp();
                    Tensor entropy = PpoMath.entropy(out.nextTokenLogits().data().div(config.temperature()));
                    host = Tensor.concat(0, loss.data().reshape(1), pl.loss().data().reshape(1), vl.loss().data().reshape(1),
                            PpoMath.select(ratio, subMask).sum().reshape(1), PpoMath.select(entropy, subMask).sum().reshape(1),
                            subMask.sum().reshape(1)).toDoubleArray();
                }
                double lossValue = host[0];
                if (!Double.isFinite(lossValue)) {
                    throw new ArithmeticException("PpoTrainer: loss is " + lossValue + " at step " + step + "; stopping before the update");
                }
                long f1 = System.nanoTime();
                loss.backward();
                GradClip.clipGlobalNormOrThrow(optimizer.parameters(), config.maxGradNorm());
                optimizer.step();
                optimizer.zeroGrad();
                forwardNanos += f1 - f0;
                backwardNanos += System.nanoTime() - f1;
                ratioSum += host[3] / host[5];   // masked means, as PpoMath.maskedMean
                entropySum += host[4] / host[5];
                policyLossSum += host[1];
                valueLossSum += host[2];
                clipfracSum += pl.clipfrac();
                approxklSum += pl.approxkl();
                vClipfracSum += vl.clipfrac();
                updates++;
            }
        }
        step++;

        // sequence-level statistics, TRL's objective/* metrics; per-row KL sums and scores in one download
        double[] rowStats = Tensor.concat(0, klPerToken.mul(mask).sum(1, false), scores).toDoubleArray(); // [2B]
        double meanKl = 0, meanScore = 0;
        for (int i = 0; i < b; i++) {
            meanKl += rowStats[i] / b;
            meanScore += rowStats[b + i] / b;
        }
        double nonScore = -kl.value() * meanKl;
        int eosCount = 0;
        for (boolean e : rollout.endedWithEos()) if (e) eosCount++;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", step);
        m.put("objective/kl", meanKl);
        m.put("objective/entropy", entropySum / updates);
        m.put("objective/non_score_reward", nonScore);
        m.put("objective/rlhf_reward", meanScore + nonScore);
        m.put("objective/scores", meanScore);
        m.put("policy/approxkl_avg", approxklSum / updates);
        m.put("policy/clipfrac_avg", clipfracSum / updates);
        m.put("loss/policy_avg", policyLossSum / updates);
        m.put("loss/value_avg", valueLossSum / updates);
        m.put("val/clipfrac_avg", vClipfracSum / updates);
        m.put("val/ratio", ratioSum / updates);
        m.put("val/num_eos_tokens", eosCount);
        m.put("kl_coef", kl.value());
        m.put("time/generation_s", rollout.generationSeconds());
        m.put("time/logprobs_s", rollout.logProbSeconds());
        m.put("time/score_s", scoreSeconds);
        m.put("time/forward_s", forwardNanos * 1e-9);
        m.put("time/backward_s", backwardNanos * 1e-9);
        kl.update(meanKl, b);
        return m;
    }

    private static int[] permutation(int n, long seed) {
        java.util.List<Integer> idx = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) idx.add(i);
        java.util.Collections.shuffle(idx, new java.util.Random(seed));
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = idx.get(i);
        return out;
    }
}
