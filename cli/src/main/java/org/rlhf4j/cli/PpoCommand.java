package org.rlhf4j.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.rlhf4j.rl.ppo.PpoConfig;
import org.rlhf4j.rl.ppo.PpoTrainer;
import org.rlhf4j.rl.reward.RewardModel;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.io.TrainingCheckpoint;
import org.rlhf4j.transformer.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** PPO with a learned reward model, TRL's PPOTrainer. */
@Command(name = "ppo", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"PPO with a reward model (TRL's PPOTrainer).",
                "The --model policy completes the prompts of JSONL lines {\"prompt\"}; the reward model scores the"
                        + " completions, and a per-token KL penalty keeps the policy near the reference (the starting"
                        + " policy). Options and defaults are TRL's PPOConfig.",
                "Example:",
                "  rlhf4j ppo --model out/sft --reward-model out/reward \\",
                "      --dataset prompts.jsonl --learning-rate 3e-4 \\",
                "      --per-device-train-batch-size 32 --num-mini-batches 2 \\",
                "      --response-length 40 --kl-coef 0.3 --output-dir out/ppo", ""})
final class PpoCommand extends TrainCommand {
    @Mixin
    ModelOptions model;

    @Option(names = {"--ref-model", "--sft-model-path"}, paramLabel = "DIR",
            description = "Reference policy for the KL penalty (default: a frozen copy of the starting policy).")
    Path refModel;

    @Option(names = {"--reward-model", "--reward-model-path"}, required = true, paramLabel = "DIR",
            description = "Reward model directory (from 'rlhf4j reward').")
    Path rewardModel;

    @Option(names = {"--value-model", "--value-model-path"}, paramLabel = "DIR",
            description = "Initial value model (default: a copy of the reward model).")
    Path valueModel;

    @Option(names = "--dataset", required = true, paramLabel = "FILE", description = "Prompts, JSONL {\"prompt\"}.")
    Path dataset;

    @Option(paramLabel = "X", names = "--learning-rate", defaultValue = "3e-6", description = "Learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(paramLabel = "N", names = "--per-device-train-batch-size", defaultValue = "64",
            description = "Prompts per rollout (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(paramLabel = "N", names = "--num-mini-batches", defaultValue = "1", description = "Mini-batches per PPO epoch (default: ${DEFAULT-VALUE}).")
    int numMiniBatches;

    @Option(paramLabel = "N", names = "--num-ppo-epochs", defaultValue = "4", description = "Passes over each rollout (default: ${DEFAULT-VALUE}).")
    int numPpoEpochs;

    @Option(paramLabel = "N", names = "--response-length", defaultValue = "53", description = "Tokens generated per prompt at most (default: ${DEFAULT-VALUE}).")
    int responseLength;

    @Option(paramLabel = "X", names = "--temperature", defaultValue = "0.7", description = "Sampling temperature (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(paramLabel = "X", names = "--kl-coef", defaultValue = "0.05", description = "KL penalty coefficient (default: ${DEFAULT-VALUE}).")
    double klCoef;

    @Option(paramLabel = "NAME", names = "--kl-estimator", defaultValue = "k1", description = "k1 or k3 (default: ${DEFAULT-VALUE}).")
    String klEstimator;

    @Option(names = "--adaptive-kl", description = "Adapt --kl-coef toward --kl-target (Ziegler et al.).")
    boolean adaptiveKl;

    @Option(paramLabel = "X", names = "--kl-target", defaultValue = "6.0", description = "Target KL of --adaptive-kl (default: ${DEFAULT-VALUE}).")
    double klTarget;

    @Option(paramLabel = "X", names = "--kl-horizon", defaultValue = "10000", description = "Horizon of --adaptive-kl (default: ${DEFAULT-VALUE}).")
    double klHorizon;

    @Option(paramLabel = "X", names = "--cliprange", defaultValue = "0.2", description = "Policy ratio clipping (default: ${DEFAULT-VALUE}).")
    double cliprange;

    @Option(paramLabel = "X", names = "--cliprange-value", defaultValue = "0.2", description = "Value clipping (default: ${DEFAULT-VALUE}).")
    double cliprangeValue;

    @Option(paramLabel = "X", names = "--vf-coef", defaultValue = "0.1", description = "Value loss weight (default: ${DEFAULT-VALUE}).")
    double vfCoef;

    @Option(paramLabel = "X", names = "--gamma", defaultValue = "1.0", description = "Discount (default: ${DEFAULT-VALUE}).")
    double gamma;

    @Option(paramLabel = "X", names = "--lam", defaultValue = "0.95", description = "GAE lambda (default: ${DEFAULT-VALUE}).")
    double lam;

    @Option(names = "--whiten-rewards", description = "Whiten the per-token rewards.")
    boolean whitenRewards;

    @Option(names = "--missing-eos-penalty", paramLabel = "X",
            description = "Subtracted from the score of a response without EOS (default: none).")
    Double missingEosPenalty;

    @Option(paramLabel = "X", names = "--max-grad-norm", defaultValue = "1.0", description = "Global gradient-norm clipping (default: ${DEFAULT-VALUE}).")
    double maxGradNorm;

    @Option(paramLabel = "N", names = "--total-episodes", defaultValue = "-1", description = "Prompts to train on in all; -1: --num-train-epochs passes (default: ${DEFAULT-VALUE}).")
    long totalEpisodes;

    @Option(paramLabel = "X", names = "--num-train-epochs", defaultValue = "3", description = "Passes over the prompts (default: ${DEFAULT-VALUE}).")
    double numTrainEpochs;

    @Option(paramLabel = "N", names = "--max-steps", defaultValue = "-1", description = "PPO iterations; overrides the two above (default: ${DEFAULT-VALUE}).")
    int maxSteps;

    @Option(paramLabel = "N", names = "--seed", defaultValue = "42", description = "Sampling streams and prompt order (default: ${DEFAULT-VALUE}).")
    long seed;

    private PpoConfig config;

    @Override
    void validate() {
        Check.positive(spec, "--learning-rate", learningRate);
        Check.atLeast(spec, "--per-device-train-batch-size", batchSize, 1);
        Check.atLeast(spec, "--num-mini-batches", numMiniBatches, 1);
        if (batchSize % numMiniBatches != 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--per-device-train-batch-size " + batchSize
                    + " must be a multiple of --num-mini-batches " + numMiniBatches);
        }
        Check.atLeast(spec, "--num-ppo-epochs", numPpoEpochs, 1);
        Check.atLeast(spec, "--response-length", responseLength, 1);
        Check.positive(spec, "--temperature", temperature);
        Check.nonNegative(spec, "--kl-coef", klCoef);
        Check.oneOf(spec, "--kl-estimator", klEstimator, "k1", "k3");
        Check.positive(spec, "--kl-target", klTarget);
        Check.positive(spec, "--kl-horizon", klHorizon);
        Check.positive(spec, "--cliprange", cliprange);
        Check.positive(spec, "--cliprange-value", cliprangeValue);
        Check.nonNegative(spec, "--vf-coef", vfCoef);
        Check.range(spec, "--gamma", gamma, 0, 1);
        Check.range(spec, "--lam", lam, 0, 1);
        Check.positive(spec, "--max-grad-norm", maxGradNorm);
        Check.stepsOrUnset(spec, "--total-episodes", totalEpisodes);
        Check.positive(spec, "--num-train-epochs", numTrainEpochs);
        Check.stepsOrUnset(spec, "--max-steps", maxSteps);
        try {
            config = new PpoConfig(learningRate, batchSize, numMiniBatches, numPpoEpochs, responseLength, temperature, klCoef,
                    klEstimator, adaptiveKl, klTarget, klHorizon, cliprange, cliprangeValue, vfCoef, gamma, lam, whitenRewards,
                    missingEosPenalty == null ? Double.NaN : missingEosPenalty, maxGradNorm, seed, precision());
        } catch (IllegalArgumentException e) {
            throw Check.invalid(spec, e);
        }
        model.validate();
        if (refModel != null) ModelFiles.requireDirectory(refModel, "--ref-model");
        ModelFiles.requireDirectory(rewardModel, "--reward-model");
        if (valueModel != null) ModelFiles.requireDirectory(valueModel, "--value-model");
        ModelFiles.requireFile(dataset, "--dataset");
    }

    @Override
    Map<String, Object> arguments() {
        Map<String, Object> a = new LinkedHashMap<>(model.describe());
        if (refModel != null) a.put("sft_model_path", refModel.toString());
        a.put("reward_model_path", rewardModel.toString());
        if (valueModel != null) a.put("value_model_path", valueModel.toString());
        a.put("dataset", dataset.toString());
        a.put("learning_rate", learningRate);
        a.put("per_device_train_batch_size", batchSize);
        a.put("num_mini_batches", numMiniBatches);
        a.put("num_ppo_epochs", numPpoEpochs);
        a.put("response_length", responseLength);
        a.put("temperature", temperature);
        a.put("kl_coef", klCoef);
        a.put("kl_estimator", klEstimator);
        a.put("adaptive_kl", adaptiveKl);
        a.put("kl_target", klTarget);
        a.put("kl_horizon", klHorizon);
        a.put("cliprange", cliprange);
        a.put("cliprange_value", cliprangeValue);
        a.put("vf_coef", vfCoef);
        a.put("gamma", gamma);
        a.put("lam", lam);
        a.put("whiten_rewards", whitenRewards);
        a.put("missing_eos_penalty", missingEosPenalty);
        a.put("max_grad_norm", maxGradNorm);
        a.put("total_episodes", totalEpisodes);
        a.put("num_train_epochs", numTrainEpochs);
        a.put("max_steps", maxSteps);
        a.put("seed", seed);
        return a;
    }

    @Override
    TrainingRun.Session open() throws Exception {
        Gpt policy = onDevice(model.load(seed));
        Gpt reference = onDevice(model.loadReference(refModel, seed));
        RewardModel scorer = ModelFiles.loadRewardModel(rewardModel, "--reward-model");
        RewardModel value = valueModel != null ? ModelFiles.loadRewardModel(valueModel, "--value-model") : scorer.copy();
        onDevice(scorer);
        onDevice(value);
        for (RewardModel rm : new RewardModel[] {scorer, value}) {
            if (rm.trunk().config().vocabSize() != policy.config().vocabSize()) {
                throw new CliException("the reward/value model's vocab_size " + rm.trunk().config().vocabSize()
                        + " differs from the policy's " + policy.config().vocabSize());
            }
        }
        Tokenizer tokenizer = model.tokenizer(policy.config().vocabSize());
        Prompts prompts = Prompts.read(dataset, tokenizer, batchSize, seed, responseLength,
                Math.min(Math.min(policy.config().contextLength(), scorer.trunk().config().contextLength()),
                        value.trunk().config().contextLength()), "--response-length");
        long total = maxSteps > 0 ? maxSteps
                : totalEpisodes > 0 ? Math.max(1, totalEpisodes / batchSize) : prompts.stepsFor(numTrainEpochs);
        int eos = tokenizer.eosId();
        PpoTrainer trainer = new PpoTrainer(policy, reference, value, PpoTrainer.rewardModelScorer(scorer), config, eos,
                ModelFiles.padId(tokenizer));
        return new TrainerSession.OfPolicy(total, trainer::step, trainer.optimizer(), model.tokenizerSource(), policy, eos) {
            @Override
            public Map<String, Object> trainStep() {
                return trainer.trainStep(prompts.forStep(trainer.step()));
            }

            @Override
            public Map<String, Tensor> modelState() {
                Map<String, Tensor> m = new LinkedHashMap<>();
                for (var e : policy.stateDict().entrySet()) m.put("policy." + e.getKey(), e.getValue());
                for (var e : value.stateDict().entrySet()) m.put("value." + e.getKey(), e.getValue());
                return m;
            }

            @Override
            void restoreModels(TrainingCheckpoint c) {
                Map<String, Tensor> p = new LinkedHashMap<>(), v = new LinkedHashMap<>();
                for (var e : c.model().entrySet()) {
                    if (e.getKey().startsWith("policy.")) p.put(e.getKey().substring(7), e.getValue());
                    else if (e.getKey().startsWith("value.")) v.put(e.getKey().substring(6), e.getValue());
                    else throw new IllegalArgumentException("tensor '" + e.getKey() + "' is neither policy. nor value.");
                }
                policy.loadStateDict(p, "checkpoint policy");
                value.loadStateDict(v, "checkpoint value model");
            }

            @Override
            public Map<String, Object> trainerState() {
                Map<String, Object> s = new LinkedHashMap<>();
                s.put("step", trainer.step());
                s.put("kl_coef", trainer.klCoef());
                return s;
            }

            @Override
            void restoreTrainer(TrainingCheckpoint c, Map<String, Object> state) {
                trainer.restore(c.step(), ((Number) state.get("kl_coef")).doubleValue());
            }

            @Override
            public List<Plots.Plot> plots() {
                return List.of(Plots.Plot.of("reward", "reward model score", "objective/scores", "objective/rlhf_reward"),
                        Plots.Plot.of("kl", "sequence KL to the reference", "objective/kl"),
                        Plots.Plot.of("loss", "PPO losses", "loss/policy_avg", "loss/value_avg"),
                        Plots.Plot.of("entropy", "entropy", "objective/entropy"));
            }

            @Override
            public String progress(Map<String, Object> m) {
                return join(fmt(m, "objective/scores", "score"), fmt(m, "objective/kl", "kl"));
            }
        };
    }
}
