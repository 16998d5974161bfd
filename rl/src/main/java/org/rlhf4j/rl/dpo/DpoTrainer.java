package org.rlhf4j.rl.dpo;

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
import org.rlhf4j.autograd.Nn;
import org.rlhf4j.autograd.Precision;
import org.rlhf4j.autograd.ShapeOps;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.rl.logprobs.SequenceBatch;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.optim.AdamW;
import org.rlhf4j.transformer.optim.GradClip;
import org.rlhf4j.transformer.optim.LrSchedule;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Direct Preference Optimization, as TRL's {@code DPOTrainer}: a policy trained on preference pairs against a
 * frozen reference model with one of the {@link DpoLoss} losses, AdamW, global-norm clipping and a learning-rate
 * schedule.
 *
 * <ul>
 *   <li>Log-probs of a completion are the sum of its tokens' log-probs given the prompt (prompt and padding never
 *       count, masked by position), at temperature 1; for the "ipo" loss, their mean over the completion's tokens,
 *       as TRL's {@code concatenated_forward} does (a completion with no token then counts as one, giving 0).</li>
 *   <li>The chosen and rejected rows of a batch go through the policy in one forward, chosen rows first (TRL's
 *       {@code concatenated_forward}), cut into several forwards only when the batch would not fit the model's
 *       context ({@link SequenceChunks}).</li>
 *   <li>The reference model's log-probs are computed once, before training, without a graph
 *       ({@link #precomputeReference}; TRL's {@code precompute_ref_log_probs=True}), or supplied precomputed.</li>
 *   <li>Dropout is off in both models ({@code eval()}; TRL's {@code disable_dropout=True}); gradients still flow
 *       through the policy.</li>
 *   <li>A NaN or infinite loss or gradient stops training with an {@link ArithmeticException} before any weight is
 *       written, and the accumulated gradients are dropped.</li>
 * </ul>
 *
 * <p>Policy and reference may be on any device (each batch is built on the model's), and forward passes run in
 * {@link DpoConfig#precision()} ({@link Autocast}); a micro-batch's metrics come back to the host in one download.
 *
 * <p>Metrics per optimizer step, with TRL's names: {@code loss}, {@code grad_norm}, {@code learning_rate},
 * {@code rewards/chosen}, {@code rewards/rejected}, {@code rewards/accuracies}, {@code rewards/margins},
 * {@code logps/chosen}, {@code logps/rejected}, {@code logits/chosen}, {@code logits/rejected} (the mean raw logit
 * over completion positions and the vocabulary), plus {@code step} and {@code epoch}. With gradient accumulation
 * each is the mean over the step's micro-batches.
 */
public final class DpoTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(DpoTrainer.class);

    private final Gpt policy;
    private final Gpt referenceModel; // null when the reference log-probs were supplied
    private final DpoConfig config;
    private final DpoLoss loss;
    private final int padId;
    private final List<Prepared> train;
    private final ReferenceLogProbs reference;
    private final AdamW optimizer;
    private final LrSchedule schedule;
    private final long totalSteps;
    private final int batchesPerEpoch;

    private long step;   // optimizer steps done
    private int epoch;   // current epoch
    private int cursor;  // next micro-batch within the epoch
    private List<Integer> order;

    /**
     * A trainer whose reference log-probs are computed now, once, from {@code referenceModel} (which must be a
     * separate copy of the starting policy, or another model with the same vocabulary). The reference model is
     * kept for {@link #evaluate} on other pairs; it is never trained.
     */
    public DpoTrainer(Gpt policy, Gpt referenceModel, DpoConfig config, List<TokenizedPair> train, int padId) {
        this(policy, checkReference(policy, referenceModel), precomputeReference(referenceModel, train, config, padId),
                config, train, padId);
    }

    /**
     * A trainer on reference log-probs computed earlier ({@link #precomputeReference}, possibly saved and loaded),
     * one per pair of {@code train}, in order. {@link #evaluate} then needs reference log-probs for its pairs too.
     */
    public DpoTrainer(Gpt policy, ReferenceLogProbs reference, DpoConfig config, List<TokenizedPair> train, int padId) {
        this(policy, null, reference, config, train, padId);
    }

    private DpoTrainer(Gpt policy, Gpt referenceModel, ReferenceLogProbs reference, DpoConfig config,
                       List<TokenizedPair> train, int padId) {
        if (train.isEmpty()) throw new IllegalArgumentException("DpoTrainer: the training set is empty");
        checkPadId(policy, padId);
        this.policy = policy;
        this.referenceModel = referenceModel;
        this.config = config;
        this.loss = config.loss();
        this.padId = padId;
        this.train = prepare(train, config, limit(config, policy));
        this.reference = checkMatches(reference, this.train, "the training set");
        this.batchesPerEpoch = (train.size() + config.batchSize() - 1) / config.batchSize();
        this.totalSteps = config.maxSteps() > 0 ? config.maxSteps()
                : (long) Math.ceil(config.numEpochs() * batchesPerEpoch / config.gradientAccumulationSteps());
        this.optimizer = new AdamW(policy.namedParameters(),
                AdamW.Config.defaults().withLearningRate(config.learningRate()).withWeightDecay(config.weightDecay()));
        long warmup = (long) Math.ceil(config.warmupRatio() * totalSteps);
        this.schedule = switch (config.lrScheduler()) {
            case "cosine" -> LrSchedule.cosine(config.learningRate(), warmup, totalSteps);
            case "constant" -> LrSchedule.constantWithWarmup(config.learningRate(), warmup);
            default -> LrSchedule.linear(config.learningRate(), warmup, totalSteps);
        };
        this.order = shuffled(0);
        policy.eval(); // TRL's disable_dropout
    }

    private static Gpt checkReference(Gpt policy, Gpt referenceModel) {
        if (referenceModel == policy) {
            throw new IllegalArgumentException("DpoTrainer: the reference model is the policy itself; pass a copy of it"
                    + " (the reference must stay frozen while the policy trains)");
        }
        if (referenceModel.config().vocabSize() != policy.config().vocabSize()) {
            throw new IllegalArgumentException("DpoTrainer: the reference model's vocabulary (" + referenceModel.config().vocabSize()
                    + ") differs from the policy's (" + policy.config().vocabSize() + ")");
        }
        return referenceModel;
    }

    private static void checkPadId(Gpt model, int padId) {
        if (padId < 0 || padId >= model.config().vocabSize()) {
            throw new IllegalArgumentException("DpoTrainer: pad id " + padId + " is outside the vocabulary [0, "
                    + model.config().vocabSize() + ")");
        }
    }

    // ---- truncation ----

    /** The most tokens a row may have: {@code min(maxLength, context length)}. */
    static int limit(DpoConfig config, Gpt model) {
        return Math.min(config.maxLength(), model.config().contextLength());
    }

    /**
     * One row (prompt + completion) cut to fit: the prompt keeps its last {@code maxPromptLength} tokens and the
     * completion its first {@code maxCompletionLength} (as TRL's tokenize_row). If the row is still longer than
     * {@code limit} ({@code min(maxLength, context)}; an empty completion counts as one token, the batch layout's
     * minimum):
     * <ul>
     *   <li>"keep_end" drops prompt tokens from the front, as TRL does; the prompt keeps at least its last token
     *       (the completion is predicted from it), and a completion longer than {@code limit - 1} keeps its first
     *       {@code limit - 1} tokens (TRL would keep its end and lose the prompt entirely);</li>
     *   <li>"keep_start" keeps the first {@code limit} tokens of the row: the completion loses its end; a prompt of
     *       {@code limit} tokens or more keeps its first {@code limit - 1} and the completion is dropped.</li>
     * </ul>
     * Returns {@code {prompt, completion}}.
     */
    public static int[][] truncate(int[] prompt, int[] completion, DpoConfig config, int limit) {
        if (limit < 2) throw new IllegalArgumentException("DpoTrainer.truncate: limit must be >= 2, found " + limit);
        int[] p = prompt.length > config.maxPromptLength()
                ? Arrays.copyOfRange(prompt, prompt.length - config.maxPromptLength(), prompt.length) : prompt;
        int[] c = config.maxCompletionLength() > 0 && completion.length > config.maxCompletionLength()
                ? Arrays.copyOf(completion, config.maxCompletionLength()) : completion;
        if (SequenceChunks.width(p.length, c.length) <= limit) return new int[][] {p, c};
        if (config.truncationMode().equals("keep_end")) {
            if (c.length > limit - 1) c = Arrays.copyOf(c, limit - 1);
            int keep = limit - Math.max(c.length, 1);
            p = Arrays.copyOfRange(p, p.length - keep, p.length);
        } else if (p.length >= limit) {
            p = Arrays.copyOf(p, limit - 1);
            c = new int[0];
        } else {
            c = Arrays.copyOf(c, limit - p.length);
        }
        return new int[][] {p, c};
    }

    /** A pair cut to fit: its two rows may keep different parts of the prompt. */
    private record Prepared(int[] chosenPrompt, int[] chosen, int[] rejectedPrompt, int[] rejected) {}

    private static List<Prepared> prepare(List<TokenizedPair> pairs, DpoConfig config, int limit) {
        List<Prepared> out = new ArrayList<>(pairs.size());
        for (TokenizedPair pair : pairs) {
            int[][] c = truncate(pair.prompt(), pair.chosen(), config, limit);
            int[][] r = truncate(pair.prompt(), pair.rejected(), config, limit);
            out.add(new Prepared(c[0], c[1], r[0], r[1]));
        }
        return out;
    }

    private static ReferenceLogProbs checkMatches(ReferenceLogProbs reference, List<Prepared> pairs, String what) {
        if (reference.size() != pairs.size()) {
            throw new IllegalArgumentException("DpoTrainer: " + reference.size() + " reference log-probs for the "
                    + pairs.size() + " pairs of " + what);
        }
        for (int i = 0; i < pairs.size(); i++) {
            Prepared p = pairs.get(i);
            if (reference.chosenTokensAt(i) != p.chosen().length || reference.rejectedTokensAt(i) != p.rejected().length) {
                throw new IllegalArgumentException("DpoTrainer: the reference log-probs of pair " + i + " of " + what
                        + " count " + reference.chosenTokensAt(i) + " chosen and " + reference.rejectedTokensAt(i)
                        + " rejected tokens, but the pair has " + p.chosen().length + " and " + p.rejected().length
                        + " after truncation; they were computed on other pairs or with other length limits");
            }
        }
        return reference;
    }

    // ---- forward ----

    /**
     * Per-row outputs of one model over rows: summed completion log-probs {@code [N]}, summed mean logits {@code [N]}
     * (both on the model's device) and completion token counts.
     */
    private record Rows(Variable logps, Tensor logitSums, int[] tokens) {}

    /** Rows of a pair list: all chosen rows, then all rejected rows (TRL's concatenated batch). */
    private static int[][][] rowsOf(List<Prepared> pairs) {
        int b = pairs.size();
        int[][] prompts = new int[2 * b][], completions = new int[2 * b][];
        for (int i = 0; i < b; i++) {
            Prepared p = pairs.get(i);
            prompts[i] = p.chosenPrompt();
            completions[i] = p.chosen();
            prompts[b + i] = p.rejectedPrompt();
            completions[b + i] = p.rejected();
        }
        return new int[][][] {prompts, completions};
    }

    /**
     * Sum of completion-token log-probs per row {@code [N]} (graph recorded when gradients are enabled), and per row
     * the sum over completion positions of the mean logit over the vocabulary; batches on the model's device, the
     * forward in {@code precision}. Nothing is downloaded.
     */
    private static Rows forwardRows(Gpt model, int[][] prompts, int[][] completions, int padId, int limit,
                                    Precision precision) {
        List<SequenceBatch> chunks = SequenceChunks.of(prompts, completions, padId, model.dtype(), model.device(), limit);
        Variable[] parts = new Variable[chunks.size()];
        Tensor[] logitSums = new Tensor[chunks.size()];
        int[] tokens = new int[prompts.length];
        int row = 0;
        for (int k = 0; k < chunks.size(); k++) {
            SequenceBatch batch = chunks.get(k);
            int t = batch.ids().size(1);
            Variable logits;
            try (var p = Autocast.with(precision)) {
                logits = model.forward(batch.ids(), batch.positions(), batch.padMask());    // [b, T, V]
            }
            Variable next = ShapeOps.narrow(logits, 1, 0, t - 1);                             // predicts ids[1..]
            Variable logp = Nn.tokenLogProbs(next, batch.targets(), 1.0);                     // [b, T-1]
            Tensor mask = batch.completionMask();                                              // [b, T-1]
            parts[k] = logp.mul(Variable.constant(mask)).sum(1, false);                      // [b]
            Tensor meanLogits = next.data().mean(2, false);                                   // [b, T-1]
            logitSums[k] = Tensor.where(mask, meanLogits, Tensor.zeros(meanLogits.dtype(), meanLogits.device()))
                    .sum(1, false);                                                            // [b]
            for (int i = 0; i < batch.size(); i++) tokens[row + i] = batch.completionLengths()[i];
            row += batch.size();
        }
        Variable logps = parts.length == 1 ? parts[0] : ShapeOps.concat(0, parts);
        return new Rows(logps, logitSums.length == 1 ? logitSums[0] : Tensor.concat(0, logitSums), tokens);
    }

    /**
     * The reference model's log-probs of every pair (sums over completion tokens, after the truncation
     * {@code config} prescribes for this model's context), computed without a graph and with dropout off,
     * {@code config.batchSize()} pairs per forward, on the reference model's device and in {@code config.precision()}.
     */
    public static ReferenceLogProbs precomputeReference(Gpt referenceModel, List<TokenizedPair> pairs, DpoConfig config, int padId) {
        checkPadId(referenceModel, padId);
        int limit = limit(config, referenceModel);
        List<Prepared> prepared = prepare(pairs, config, limit);
        return referenceOf(referenceModel, prepared, config.batchSize(), padId, limit, config.precision());
    }

    private static ReferenceLogProbs referenceOf(Gpt referenceModel, List<Prepared> prepared, int batchSize, int padId,
                                                 int limit, Precision precision) {
        int n = prepared.size();
        double[] chosen = new double[n], rejected = new double[n];
        int[] chosenTokens = new int[n], rejectedTokens = new int[n];
        boolean wasTraining = referenceModel.isTraining();
        referenceModel.eval();
        try (var g = Grad.disabled()) {
            for (int from = 0; from < n; from += batchSize) {
                List<Prepared> part = prepared.subList(from, Math.min(n, from + batchSize));
                int b = part.size();
                int[][][] rows = rowsOf(part);
                Rows out = forwardRows(referenceModel, rows[0], rows[1], padId, limit, precision);
                double[] logps = out.logps().data().toDoubleArray(); // one download per batch
                for (int i = 0; i < b; i++) {
                    chosen[from + i] = logps[i];
                    rejected[from + i] = logps[b + i];
                    chosenTokens[from + i] = out.tokens()[i];
                    rejectedTokens[from + i] = out.tokens()[b + i];
                }
            }
        } finally {
            if (wasTraining) referenceModel.train();
        }
        return new ReferenceLogProbs(chosen, rejected, chosenTokens, rejectedTokens);
    }

    // ---- loss ----

    /** A batch's loss and its metrics (TRL's names, including logits/chosen and logits/rejected). */
    public record BatchLoss(DpoLoss.Result result, Map<String, Object> metrics) {
        /** The mean loss over the batch, with a graph to the policy. */
        public Variable loss() {
            return result.loss();
        }
    }

    private BatchLoss compute(List<Prepared> pairs, ReferenceLogProbs ref, List<Integer> refIndex) {
        int b = pairs.size();
        int[][][] rows = rowsOf(pairs);
        Rows out = forwardRows(policy, rows[0], rows[1], padId, limit(config, policy), config.precision());
        Variable chosen = ShapeOps.narrow(out.logps(), 0, 0, b);
        Variable rejected = ShapeOps.narrow(out.logps(), 0, b, b);
        double[] refChosen = new double[b], refRejected = new double[b];
        for (int i = 0; i < b; i++) {
            refChosen[i] = ref.chosenAt(refIndex.get(i));
            refRejected[i] = ref.rejectedAt(refIndex.get(i));
        }
        if (loss.type().averagesLogProbs()) {
            // TRL (ipo): all_logps / loss_mask.sum(-1), for the policy and the reference alike
            double[] chosenCount = new double[b], rejectedCount = new double[b];
            for (int i = 0; i < b; i++) {
                chosenCount[i] = Math.max(1, out.tokens()[i]);
                rejectedCount[i] = Math.max(1, out.tokens()[b + i]);
                refChosen[i] /= chosenCount[i];
                refRejected[i] /= rejectedCount[i];
            }
            chosen = chosen.div(Variable.constant(asTensor(chosenCount, chosen.data())));
            rejected = rejected.div(Variable.constant(asTensor(rejectedCount, rejected.data())));
        }
        DpoLoss.Result result = loss.compute(chosen, rejected, asTensor(refChosen, chosen.data()), asTensor(refRejected, chosen.data()));
        // the loss's metrics and the rows' logit sums in one download: [metrics..., logitSums (2B)]
        int named = DpoLoss.Result.METRIC_NAMES.size();
        double[] host = Tensor.concat(0, result.metricValues(), out.logitSums().to(result.loss().dtype())).toDoubleArray();
        Map<String, Object> metrics = DpoLoss.Result.metrics(host);
        double chosenLogits = 0, rejectedLogits = 0;
        long chosenTokens = 0, rejectedTokens = 0;
        for (int i = 0; i < b; i++) {
            chosenLogits += host[named + i];
            chosenTokens += out.tokens()[i];
            rejectedLogits += host[named + b + i];
            rejectedTokens += out.tokens()[b + i];
        }
        metrics.put("logits/chosen", chosenLogits / chosenTokens);     // TRL: logits[chosen][loss_mask].mean()
        metrics.put("logits/rejected", rejectedLogits / rejectedTokens);
        return new BatchLoss(result, metrics);
    }

    private static Tensor asTensor(double[] values, Tensor like) {
        return Tensor.of(values, values.length).to(like.dtype()).to(like.device());
    }

    /**
     * The loss of {@code pairs} under the current policy, with a graph (call {@code backward()} on it to get
     * gradients; nothing is stepped). {@code reference} holds the reference log-probs of exactly these pairs.
     */
    public BatchLoss loss(List<TokenizedPair> pairs, ReferenceLogProbs reference) {
        List<Prepared> prepared = prepare(pairs, config, limit(config, policy));
        checkMatches(reference, prepared, "the batch");
        List<Integer> index = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) index.add(i);
        return compute(prepared, reference, index);
    }

    /** Reference log-probs of {@code pairs} from the reference model (only when the trainer was given one). */
    public ReferenceLogProbs referenceLogProbs(List<TokenizedPair> pairs) {
        if (referenceModel == null) {
            throw new IllegalStateException("DpoTrainer: this trainer was built from precomputed reference log-probs and"
                    + " has no reference model; pass the reference log-probs of these pairs");
        }
        return precomputeReference(referenceModel, pairs, config, padId);
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
        if (step >= totalSteps) throw new IllegalStateException("DpoTrainer: all " + totalSteps + " steps are done");
        policy.eval(); // dropout off, gradients on
        double lr = schedule.at(step);
        optimizer.setLearningRate(lr);
        int accumulation = config.gradientAccumulationSteps();
        Map<String, Double> sums = new LinkedHashMap<>();
        for (int micro = 0; micro < accumulation; micro++) {
            List<Integer> idx = nextMicroBatch();
            List<Prepared> pairs = new ArrayList<>(idx.size());
            for (int i : idx) pairs.add(train.get(i));
            BatchLoss batch = compute(pairs, reference, idx);
            double value = (Double) batch.metrics().get("loss");
            if (!Double.isFinite(value)) {
                optimizer.zeroGrad();
                throw new ArithmeticException("DpoTrainer: loss is " + value + " at step " + step + " (pairs " + idx
                        + "); stopping before the weights are touched");
            }
            batch.loss().mul(1.0 / accumulation).backward();
            for (var e : batch.metrics().entrySet()) sums.merge(e.getKey(), ((Number) e.getValue()).doubleValue(), Double::sum);
        }
        double gradNorm;
        try {
            gradNorm = GradClip.clipGlobalNormOrThrow(policy.namedParameters(), config.maxGradNorm());
        } catch (GradClip.NonFiniteGradientException e) {
            optimizer.zeroGrad();
            throw new ArithmeticException("DpoTrainer: at step " + step + ": " + e.getMessage());
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

    /**
     * Runs up to {@code steps} more optimizer steps (fewer when the run's {@link #totalSteps()} comes first), handing
     * every step's metrics to {@code callback}; returns how many ran.
     */
    public long train(long steps, Consumer<Map<String, Object>> callback) {
        long done = 0;
        while (done < steps && step < totalSteps) {
            Map<String, Object> m = trainStep();
            done++;
            if (step % config.loggingSteps() == 0 || step == totalSteps) LOG.info("dpo {}", m);
            callback.accept(m);
        }
        return done;
    }

    // ---- evaluation ----

    /** Fraction of {@code pairs} whose implicit reward is higher for the chosen completion (needs the reference model). */
    public double evaluate(List<TokenizedPair> pairs) {
        return ((Number) evaluationMetrics(pairs).get("eval_rewards/accuracies")).doubleValue();
    }

    /** As {@link #evaluate(List)}, with the reference log-probs of {@code pairs} supplied. */
    public double evaluate(List<TokenizedPair> pairs, ReferenceLogProbs reference) {
        return ((Number) evaluationMetrics(pairs, reference).get("eval_rewards/accuracies")).doubleValue();
    }

    /** TRL's DPO metrics over {@code pairs} with the "eval_" prefix, computed with the reference model. */
    public Map<String, Object> evaluationMetrics(List<TokenizedPair> pairs) {
        return evaluationMetrics(pairs, referenceLogProbs(pairs));
    }

    /**
     * TRL's DPO metrics over all of {@code pairs} ({@code eval_loss}, {@code eval_rewards/accuracies}, ...; means
     * over pairs, logits/* over completion tokens), without a graph, {@code batchSize} pairs per forward.
     */
    public Map<String, Object> evaluationMetrics(List<TokenizedPair> pairs, ReferenceLogProbs reference) {
        if (pairs.isEmpty()) throw new IllegalArgumentException("DpoTrainer.evaluate: no pairs");
        List<Prepared> prepared = prepare(pairs, config, limit(config, policy));
        checkMatches(reference, prepared, "the evaluation set");
        Map<String, Double> weighted = new LinkedHashMap<>();
        boolean wasTraining = policy.isTraining();
        policy.eval();
        try (var g = Grad.disabled()) {
            for (int from = 0; from < prepared.size(); from += config.batchSize()) {
                int to = Math.min(prepared.size(), from + config.batchSize());
                List<Integer> idx = new ArrayList<>();
                for (int i = from; i < to; i++) idx.add(i);
                BatchLoss batch = compute(prepared.subList(from, to), reference, idx);
                for (var e : batch.metrics().entrySet()) {
                    // every metric is a mean over the batch's pairs; logits/* are weighted by pairs too (close enough
                    // to TRL, which averages per-batch values over evaluation batches)
                    weighted.merge(e.getKey(), ((Number) e.getValue()).doubleValue() * (to - from), Double::sum);
                }
            }
        } finally {
            if (wasTraining) policy.train();
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (var e : weighted.entrySet()) out.put("eval_" + e.getKey(), e.getValue() / prepared.size());
        return out;
    }

    // ---- accessors ----

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

    public Gpt policy() {
        return policy;
    }

    /** The reference model, or null when the trainer was built from precomputed log-probs. */
    public Gpt referenceModel() {
        return referenceModel;
    }

    /** The reference log-probs of the training pairs, in the order they were given. */
    public ReferenceLogProbs referenceLogProbs() {
        return reference;
    }

    public DpoConfig config() {
        return config;
    }

    public DpoLoss lossFunction() {
        return loss;
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
}
