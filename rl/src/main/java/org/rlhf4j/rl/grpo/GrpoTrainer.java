package org.rlhf4j.rl.grpo;

import java.util.LinkedHashMap;
import java.util.Map;
import org.rlhf4j.autograd.Autocast;
import org.rlhf4j.autograd.Grad;
import org.rlhf4j.rl.logprobs.SequenceLogProbs;
import org.rlhf4j.rl.ppo.PpoMath;
import org.rlhf4j.rl.rollout.Rollout;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.gpt.SamplingConfig;
import org.rlhf4j.transformer.optim.AdamW;
import org.rlhf4j.transformer.optim.GradClip;

/**
 * Group Relative Policy Optimization as TRL's GRPOTrainer does it with {@code num_iterations = 1}: each prompt is
 * sampled {@code numGenerations} times, rewards are normalised within the group, and the clipped surrogate (plus
 * an optional k3 KL to a frozen reference) is aggregated as {@code lossType} says. No value model.
 *
 * <p>Policy and reference live on one device (any); rollouts and advantages are made there, and generation, the
 * log-prob passes and the policy's forward run in {@link GrpoConfig#precision()} ({@link Autocast}). Rewards are
 * computed on the host from the sampled token ids, which generation returns there anyway.
 */
public final class GrpoTrainer {
    /** Scores one completion of one prompt (token ids; decode them as the task needs). */
    @FunctionalInterface
    public interface RewardFunction {
        double reward(int[] prompt, int[] completion);
    }

    private final Gpt policy, reference;
    private final RewardFunction rewardFunction;
    private final GrpoConfig config;
    private final int eosId, padId;
    private final AdamW optimizer;
    private long step;

    /** {@code reference} may be null when beta is 0 (TRL then loads no reference model either). */
    public GrpoTrainer(Gpt policy, Gpt reference, RewardFunction rewardFunction, GrpoConfig config, int eosId, int padId) {
        if (config.beta() > 0 && reference == null) {
            throw new IllegalArgumentException("GrpoTrainer: beta " + config.beta() + " needs a reference model");
        }
        this.policy = policy;
        this.reference = reference;
        this.rewardFunction = rewardFunction;
        this.config = config;
        this.eosId = eosId;
        this.padId = padId;
        this.optimizer = new AdamW(policy.namedParameters(), AdamW.Config.defaults().withLearningRate(config.learningRate()));
    }

    public Gpt policy() {
        return policy;
    }

    public long step() {
        return step;
    }

    /** The policy's optimizer; its state goes into checkpoints. */
    public AdamW optimizer() {
        return optimizer;
    }

    /**
     * Continues a run after {@code step} steps; parameters and optimizer state are restored separately, from a
     * checkpoint. Sampling seeds are functions of the seed and the step, so the run goes on as if it had never
     * stopped.
     */
    public void restore(long step) {
        if (step < 0) throw new IllegalArgumentException("GrpoTrainer: step must be >= 0, found " + step);
        this.step = step;
    }

    /** One GRPO step on {@code prompts} (each sampled numGenerations times); returns TRL-named metrics. */
    public Map<String, Object> trainStep(int[][] prompts) {
        int g = config.numGenerations();
        int[][] expanded = new int[prompts.length * g][];
        long[] seeds = new long[expanded.length];
        for (int i = 0; i < expanded.length; i++) {
            expanded[i] = prompts[i / g];
            seeds[i] = config.seed() * 1_000_003L + step * expanded.length + i; // distinct stream per sample and step
        }
        SamplingConfig sampling = new SamplingConfig(config.maxCompletionLength(), config.temperature(), config.topK(),
                config.topP(), eosId, padId, config.seed());
        Rollout rollout;
        try (var p = Autocast.with(config.precision())) {
            rollout = Rollout.sample(policy, config.beta() > 0 ? reference : null, expanded, sampling, seeds);
        }

        long scoreStart = System.nanoTime();
        double[] r = new double[expanded.length];
        for (int i = 0; i < r.length; i++) r[i] = rewardFunction.reward(expanded[i], rollout.completions()[i]);
        // on the host, where the rewards are; only the advantages go to the device
        GrpoMath.GroupAdvantages adv = GrpoMath.advantages(Tensor.of(r).to(policy.dtype()), g, config.scaleRewards());
        Tensor advantages = adv.advantages().to(policy.device());

        double scoreSeconds = (System.nanoTime() - scoreStart) * 1e-9;
        long f0 = System.nanoTime();
        policy.train();
        SequenceLogProbs.WithLogits out;
        try (var p = Autocast.with(config.precision())) {
            out = SequenceLogProbs.perTokenWithLogits(policy, rollout.batch(), config.temperature());
        }
        Tensor mask = rollout.batch().completionMask();
        GrpoMath.Loss loss = GrpoMath.loss(out.logProbs(), rollout.policyLogProbs(), rollout.referenceLogProbs(),
                advantages, mask, config.epsilon(), config.epsilonHigh(), config.beta(), config.lossType(),
                config.maxCompletionLength());
        double lossValue = loss.loss().data().item();
        if (!Double.isFinite(lossValue)) {
            throw new ArithmeticException("GrpoTrainer: loss is " + lossValue + " at step " + step + "; stopping before the update");
        }
        long f1 = System.nanoTime();
        loss.loss().backward();
        double gradNorm = GradClip.clipGlobalNormOrThrow(policy.namedParameters(), config.maxGradNorm());
        optimizer.step();
        optimizer.zeroGrad();
        long f2 = System.nanoTime();
        step++;

        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", step);
        m.put("loss", lossValue);
        m.put("grad_norm", gradNorm);
        m.putAll(adv.metrics());
        m.putAll(loss.metrics());
        try (var noGrad = Grad.disabled()) {
            Tensor entropy = PpoMath.entropy(out.nextTokenLogits().data().div(config.temperature()));
            m.put("entropy", PpoMath.maskedMean(entropy, mask));
        }
        double length = 0;
        for (int[] c : rollout.completions()) length += c.length;
        m.put("completions/mean_length", length / expanded.length);
        m.put("time/generation_s", rollout.generationSeconds());
        m.put("time/logprobs_s", rollout.logProbSeconds());
        m.put("time/score_s", scoreSeconds);
        m.put("time/forward_s", (f1 - f0) * 1e-9);
        m.put("time/backward_s", (f2 - f1) * 1e-9);
        return m;
    }

    /** Dtype of the policy (for callers building tensors). */
    public DType dtype() {
        return policy.dtype();
    }

}
