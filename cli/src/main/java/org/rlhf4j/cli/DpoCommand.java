package org.rlhf4j.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.rlhf4j.rl.dpo.DpoConfig;
import org.rlhf4j.rl.dpo.DpoTrainer;
import org.rlhf4j.rl.dpo.TokenizedPair;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.io.TrainingCheckpoint;
import org.rlhf4j.transformer.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Direct Preference Optimization, TRL's DPOTrainer. */
@Command(name = "dpo", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Direct Preference Optimization (TRL's DPOTrainer).",
                "Trains the --model policy against a frozen reference on JSONL lines {\"prompt\", \"chosen\","
                        + " \"rejected\"}. Options and defaults are TRL's DPOConfig.",
                "Example:",
                "  rlhf4j dpo --model out/sft --dataset pairs.jsonl \\",
                "      --learning-rate 5e-4 --max-steps 150 --output-dir out/dpo", ""})
final class DpoCommand extends TrainCommand {
    @Mixin
    ModelOptions model;

    @Option(names = {"--ref-model", "--ref-model-name-or-path"}, paramLabel = "DIR",
            description = "Reference model directory (default: a frozen copy of the starting policy).")
    Path refModel;

    @Option(names = "--dataset", required = true, paramLabel = "FILE",
            description = "Preference pairs, JSONL {\"prompt\", \"chosen\", \"rejected\"}.")
    Path dataset;

    @Option(names = "--eval-dataset", paramLabel = "FILE", description = "Held-out pairs; eval_rewards/* at the end.")
    Path evalDataset;

    @Option(paramLabel = "X", names = "--beta", defaultValue = "0.1", description = "KL strength (tau for ipo) (default: ${DEFAULT-VALUE}).")
    double beta;

    @Option(paramLabel = "NAME", names = "--loss-type", defaultValue = "sigmoid", description = "sigmoid, robust, hinge or ipo (default: ${DEFAULT-VALUE}).")
    String lossType;

    @Option(paramLabel = "X", names = "--label-smoothing", defaultValue = "0.0", description = "cDPO / robust label noise in [0, 0.5] (default: ${DEFAULT-VALUE}).")
    double labelSmoothing;

    @Option(paramLabel = "X", names = "--learning-rate", defaultValue = "1e-6", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(paramLabel = "N", names = "--per-device-train-batch-size", defaultValue = "8", description = "Pairs per micro-batch (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(paramLabel = "N", names = "--gradient-accumulation-steps", defaultValue = "1", description = "Micro-batches per step (default: ${DEFAULT-VALUE}).")
    int gradientAccumulationSteps;

    @Option(paramLabel = "N", names = "--max-steps", defaultValue = "-1", description = "Optimizer steps; -1 runs --num-train-epochs (default: ${DEFAULT-VALUE}).")
    int maxSteps;

    @Option(paramLabel = "X", names = "--num-train-epochs", defaultValue = "3", description = "Passes over the data (default: ${DEFAULT-VALUE}).")
    double numTrainEpochs;

    @Option(paramLabel = "X", names = "--max-grad-norm", defaultValue = "1.0", description = "Global gradient-norm clipping (default: ${DEFAULT-VALUE}).")
    double maxGradNorm;

    @Option(paramLabel = "X", names = "--warmup-ratio", defaultValue = "0.0", description = "Fraction of steps with linear warmup (default: ${DEFAULT-VALUE}).")
    double warmupRatio;

    @Option(paramLabel = "NAME", names = "--lr-scheduler-type", defaultValue = "linear", description = "linear, cosine or constant (default: ${DEFAULT-VALUE}).")
    String lrSchedulerType;

    @Option(paramLabel = "X", names = "--weight-decay", defaultValue = "0.0", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(paramLabel = "N", names = "--max-length", defaultValue = "1024", description = "Tokens per prompt + completion (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(paramLabel = "N", names = "--max-prompt-length", defaultValue = "512", description = "A longer prompt keeps its end (default: ${DEFAULT-VALUE}).")
    int maxPromptLength;

    @Option(paramLabel = "N", names = "--max-completion-length", defaultValue = "-1", description = "A longer completion keeps its start; -1: no limit (default: ${DEFAULT-VALUE}).")
    int maxCompletionLength;

    @Option(paramLabel = "NAME", names = "--truncation-mode", defaultValue = "keep_end", description = "keep_end or keep_start (default: ${DEFAULT-VALUE}).")
    String truncationMode;

    @Option(paramLabel = "N", names = "--seed", defaultValue = "42", description = "Data order (default: ${DEFAULT-VALUE}).")
    long seed;

    private DpoConfig config;

    @Override
    void validate() {
        Check.nonNegative(spec, "--beta", beta);
        Check.oneOf(spec, "--loss-type", lossType, "sigmoid", "robust", "hinge", "ipo");
        Check.range(spec, "--label-smoothing", labelSmoothing, 0, 0.5);
        Check.positive(spec, "--learning-rate", learningRate);
        Check.atLeast(spec, "--per-device-train-batch-size", batchSize, 1);
        Check.atLeast(spec, "--gradient-accumulation-steps", gradientAccumulationSteps, 1);
        Check.stepsOrUnset(spec, "--max-steps", maxSteps);
        Check.positive(spec, "--num-train-epochs", numTrainEpochs);
        Check.positive(spec, "--max-grad-norm", maxGradNorm);
        Check.range(spec, "--warmup-ratio", warmupRatio, 0, 1);
        Check.oneOf(spec, "--lr-scheduler-type", lrSchedulerType, "linear", "cosine", "constant");
        Check.nonNegative(spec, "--weight-decay", weightDecay);
        Check.atLeast(spec, "--max-length", maxLength, 2);
        Check.atLeast(spec, "--max-prompt-length", maxPromptLength, 1);
        Check.stepsOrUnset(spec, "--max-completion-length", maxCompletionLength);
        Check.oneOf(spec, "--truncation-mode", truncationMode, "keep_end", "keep_start");
        try {
            config = new DpoConfig(beta, lossType, labelSmoothing, learningRate, batchSize, gradientAccumulationSteps, maxSteps,
                    numTrainEpochs, maxGradNorm, warmupRatio, lrSchedulerType, weightDecay, maxLength, maxPromptLength,
                    maxCompletionLength, truncationMode, 10, seed, precision());
        } catch (IllegalArgumentException e) {
            throw Check.invalid(spec, e);
        }
        model.validate();
        if (refModel != null) ModelFiles.requireDirectory(refModel, "--ref-model");
        ModelFiles.requireFile(dataset, "--dataset");
        if (evalDataset != null) ModelFiles.requireFile(evalDataset, "--eval-dataset");
    }

    @Override
    Map<String, Object> arguments() {
        Map<String, Object> a = new LinkedHashMap<>(model.describe());
        if (refModel != null) a.put("ref_model", refModel.toString());
        a.put("dataset", dataset.toString());
        if (evalDataset != null) a.put("eval_dataset", evalDataset.toString());
        a.put("beta", beta);
        a.put("loss_type", lossType);
        a.put("label_smoothing", labelSmoothing);
        a.put("learning_rate", learningRate);
        a.put("per_device_train_batch_size", batchSize);
        a.put("gradient_accumulation_steps", gradientAccumulationSteps);
        a.put("max_steps", maxSteps);
        a.put("num_train_epochs", numTrainEpochs);
        a.put("max_grad_norm", maxGradNorm);
        a.put("warmup_ratio", warmupRatio);
        a.put("lr_scheduler_type", lrSchedulerType);
        a.put("weight_decay", weightDecay);
        a.put("max_length", maxLength);
        a.put("max_prompt_length", maxPromptLength);
        a.put("max_completion_length", maxCompletionLength);
        a.put("truncation_mode", truncationMode);
        a.put("seed", seed);
        return a;
    }

    @Override
    TrainingRun.Session open() throws Exception {
        Gpt policy = onDevice(model.load(seed));
        Gpt reference = onDevice(model.loadReference(refModel, seed));
        Tokenizer tokenizer = model.tokenizer(policy.config().vocabSize());
        List<TokenizedPair> train = Pairs.read(dataset, tokenizer);
        List<TokenizedPair> eval = evalDataset == null ? List.of() : Pairs.read(evalDataset, tokenizer);
        int eos = tokenizer.eosId();
        DpoTrainer trainer = new DpoTrainer(policy, reference, config, train, ModelFiles.padId(tokenizer));
        return new TrainerSession.OfPolicy(trainer.totalSteps(), trainer::step, trainer.optimizer(), model.tokenizerSource(),
                policy, eos) {
            @Override
            public Map<String, Object> trainStep() {
                Map<String, Object> m = trainer.trainStep();
                if (atLastStep() && !eval.isEmpty()) m.putAll(trainer.evaluationMetrics(eval));
                return m;
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
            public List<Plots.Plot> plots() {
                return List.of(Plots.Plot.of("loss", "DPO loss", "loss"),
                        Plots.Plot.of("rewards_accuracies", "rewards/accuracies", "rewards/accuracies"),
                        Plots.Plot.of("rewards_margins", "rewards/margins", "rewards/margins"),
                        Plots.Plot.of("rewards", "implicit rewards", "rewards/chosen", "rewards/rejected"));
            }

            @Override
            public String progress(Map<String, Object> m) {
                return join(fmt(m, "loss", "loss"), fmt(m, "rewards/accuracies", "acc"), fmt(m, "rewards/margins", "margin"));
            }
        };
    }
}
