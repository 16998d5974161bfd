package org.rlhf4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.rlhf4j.rl.grpo.GrpoConfig;
import org.rlhf4j.rl.grpo.GrpoTrainer;
import org.rlhf4j.rl.logprobs.SequenceBatch;
import org.rlhf4j.rl.reward.RewardModel;
import org.rlhf4j.rl.tasks.Arithmetic;
import org.rlhf4j.rl.tasks.SyntheticSentiment;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.io.TrainingCheckpoint;
import org.rlhf4j.transformer.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Group Relative Policy Optimization, TRL's GRPOTrainer. */
@Command(name = "grpo", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Group Relative Policy Optimization (TRL's GRPOTrainer).",
                "The --model policy samples --num-generations completions per prompt of JSONL lines {\"prompt\"};"
                        + " --reward-funcs score them: 'arithmetic' (the exact answer of a+b= or a-b=), 'sentiment'"
                        + " (the synthetic-sentiment lexicon) or a reward model directory, several summed."
                        + " Options and defaults are TRL's GRPOConfig.",
                "Example:",
                "  rlhf4j grpo --model out/sft --dataset sums.jsonl \\",
                "      --reward-funcs arithmetic --learning-rate 5e-4 \\",
                "      --per-device-train-batch-size 128 --num-generations 8 \\",
                "      --max-completion-length 4 --output-dir out/grpo", ""})
final class GrpoCommand extends TrainCommand {
    @Mixin
    ModelOptions model;

    @Option(names = {"--ref-model"}, paramLabel = "DIR",
            description = "Reference model for the KL term when --beta > 0 (default: a frozen copy of the starting policy).")
    Path refModel;

    @Option(names = "--dataset", required = true, paramLabel = "FILE", description = "Prompts, JSONL {\"prompt\"}.")
    Path dataset;

    @Option(names = "--reward-funcs", required = true, split = ",", paramLabel = "NAME|DIR",
            description = "arithmetic, sentiment, or a reward model directory; comma-separated to sum several.")
    List<String> rewardFuncs;

    @Option(paramLabel = "X", names = "--learning-rate", defaultValue = "1e-6", description = "Learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(paramLabel = "N", names = "--per-device-train-batch-size", defaultValue = "8",
            description = "Completions per step, a multiple of --num-generations (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(paramLabel = "N", names = "--num-generations", defaultValue = "8", description = "Completions per prompt, the group (default: ${DEFAULT-VALUE}).")
    int numGenerations;

    @Option(paramLabel = "X", names = "--temperature", defaultValue = "1.0", description = "Sampling temperature (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(paramLabel = "N", names = "--top-k", defaultValue = "0", description = "Top-k sampling; 0 is off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(paramLabel = "X", names = "--top-p", defaultValue = "1.0", description = "Nucleus sampling; 1 is off (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(paramLabel = "N", names = "--max-completion-length", defaultValue = "256", description = "Tokens per completion at most (default: ${DEFAULT-VALUE}).")
    int maxCompletionLength;

    @Option(paramLabel = "X", names = "--beta", defaultValue = "0.0", description = "KL coefficient; 0 needs no reference model (default: ${DEFAULT-VALUE}).")
    double beta;

    @Option(paramLabel = "X", names = "--epsilon", defaultValue = "0.2", description = "Lower clip of the ratio (default: ${DEFAULT-VALUE}).")
    double epsilon;

    @Option(names = "--epsilon-high", paramLabel = "X", description = "Upper clip of the ratio (default: --epsilon).")
    Double epsilonHigh;

    @Option(paramLabel = "NAME", names = "--loss-type", defaultValue = "dapo", description = "dapo, grpo, bnpo or dr_grpo (default: ${DEFAULT-VALUE}).")
    String lossType;

    @Option(paramLabel = "NAME", names = "--scale-rewards", defaultValue = "group", description = "group, batch or none (default: ${DEFAULT-VALUE}).")
    String scaleRewards;

    @Option(paramLabel = "X", names = "--max-grad-norm", defaultValue = "1.0", description = "Global gradient-norm clipping (default: ${DEFAULT-VALUE}).")
    double maxGradNorm;

    @Option(paramLabel = "X", names = "--num-train-epochs", defaultValue = "3", description = "Passes over the prompts (default: ${DEFAULT-VALUE}).")
    double numTrainEpochs;

    @Option(paramLabel = "N", names = "--max-steps", defaultValue = "-1", description = "Steps; overrides --num-train-epochs (default: ${DEFAULT-VALUE}).")
    int maxSteps;

    @Option(paramLabel = "N", names = "--seed", defaultValue = "42", description = "Sampling streams and prompt order (default: ${DEFAULT-VALUE}).")
    long seed;

    private GrpoConfig config;

    @Override
    void validate() {
        Check.positive(spec, "--learning-rate", learningRate);
        Check.atLeast(spec, "--num-generations", numGenerations, 2);
        Check.atLeast(spec, "--per-device-train-batch-size", batchSize, numGenerations);
        if (batchSize % numGenerations != 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--per-device-train-batch-size " + batchSize
                    + " must be a multiple of --num-generations " + numGenerations);
        }
        Check.positive(spec, "--temperature", temperature);
        Check.atLeast(spec, "--top-k", topK, 0);
        if (!(topP > 0 && topP <= 1)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--top-p must be in (0, 1], found " + topP);
        }
        Check.atLeast(spec, "--max-completion-length", maxCompletionLength, 1);
        Check.nonNegative(spec, "--beta", beta);
        Check.positive(spec, "--epsilon", epsilon);
        if (epsilonHigh != null) Check.positive(spec, "--epsilon-high", epsilonHigh);
        Check.oneOf(spec, "--loss-type", lossType, "dapo", "grpo", "bnpo", "dr_grpo");
        Check.oneOf(spec, "--scale-rewards", scaleRewards, "group", "batch", "none");
        Check.positive(spec, "--max-grad-norm", maxGradNorm);
        Check.positive(spec, "--num-train-epochs", numTrainEpochs);
        Check.stepsOrUnset(spec, "--max-steps", maxSteps);
        for (String f : rewardFuncs) {
            if (!f.equals("arithmetic") && !f.equals("sentiment") && !Files.isDirectory(Path.of(f))) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--reward-funcs: '" + f
                        + "' is neither arithmetic, sentiment nor a reward model directory");
            }
        }
        try {
            config = new GrpoConfig(learningRate, batchSize / numGenerations, numGenerations, temperature, topK, topP,
                    maxCompletionLength, beta, epsilon, epsilonHigh == null ? epsilon : epsilonHigh, lossType, scaleRewards,
                    maxGradNorm, seed, precision());
        } catch (IllegalArgumentException e) {
            throw Check.invalid(spec, e);
        }
        model.validate();
        if (refModel != null) ModelFiles.requireDirectory(refModel, "--ref-model");
        ModelFiles.requireFile(dataset, "--dataset");
    }

    @Override
    Map<String, Object> arguments() {
        Map<String, Object> a = new LinkedHashMap<>(model.describe());
        if (refModel != null) a.put("ref_model", refModel.toString());
        a.put("dataset", dataset.toString());
        a.put("reward_funcs", rewardFuncs);
        a.put("learning_rate", learningRate);
        a.put("per_device_train_batch_size", batchSize);
        a.put("num_generations", numGenerations);
        a.put("temperature", temperature);
        a.put("top_k", topK);
        a.put("top_p", topP);
        a.put("max_completion_length", maxCompletionLength);
        a.put("beta", beta);
        a.put("epsilon", epsilon);
        a.put("epsilon_high", epsilonHigh == null ? epsilon : epsilonHigh);
        a.put("loss_type", lossType);
        a.put("scale_rewards", scaleRewards);
        a.put("max_grad_norm", maxGradNorm);
        a.put("num_train_epochs", numTrainEpochs);
        a.put("max_steps", maxSteps);
        a.put("seed", seed);
        return a;
    }

    /** The sum of the reward functions named; {@code place} moves a reward model where the policy is. */
    static GrpoTrainer.RewardFunction rewardFunction(List<String> names, Tokenizer tokenizer, int padId,
                                                     UnaryOperator<RewardModel> place) throws IOException {
        List<GrpoTrainer.RewardFunction> parts = new ArrayList<>();
        Arithmetic arithmetic = new Arithmetic(9999, true);
        SyntheticSentiment sentiment = new SyntheticSentiment();
        for (String name : names) {
            switch (name) {
                case "arithmetic" -> parts.add((p, c) -> {
                    String prompt = tokenizer.decode(p);
                    try {
                        return arithmetic.reward(prompt, tokenizer.decode(c));
                    } catch (IllegalArgumentException e) {
                        throw new CliException("reward function arithmetic: " + e.getMessage());
                    }
                });
                case "sentiment" -> parts.add((p, c) -> sentiment.reward(tokenizer.decode(p), tokenizer.decode(c)));
                default -> {
                    RewardModel rm = place.apply(ModelFiles.loadRewardModel(Path.of(name), "--reward-funcs"));
                    parts.add((p, c) -> rm.scoreNoGrad(SequenceBatch.of(new int[][] {p}, new int[][] {c}, padId, DType.F32))[0]);
                }
            }
        }
        return (p, c) -> {
            double sum = 0;
            for (GrpoTrainer.RewardFunction f : parts) sum += f.reward(p, c);
            return sum;
        };
    }

    @Override
    TrainingRun.Session open() throws Exception {
        Gpt policy = onDevice(model.load(seed));
        Gpt reference = beta == 0 ? null : onDevice(model.loadReference(refModel, seed));
        Tokenizer tokenizer = model.tokenizer(policy.config().vocabSize());
        int pad = ModelFiles.padId(tokenizer), eos = tokenizer.eosId();
        Prompts prompts = Prompts.read(dataset, tokenizer, config.promptsPerStep(), seed, maxCompletionLength,
                policy.config().contextLength(), "--max-completion-length");
        long total = maxSteps > 0 ? maxSteps : prompts.stepsFor(numTrainEpochs);
        GrpoTrainer trainer = new GrpoTrainer(policy, reference, rewardFunction(rewardFuncs, tokenizer, pad, this::onDevice),
                config, eos, pad);
        return new TrainerSession.OfPolicy(total, trainer::step, trainer.optimizer(), model.tokenizerSource(), policy, eos) {
            @Override
            public Map<String, Object> trainStep() {
                return trainer.trainStep(prompts.forStep(trainer.step()));
            }

            @Override
            public Map<String, Object> trainerState() {
                return new LinkedHashMap<>(Map.of("step", trainer.step()));
            }

            @Override
            void restoreTrainer(TrainingCheckpoint c, Map<String, Object> state) {
                trainer.restore(c.step());
            }

            @Override
            public List<Plots.Plot> plots() {
                return List.of(Plots.Plot.of("reward", "mean reward", "reward"),
                        Plots.Plot.of("kl", "KL to the reference", "kl"),
                        Plots.Plot.of("loss", "GRPO loss", "loss"),
                        Plots.Plot.of("completion_length", "mean completion length", "completions/mean_length"));
            }

            @Override
            public String progress(Map<String, Object> m) {
                return join(fmt(m, "reward", "reward"), fmt(m, "kl", "kl"));
            }
        };
    }
}
