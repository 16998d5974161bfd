package org.rlhf4j.transformer.sft;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.rlhf4j.autograd.Autocast;
import org.rlhf4j.autograd.Grad;
import org.rlhf4j.autograd.Loss;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.io.TrainingCheckpoint;
import org.rlhf4j.transformer.optim.AdamW;
import org.rlhf4j.transformer.optim.GradClip;
import org.rlhf4j.transformer.optim.LrSchedule;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Supervised fine-tuning: next-token cross-entropy over completion tokens, AdamW, gradient clipping, a warmup
 * and decay schedule, gradient accumulation, periodic evaluation. Data order is a seeded shuffle per epoch, so a
 * run is reproducible, and {@link #state()} / {@link #restore} carry everything needed to resume it bit for bit.
 */
public final class SftTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(SftTrainer.class);

    private final Gpt model;
    private final SftConfig config;
    private final List<SftExample> train, eval;
    private final int padId, eosId;
    private final AdamW optimizer;
    private final LrSchedule schedule;
    private final long totalSteps;
    private final int batchesPerEpoch;

    private long step;          // optimizer steps done
    private int epoch;          // current epoch
    private int cursor;         // next micro-batch within the epoch
    private List<Integer> order;

    public SftTrainer(Gpt model, SftConfig config, List<SftExample> train, List<SftExample> eval, int padId, int eosId) {
        if (train.isEmpty()) throw new IllegalArgumentException("SftTrainer: the training set is empty");
        this.model = model;
        this.config = config;
        this.train = List.copyOf(train);
        this.eval = eval == null ? List.of() : List.copyOf(eval);
        this.padId = padId;
        this.eosId = eosId;
        this.batchesPerEpoch = (train.size() + config.batchSize() - 1) / config.batchSize();
        this.totalSteps = config.maxSteps() > 0 ? config.maxSteps()
                : (long) Math.ceil(config.numEpochs() * batchesPerEpoch / config.gradientAccumulationSteps());
        this.optimizer = new AdamW(model.namedParameters(),
                AdamW.Config.defaults().withLearningRate(config.learningRate()).withWeightDecay(config.weightDecay()));
        long warmup = (long) Math.ceil(config.warmupRatio() * totalSteps);
        this.schedule = switch (config.lrScheduler()) {
            case "cosine" -> LrSchedule.cosine(config.learningRate(), warmup, totalSteps);
            case "constant" -> LrSchedule.constantWithWarmup(config.learningRate(), warmup);
            default -> LrSchedule.linear(config.learningRate(), warmup, totalSteps);
        };
        this.order = shuffled(0);
    }

    private List<Integer> shuffled(int epochIndex) {
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < train.size(); i++) idx.add(i);
        Collections.shuffle(idx, new Random(config.seed() * 1_000_003L + epochIndex));
        return idx;
    }

    public long totalSteps() {
        return totalSteps;
    }

    public long step() {
        return step;
    }

    public AdamW optimizer() {
        return optimizer;
    }

    private List<SftExample> nextMicroBatch() {
        if (cursor >= batchesPerEpoch) {
            epoch++;
            cursor = 0;
            order = shuffled(epoch);
        }
        int from = cursor * config.batchSize(), to = Math.min(train.size(), from + config.batchSize());
        cursor++;
        List<SftExample> out = new ArrayList<>(to - from);
        for (int i = from; i < to; i++) out.add(train.get(order.get(i)));
        return out;
    }

    private int maxLength() {
        return Math.min(config.maxLength(), model.config().contextLength());
    }

    /** The masked mean cross-entropy of a batch. */
    public Variable loss(SftBatch batch) {
        Variable logits = model.forward(batch.inputs());
        return Loss.crossEntropy(logits, batch.targets(), batch.lossMask(), -100);
    }

    /** One optimizer step over {@code gradientAccumulationSteps} micro-batches; returns its metrics. */
    public Map<String, Object> trainStep() {
        if (step >= totalSteps) throw new IllegalStateException("SftTrainer: all " + totalSteps + " steps are done");
        model.train();
        double lr = schedule.at(step);
        optimizer.setLearningRate(lr);
        double lossSum = 0;
        int tokens = 0;
        int accumulation = config.gradientAccumulationSteps();
        for (int micro = 0; micro < accumulation; micro++) {
            SftBatch batch = SftBatch.of(nextMicroBatch(), maxLength(), padId, eosId, config.completionOnlyLoss(), model.dtype());
            if (batch.countedTokens() == 0) continue; // nothing to learn in this batch
            Variable loss;
            try (var precision = Autocast.with(config.precision())) {
                loss = loss(batch);
            }
            double value = loss.data().item();
            if (!Double.isFinite(value)) {
                throw new ArithmeticException("SftTrainer: loss is " + value + " at step " + step
                        + "; stopping before the weights are touched");
            }
            loss.mul(1.0 / accumulation).backward();
            lossSum += value;
            tokens += batch.countedTokens();
        }
        double gradNorm = GradClip.clipGlobalNormOrThrow(model.namedParameters(), config.maxGradNorm());
        optimizer.step();
        optimizer.zeroGrad();
        step++;
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("step", step);
        metrics.put("epoch", epoch + (double) cursor / batchesPerEpoch);
        metrics.put("loss", lossSum / accumulation);
        metrics.put("learning_rate", lr);
        metrics.put("grad_norm", gradNorm);
        metrics.put("num_tokens", tokens);
        return metrics;
    }

    /** Mean loss over the evaluation set (dropout off, no graph). NaN when there is no evaluation set. */
    public double evaluate() {
        if (eval.isEmpty()) return Double.NaN;
        boolean wasTraining = model.isTraining();
        model.eval();
        double weighted = 0;
        long tokens = 0;
        try (var g = Grad.disabled()) {
            for (int from = 0; from < eval.size(); from += config.batchSize()) {
                SftBatch batch = SftBatch.of(eval.subList(from, Math.min(eval.size(), from + config.batchSize())),
                        maxLength(), padId, eosId, config.completionOnlyLoss(), model.dtype());
                if (batch.countedTokens() == 0) continue;
                try (var precision = Autocast.with(config.precision())) {
                    weighted += loss(batch).data().item() * batch.countedTokens();
                }
                tokens += batch.countedTokens();
            }
        } finally {
            if (wasTraining) model.train();
        }
        return tokens == 0 ? Double.NaN : weighted / tokens;
    }

    /** Runs the remaining steps; every {@code loggingSteps} (and at evaluations) a metrics map goes to {@code log}. */
    public void train(Consumer<Map<String, Object>> log) {
        while (step < totalSteps) {
            Map<String, Object> m = trainStep();
            boolean evalNow = config.evalSteps() > 0 && step % config.evalSteps() == 0 || step == totalSteps;
            if (evalNow && !eval.isEmpty()) m.put("eval_loss", evaluate());
            if (step % config.loggingSteps() == 0 || evalNow) {
                LOG.info("sft {}", m);
                log.accept(m);
            }
        }
    }

    /**
     * Writes a training checkpoint (model, optimizer state, step, the dropout generator's state, the data
     * position) to {@code file}, atomically: a crash leaves the previous checkpoint or the complete new one.
     */
    public void saveCheckpoint(Path file) throws IOException {
        Map<String, Object> position = new LinkedHashMap<>();
        position.put("epoch", epoch);
        position.put("cursor", cursor);
        TrainingCheckpoint.of(model, optimizer.state(), step, Map.of("dropout", model.generator()), position).save(file);
    }

    /** Resumes from {@link #saveCheckpoint}: the run continues exactly as if it had never stopped. */
    public void loadCheckpoint(Path file) throws IOException {
        TrainingCheckpoint checkpoint = TrainingCheckpoint.load(file);
        checkpoint.restoreModel(model);
        optimizer.loadState(checkpoint.optimizer(), checkpoint.step());
        checkpoint.restoreGenerators(Map.of("dropout", model.generator()));
        Map<String, Long> s = new LinkedHashMap<>();
        s.put("step", checkpoint.step());
        s.put("epoch", ((Number) checkpoint.metadata().get("epoch")).longValue());
        s.put("cursor", ((Number) checkpoint.metadata().get("cursor")).longValue());
        restore(s);
    }

    /** Where training stands: step, epoch and position in the epoch (the optimizer and model hold the rest). */
    public Map<String, Long> state() {
        Map<String, Long> s = new LinkedHashMap<>();
        s.put("step", step);
        s.put("epoch", (long) epoch);
        s.put("cursor", (long) cursor);
        return s;
    }

    /** Continues from a {@link #state()} (model and optimizer state restored separately). */
    public void restore(Map<String, Long> s) {
        step = s.get("step");
        epoch = Math.toIntExact(s.get("epoch"));
        cursor = Math.toIntExact(s.get("cursor"));
        order = shuffled(epoch);
    }
}
