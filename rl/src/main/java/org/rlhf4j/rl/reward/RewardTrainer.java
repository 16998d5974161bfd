package org.rlhf4j.rl.reward;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.rlhf4j.autograd.Autocast;
import org.rlhf4j.autograd.Grad;
import org.rlhf4j.autograd.ShapeOps;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.rl.dpo.SequenceChunks;
import org.rlhf4j.rl.dpo.TokenizedPair;
import org.rlhf4j.rl.logprobs.SequenceBatch;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.optim.AdamW;
import org.rlhf4j.transformer.optim.GradClip;
import org.rlhf4j.transformer.optim.LrSchedule;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reward-model training, as TRL's {@code RewardTrainer}: the {@link BradleyTerry} loss on the rewards of each pair's
 * chosen and rejected completions (optionally with a per-pair margin and TRL's reward-centring term), AdamW,
 * global-norm clipping and a learning-rate schedule, dropout off.
 *
 * <p>A batch's chosen rows and rejected rows go through the model in one forward (chosen first), cut into more
 * only when they would not fit the context ({@link SequenceChunks}). Pairs with a row longer than
 * {@code min(maxLength, context)} are left out, as TRL filters them, with a warning saying how many.
 *
 * <p>Metrics per step: {@code loss}, {@code grad_norm}, {@code learning_rate}, {@code accuracy} (fraction of the
 * batch's pairs with {@code r_chosen > r_rejected}), {@code margin} (mean {@code r_chosen - r_rejected}), plus
 * {@code step} and {@code epoch}. A NaN or infinite loss or gradient stops training with an
 * {@link ArithmeticException} before any weight is written.
 *
 * <p>The model may be on any device: batches are built there, the forward passes run in
 * {@link RewardConfig#precision()} ({@link Autocast}), and a micro-batch's rewards and loss come back to the host
 * in one download.
 */
public final class RewardTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(RewardTrainer.class);

    private final RewardModel model;
    private final RewardConfig config;
    private final int padId;
    private final int limit;
    private final List<TokenizedPair> train;
    private final double[] margins; // null when the data has none
    private final AdamW optimizer;
    private final LrSchedule schedule;
    private final long totalSteps;
    private final int batchesPerEpoch;

    private long step;
    private int epoch;
    private int cursor;
    private List<Integer> order;

    public RewardTrainer(RewardModel model, RewardConfig config, List<TokenizedPair> train, int padId) {
        this(model, config, train, null, padId);
    }

    /** With a margin per pair ({@code margins[i]} for {@code train.get(i)}), or null for none. */
    public RewardTrainer(RewardModel model, RewardConfig config, List<TokenizedPair> train, double[] margins, int padId) {
        if (margins != null && margins.length != train.size()) {
            throw new IllegalArgumentException("RewardTrainer: " + margins.length + " margins for " + train.size() + " pairs");
        }
        int vocab = model.trunk().config().vocabSize();
        if (padId < 0 || padId >= vocab) {
            throw new IllegalArgumentException("RewardTrainer: pad id " + padId + " is outside the vocabulary [0, " + vocab + ")");
        }
        this.model = model;
        this.config = config;
        this.padId = padId;
        this.limit = Math.min(config.maxLength(), model.trunk().config().contextLength());
        List<TokenizedPair> kept = new ArrayList<>();
        List<Double> keptMargins = new ArrayList<>();
        for (int i = 0; i < train.size(); i++) {
            if (fits(train.get(i))) {
                kept.add(train.get(i));
                if (margins != null) keptMargins.add(margins[i]);
            }
        }
        if (kept.size() < train.size()) {
            LOG.warn("reward: left out {} of {} pairs longer than {} tokens", train.size() - kept.size(), train.size(), limit);
        }
        if (kept.isEmpty()) throw new IllegalArgumentException("RewardTrainer: no training pair fits in " + limit + " tokens");
        this.train = List.copyOf(kept);
        this.margins = margins == null ? null : keptMargins.stream().mapToDouble(Double::doubleValue).toArray();
        this.batchesPerEpoch = (this.train.size() + config.batchSize() - 1) / config.batchSize();
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
        model.eval(); // TRL's disable_dropout
    }

    private boolean fits(TokenizedPair p) {
        int prompt = p.prompt().length;
        return SequenceChunks.width(prompt, p.chosen().length) <= limit && SequenceChunks.width(prompt, p.rejected().length) <= limit;
    }

    // ---- rewards ----

    /**
     * Rewards of pairs, {@code [2B]}: the chosen rows' then the rejected rows', with a graph when enabled, on the
     * model's device, the forward in the configured precision.
     */
    private Variable rewards(List<TokenizedPair> pairs) {
        int b = pairs.size();
        int[][] prompts = new int[2 * b][], completions = new int[2 * b][];
        for (int i = 0; i < b; i++) {
            TokenizedPair p = pairs.get(i);
            prompts[i] = p.prompt();
            completions[i] = p.chosen();
            prompts[b + i] = prompts[i];
            completions[b + i] = p.rejected();
        }
        List<SequenceBatch> chunks = SequenceChunks.of(prompts, completions, padId, model.dtype(), model.device(), limit);
        Variable[] parts = new Variable[chunks.size()];
        try (var precision = Autocast.with(config.precision())) {
            for (int k = 0; k < chunks.size(); k++) parts[k] = model.score(chunks.get(k));
        }
        return parts.length == 1 ? parts[0] : ShapeOps.concat(0, parts); // [2B]
    }

    /** The loss of one batch of pairs (with a graph), and its metrics. */
    public record BatchLoss(Variable loss, double[] chosenRewards, double[] rejectedRewards, Map<String, Object> metrics) {}

    /** The loss of {@code pairs} under the current model, with a graph; {@code margins} null or one per pair. */
    public BatchLoss loss(List<TokenizedPair> pairs, double[] margins) {
        for (int i = 0; i < pairs.size(); i++) {
            if (!fits(pairs.get(i))) {
                throw new IllegalArgumentException("RewardTrainer: pair " + i + " has a row longer than " + limit + " tokens");
            }
        }
        int b = pairs.size();
        Variable all = rewards(pairs);                                             // [2B]
        Variable chosenRewards = ShapeOps.narrow(all, 0, 0, b), rejectedRewards = ShapeOps.narrow(all, 0, b, b);
        Tensor margin = margins == null ? null
                : Tensor.of(margins, margins.length).to(model.dtype()).to(all.data().device());
        Variable loss = BradleyTerry.loss(chosenRewards, rejectedRewards, margin);
        if (config.centerRewardsCoefficient() > 0) {
            loss = loss.add(BradleyTerry.centeringPenalty(chosenRewards, rejectedRewards, config.centerRewardsCoefficient()));
        }
        // rewards and loss in one download: [chosen..., rejected..., loss]
        double[] host = Tensor.concat(0, all.data(), loss.data().reshape(1)).toDoubleArray();
        double[] chosen = Arrays.copyOfRange(host, 0, b), rejected = Arrays.copyOfRange(host, b, 2 * b);
        double margin2 = 0;
        for (int i = 0; i < chosen.length; i++) margin2 += chosen[i] - rejected[i];
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("loss", host[2 * b]);
        metrics.put("accuracy", BradleyTerry.accuracy(chosen, rejected));
        metrics.put("margin", margin2 / chosen.length);
        return new BatchLoss(loss, chosen, rejected, metrics);
    }

    // ---- training ----

    private List<Integer> shuffled(int epochIndex) {
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < train.size(); i++) idx.add(i);
        Collections.shuffle(idx, new Random(config.seed() * 1_000_003L + epochIndex));
        return idx;
    }

    private List<Integer> nextMicroBatch() {
        if (cursor >= batchesPerEpoch) {
            epoch++;
            cursor = 0;
            order = shuffled(epoch);
        }
        int from = cursor * config.batchSize(), to = Math.min(train.size(), from + config.batchSize());
        cursor++;
        return new ArrayList<>(order.subList(from, to));
    }

    /** One optimizer step over {@code gradientAccumulationSteps} micro-batches; returns its metrics. */
    public Map<String, Object> trainStep() {
        if (step >= totalSteps) throw new IllegalStateException("RewardTrainer: all " + totalSteps + " steps are done");
        model.eval();
        double lr = schedule.at(step);
        optimizer.setLearningRate(lr);
        int accumulation = config.gradientAccumulationSteps();
        Map<String, Double> sums = new LinkedHashMap<>();
        for (int micro = 0; micro < accumulation; micro++) {
            List<Integer> idx = nextMicroBatch();
            List<TokenizedPair> pairs = new ArrayList<>(idx.size());
            double[] m = margins == null ? null : new double[idx.size()];
            for (int i = 0; i < idx.size(); i++) {
                pairs.add(train.get(idx.get(i)));
                if (m != null) m[i] = margins[idx.get(i)];
            }
            BatchLoss batch = loss(pairs, m);
            double value = (Double) batch.metrics().get("loss");
            if (!Double.isFinite(value)) {
                optimizer.zeroGrad();
                throw new ArithmeticException("RewardTrainer: loss is " + value + " at step " + step
                        + "; stopping before the weights are touched");
            }
            batch.loss().mul(1.0 / accumulation).backward();
            for (var e : batch.metrics().entrySet()) sums.merge(e.getKey(), ((Number) e.getValue()).doubleValue(), Double::sum);
        }
        double gradNorm;
        try {
            gradNorm = GradClip.clipGlobalNormOrThrow(model.namedParameters(), config.maxGradNorm());
        } catch (GradClip.NonFiniteGradientException e) {
            optimizer.zeroGrad();
            throw new ArithmeticException("RewardTrainer: at step " + step + ": " + e.getMessage());
        }
        optimizer.step();
        optimizer.zeroGrad();
        step++;
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("step", step);
        metrics.put("epoch", epoch + (double) cursor / batchesPerEpoch);
        metrics.put("loss", sums.remove("loss") / accumulation);
        metrics.put("grad_norm", gradNorm);
        metrics.put("learning_rate", lr);
        for (var e : sums.entrySet()) metrics.put(e.getKey(), e.getValue() / accumulation);
        return metrics;
    }

    /** Runs the remaining steps, handing every step's metrics to {@code callback}. */
    public void train(Consumer<Map<String, Object>> callback) {
        train(Long.MAX_VALUE, callback);
    }

    /** Runs up to {@code steps} more steps (fewer when {@link #totalSteps()} comes first); returns how many ran. */
    public long train(long steps, Consumer<Map<String, Object>> callback) {
        long done = 0;
        while (done < steps && step < totalSteps) {
            Map<String, Object> m = trainStep();
            done++;
            if (step % config.loggingSteps() == 0 || step == totalSteps) LOG.info("reward {}", m);
            callback.accept(m);
        }
        return done;
    }

    // ---- evaluation ----

    /** Accuracy on held-out pairs: the fraction with {@code r_chosen > r_rejected} (a tie counts as wrong). */
    public double evaluate(List<TokenizedPair> pairs) {
        return ((Number) evaluationMetrics(pairs).get("eval_accuracy")).doubleValue();
    }

    /**
     * {@code eval_loss} (Bradley-Terry without margin, mean over pairs), {@code eval_accuracy} and
     * {@code eval_margin} over {@code pairs}, without a graph; pairs that do not fit are left out, with a warning.
     */
    public Map<String, Object> evaluationMetrics(List<TokenizedPair> pairs) {
        List<TokenizedPair> kept = pairs.stream().filter(this::fits).toList();
        if (kept.size() < pairs.size()) {
            LOG.warn("reward eval: left out {} of {} pairs longer than {} tokens", pairs.size() - kept.size(), pairs.size(), limit);
        }
        if (kept.isEmpty()) throw new IllegalArgumentException("RewardTrainer.evaluate: no pair fits in " + limit + " tokens");
        double[] chosen = new double[kept.size()], rejected = new double[kept.size()];
        boolean wasTraining = model.isTraining();
        model.eval();
        try (var g = Grad.disabled()) {
            for (int from = 0; from < kept.size(); from += config.batchSize()) {
                int to = Math.min(kept.size(), from + config.batchSize());
                double[] r = rewards(kept.subList(from, to)).data().toDoubleArray(); // one download per batch
                System.arraycopy(r, 0, chosen, from, to - from);
                System.arraycopy(r, to - from, rejected, from, to - from);
            }
        } finally {
            if (wasTraining) model.train();
        }
        double lossSum = 0, marginSum = 0;
        for (int i = 0; i < chosen.length; i++) {
            double d = chosen[i] - rejected[i];
            lossSum += Math.log1p(Math.exp(-Math.abs(d))) + Math.max(-d, 0); // -logsigmoid(d) = softplus(-d), stably
            marginSum += d;
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("eval_loss", lossSum / chosen.length);
        out.put("eval_accuracy", BradleyTerry.accuracy(chosen, rejected));
        out.put("eval_margin", marginSum / chosen.length);
        return out;
    }


    /** Where training stands: step, epoch and position in the epoch (the optimizer and model hold the rest). */
    public Map<String, Long> state() {
        Map<String, Long> s = new LinkedHashMap<>();
        s.put("step", step);
        s.put("epoch", (long) epoch);
        s.put("cursor", (long) cursor);
        return s;
    }

    /**
     * Continues from a {@link #state()}, with the model's parameters and the optimizer's state restored separately
     * (from a checkpoint); the data order is a function of the seed and the epoch, so the run goes on as if it had
     * never stopped.
     */
    public void restore(Map<String, Long> s) {
        long restoredStep = s.get("step");
        if (restoredStep < 0 || restoredStep > totalSteps) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": step " + restoredStep + " is outside [0, "
                    + totalSteps + "]");
        }
        int restoredCursor = Math.toIntExact(s.get("cursor"));
        if (restoredCursor < 0 || restoredCursor > batchesPerEpoch) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": cursor " + restoredCursor + " is outside [0, "
                    + batchesPerEpoch + "]");
        }
        step = restoredStep;
        epoch = Math.toIntExact(s.get("epoch"));
        cursor = restoredCursor;
        order = shuffled(epoch);
    }

    // ---- accessors ----

    public RewardModel model() {
        return model;
    }

    public RewardConfig config() {
        return config;
    }

    public AdamW optimizer() {
        return optimizer;
    }

    public long step() {
        return step;
    }

    public long totalSteps() {
        return totalSteps;
    }

    /** The training pairs kept (those that fit), in the order given. */
    public List<TokenizedPair> trainingPairs() {
        return train;
    }
}
