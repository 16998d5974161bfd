package org.rlhf4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.rlhf4j.rl.data.Datasets;
import org.rlhf4j.rl.data.SftRecord;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.io.TrainingCheckpoint;
import org.rlhf4j.transformer.sft.SftConfig;
import org.rlhf4j.transformer.sft.SftExample;
import org.rlhf4j.transformer.sft.SftTrainer;
import org.rlhf4j.transformer.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Supervised fine-tuning, TRL's SFTTrainer. */
@Command(name = "sft", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Supervised fine-tuning (TRL's SFTTrainer).",
                "Trains on JSONL lines {\"prompt\", \"completion\"} (only the completion is learned, by default) or"
                        + " {\"text\"} (everything is learned). Options and defaults are TRL's SFTConfig.",
                "Example:",
                "  rlhf4j sft --config config.json --dataset sft.jsonl \\",
                "      --learning-rate 5e-3 --max-steps 600 --output-dir out/sft", ""})
final class SftCommand extends TrainCommand {
    @Mixin
    ModelOptions model;

    @Option(names = "--dataset", required = true, paramLabel = "FILE",
            description = "Training data, JSONL: {\"prompt\", \"completion\"} (completion learned) or {\"text\"} (all learned).")
    Path dataset;

    @Option(names = "--eval-dataset", paramLabel = "FILE", description = "Evaluation data, same layout; eval_loss in the metrics.")
    Path evalDataset;

    @Option(paramLabel = "X", names = "--learning-rate", defaultValue = "2e-5", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(paramLabel = "N", names = "--per-device-train-batch-size", defaultValue = "8", description = "Sequences per micro-batch (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(paramLabel = "N", names = "--gradient-accumulation-steps", defaultValue = "1", description = "Micro-batches per step (default: ${DEFAULT-VALUE}).")
    int gradientAccumulationSteps;

    @Option(paramLabel = "N", names = "--max-steps", defaultValue = "-1", description = "Optimizer steps; -1 runs --num-train-epochs (default: ${DEFAULT-VALUE}).")
    int maxSteps;

    @Option(paramLabel = "X", names = "--num-train-epochs", defaultValue = "3", description = "Passes over the data (default: ${DEFAULT-VALUE}).")
    double numTrainEpochs;

    @Option(paramLabel = "N", names = "--max-length", defaultValue = "1024", description = "Tokens per sequence at most, also capped by the context (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(names = "--completion-only-loss", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Learn only the completion tokens of prompt-completion data (default: ${DEFAULT-VALUE}).")
    boolean completionOnlyLoss;

    @Option(paramLabel = "X", names = "--warmup-ratio", defaultValue = "0.0", description = "Fraction of steps with linear warmup (default: ${DEFAULT-VALUE}).")
    double warmupRatio;

    @Option(paramLabel = "NAME", names = "--lr-scheduler-type", defaultValue = "linear", description = "linear, cosine or constant (default: ${DEFAULT-VALUE}).")
    String lrSchedulerType;

    @Option(paramLabel = "X", names = "--weight-decay", defaultValue = "0.0", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(paramLabel = "X", names = "--max-grad-norm", defaultValue = "1.0", description = "Global gradient-norm clipping (default: ${DEFAULT-VALUE}).")
    double maxGradNorm;

    @Option(paramLabel = "N", names = "--eval-steps", defaultValue = "0", description = "Evaluate every N steps; 0: only at the end (default: ${DEFAULT-VALUE}).")
    int evalSteps;

    @Option(paramLabel = "N", names = "--seed", defaultValue = "42", description = "Data order and fresh initialisation (default: ${DEFAULT-VALUE}).")
    long seed;

    private SftConfig config;

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
        Check.atLeast(spec, "--eval-steps", evalSteps, 0);
        try {
            config = new SftConfig(learningRate, batchSize, gradientAccumulationSteps, maxSteps, numTrainEpochs, maxLength,
                    completionOnlyLoss, warmupRatio, lrSchedulerType, weightDecay, maxGradNorm, 10, evalSteps, seed, precision());
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
        a.put("completion_only_loss", completionOnlyLoss);
        a.put("warmup_ratio", warmupRatio);
        a.put("lr_scheduler_type", lrSchedulerType);
        a.put("weight_decay", weightDecay);
        a.put("max_grad_norm", maxGradNorm);
        a.put("eval_steps", evalSteps);
        a.put("seed", seed);
        return a;
    }

    static List<SftExample> examples(Path file, Tokenizer tokenizer) throws IOException {
        List<SftRecord> records = Datasets.readSft(file);
        if (records.isEmpty()) throw new CliException(file + ": no records");
        List<SftExample> out = new ArrayList<>(records.size());
        for (int i = 0; i < records.size(); i++) {
            SftRecord r = records.get(i);
            try {
                out.add(r.isText() ? SftExample.text(tokenizer.encode(r.text(), false))
                        : new SftExample(tokenizer.encode(r.prompt(), false), tokenizer.encode(r.completion(), false)));
            } catch (IllegalArgumentException e) {
                throw new CliException(file + ": record " + (i + 1) + ": " + e.getMessage());
            }
        }
        return out;
    }

    @Override
    TrainingRun.Session open() throws Exception {
        Gpt gpt = onDevice(model.load(seed));
        Tokenizer tokenizer = model.tokenizer(gpt.config().vocabSize());
        List<SftExample> train = examples(dataset, tokenizer);
        List<SftExample> eval = evalDataset == null ? List.of() : examples(evalDataset, tokenizer);
        int pad = ModelFiles.padId(tokenizer), eos = tokenizer.eosId();
        SftTrainer trainer = new SftTrainer(gpt, config, train, eval, pad, eos);
        return new TrainerSession.OfPolicy(trainer.totalSteps(), trainer::step, trainer.optimizer(), model.tokenizerSource(),
                gpt, eos) {
            @Override
            public Map<String, Object> trainStep() {
                Map<String, Object> m = trainer.trainStep();
                boolean evalNow = evalSteps > 0 && trainer.step() % evalSteps == 0 || atLastStep();
                if (evalNow && !eval.isEmpty()) m.put("eval_loss", trainer.evaluate());
                return m;
            }

            @Override
            public Map<String, Generator> generators() {
                return Map.of("dropout", gpt.generator());
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
                return List.of(Plots.Plot.of("loss", "SFT loss", "loss", "eval_loss"),
                        Plots.Plot.of("learning_rate", "learning rate", "learning_rate"),
                        Plots.Plot.of("grad_norm", "gradient norm", "grad_norm"));
            }

            @Override
            public String progress(Map<String, Object> m) {
                return join(fmt(m, "loss", "loss"), fmt(m, "eval_loss", "eval_loss"));
            }
        };
    }
}
