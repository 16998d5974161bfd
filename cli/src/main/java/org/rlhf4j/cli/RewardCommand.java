package org.rlhf4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.rlhf4j.rl.dpo.TokenizedPair;
import org.rlhf4j.rl.reward.RewardConfig;
import org.rlhf4j.rl.reward.RewardModel;
import org.rlhf4j.rl.reward.RewardTrainer;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.io.TrainingCheckpoint;
import org.rlhf4j.transformer.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Bradley-Terry reward-model training, TRL's RewardTrainer. */
@Command(name = "reward", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Reward-model training, Bradley-Terry (TRL's RewardTrainer).",
                "A scalar head on the --model trunk learns to score chosen above rejected on JSONL lines"
                        + " {\"prompt\", \"chosen\", \"rejected\"}; the output is a GPT2ForSequenceClassification"
                        + " directory. Options and defaults are TRL's RewardConfig.",
                "Example:",
                "  rlhf4j reward --model out/sft --dataset pairs.jsonl \\",
                "      --learning-rate 5e-4 --max-steps 400 --output-dir out/reward", ""})
final class RewardCommand extends TrainCommand {
    @Mixin
    ModelOptions model;

    @Option(names = "--dataset", required = true, paramLabel = "FILE",
            description = "Preference pairs, JSONL {\"prompt\", \"chosen\", \"rejected\"}.")
    Path dataset;

    @Option(names = "--eval-dataset", paramLabel = "FILE", description = "Held-out pairs; eval_accuracy etc. at the end.")
    Path evalDataset;

    @Option(paramLabel = "X", names = "--learning-rate", defaultValue = "5e-5", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(paramLabel = "N", names = "--per-device-train-batch-size", defaultValue = "8", description = "Pairs per micro-batch (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(paramLabel = "N", names = "--gradient-accumulation-steps", defaultValue = "1", description = "Micro-batches per step (default: ${DEFAULT-VALUE}).")
    int gradientAccumulationSteps;

    @Option(paramLabel = "N", names = "--max-steps", defaultValue = "-1", description = "Optimizer steps; -1 runs --num-train-epochs (default: ${DEFAULT-VALUE}).")
    int maxSteps;

    @Option(paramLabel = "X", names = "--num-train-epochs", defaultValue = "3", description = "Passes over the data (default: ${DEFAULT-VALUE}).")
    double numTrainEpochs;

    @Option(paramLabel = "N", names = "--max-length", defaultValue = "1024", description = "Longer pairs are left out (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(paramLabel = "X", names = "--warmup-ratio", defaultValue = "0.0", description = "Fraction of steps with linear warmup (default: ${DEFAULT-VALUE}).")
    double warmupRatio;

    @Option(paramLabel = "NAME", names = "--lr-scheduler-type", defaultValue = "linear", description = "linear, cosine or constant (default: ${DEFAULT-VALUE}).")
    String lrSchedulerType;

    @Option(paramLabel = "X", names = "--weight-decay", defaultValue = "0.0", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(paramLabel = "X", names = "--max-grad-norm", defaultValue = "1.0", description = "Global gradient-norm clipping (default: ${DEFAULT-VALUE}).")
    double maxGradNorm;

    @Option(names = "--center-rewards-coefficient", defaultValue = "0.0",
            description = "Weight of mean((r_chosen + r_rejected)^2); 0 is off (default: ${DEFAULT-VALUE}).")
    double centerRewardsCoefficient;

    @Option(paramLabel = "N", names = "--seed", defaultValue = "42", description = "Data order and head initialisation (default: ${DEFAULT-VALUE}).")
    long seed;

    private RewardConfig config;

    @Override
    void validate() {
        Check.positive(spec, "--learning-rate", learningRate);
        Check.atLeast(spec, "--per-device-train-batch-size", batchSize, 1);
        Check.atLeast(spec, "--gradient-accumulation-steps", gradientAccumulationSteps, 1);
        Check.stepsOrUnset(spec, "--max-steps", maxSteps);
        Check.positive(spec, "--num-train-epochs", numTrainEpochs);
        Check.atLeast(spec, "--max-length", maxLength, 2);
        Check.range(spec, "--warmup-ratio", warmupRatio, 0, 1);
        Check.oneOf(spec, "--lr-scheduler-type", lrSchedulerType, "linear", "cosine", "constant");
        Check.nonNegative(spec, "--weight-decay", weightDecay);
        Check.positive(spec, "--max-grad-norm", maxGradNorm);
        Check.nonNegative(spec, "--center-rewards-coefficient", centerRewardsCoefficient);
        try {
            config = new RewardConfig(learningRate, batchSize, gradientAccumulationSteps, maxSteps, numTrainEpochs, maxLength,
                    maxGradNorm, warmupRatio, lrSchedulerType, weightDecay, centerRewardsCoefficient, 10, seed, precision());
        } catch (IllegalArgumentException e) {
            throw Check.invalid(spec, e);
        }
        model.validate();
        ModelFiles.requireFile(dataset, "--dataset");
        if (evalDataset != null) ModelFiles.requireFile(evalDataset, "--eval-dataset");
    }

    @Override
    Map<String, Object> arguments() {
        Map<String, Object> a = new LinkedHashMap<>(model.describe());
        a.put("dataset", dataset.toString());
        if (evalDataset != null) a.put("eval_dataset", evalDataset.toString());
        a.put("learning_rate", learningRate);
        a.put("per_device_train_batch_size", batchSize);
        a.put("gradient_accumulation_steps", gradientAccumulationSteps);
        a.put("max_steps", maxSteps);
        a.put("num_train_epochs", numTrainEpochs);
        a.put("max_length", maxLength);
        a.put("warmup_ratio", warmupRatio);
        a.put("lr_scheduler_type", lrSchedulerType);
        a.put("weight_decay", weightDecay);
        a.put("max_grad_norm", maxGradNorm);
        a.put("center_rewards_coefficient", centerRewardsCoefficient);
        a.put("seed", seed);
        return a;
    }

    @Override
    TrainingRun.Session open() throws Exception {
        RewardModel rm;
        Tokenizer tokenizer;
        if (model.model != null && ModelFiles.isRewardModel(model.model)) {
            rm = ModelFiles.loadRewardModel(model.model, "--model");
            tokenizer = model.tokenizer(rm.trunk().config().vocabSize());
        } else {
            Gpt trunk = model.load(seed);
            tokenizer = model.tokenizer(trunk.config().vocabSize());
            rm = RewardModel.withNewHead(trunk, new Generator(seed));
        }
        onDevice(rm);
        List<TokenizedPair> train = Pairs.read(dataset, tokenizer);
        List<TokenizedPair> eval = evalDataset == null ? List.of() : Pairs.read(evalDataset, tokenizer);
        RewardTrainer trainer = new RewardTrainer(rm, config, train, ModelFiles.padId(tokenizer));
        return new TrainerSession(trainer.totalSteps(), trainer::step, trainer.optimizer(), model.tokenizerSource()) {
            @Override
            public Map<String, Object> trainStep() {
                Map<String, Object> m = trainer.trainStep();
                if (atLastStep() && !eval.isEmpty()) m.putAll(trainer.evaluationMetrics(eval));
                return m;
            }

            @Override
            public Map<String, Tensor> modelState() {
                return rm.stateDict();
            }

            @Override
            void restoreModels(TrainingCheckpoint c) {
                rm.loadStateDict(c.model(), "checkpoint");
            }

            @Override
            public Map<String, Object> trainerState() {
                return new LinkedHashMap<>(trainer.state());
            }

            @Override
            void restoreTrainer(TrainingCheckpoint c, Map<String, Object> state) {
                trainer.restore(Check.longs(state));
            }

            @Override
            void saveWeights(Path dir) throws IOException {
                rm.eval();
                rm.save(dir);
            }

            @Override
            public List<Plots.Plot> plots() {
                return List.of(Plots.Plot.of("loss", "reward model loss", "loss"),
                        Plots.Plot.of("accuracy", "pairwise accuracy", "accuracy"),
                        Plots.Plot.of("margin", "reward margin (chosen - rejected)", "margin"));
            }

            @Override
            public String progress(Map<String, Object> m) {
                return join(fmt(m, "loss", "loss"), fmt(m, "accuracy", "acc"), fmt(m, "eval_accuracy", "eval_acc"));
            }
        };
    }
}
