package org.rlhf4j.rl.dpo;

import org.rlhf4j.autograd.Precision;

/**
 * DPO hyper-parameters, with the names (camel-cased) and defaults of TRL's {@code DPOConfig} and, for the
 * training loop, of the Hugging Face {@code TrainingArguments} it extends. Dropout is always off in both models
 * (TRL's {@code disable_dropout=True}); the reference model is always frozen and its log-probs are computed once,
 * without gradients (TRL's {@code precompute_ref_log_probs=True}, which gives the same values as computing them
 * on the fly with a frozen, dropout-free reference).
 *
 * @param beta                      0.1: strength of the KL regularisation (tau for IPO)
 * @param lossType                  "sigmoid" (default), "robust", "hinge" or "ipo"; see {@link DpoLoss}
 * @param labelSmoothing            0.0: cDPO / robust DPO label noise, in [0, 0.5]
 * @param learningRate              1e-6, TRL's DPOConfig default (replacing TrainingArguments' 5e-5)
 * @param batchSize                 8 pairs per micro-batch (per_device_train_batch_size); each pair is 2 rows
 * @param gradientAccumulationSteps 1 micro-batch per optimizer step
 * @param maxSteps                  optimizer steps; -1 to run {@code numEpochs} instead
 * @param numEpochs                 3 passes over the data (num_train_epochs), when maxSteps is -1
 * @param maxGradNorm               1.0: global gradient-norm clipping
 * @param warmupRatio               0.0: fraction of steps with a linear warmup
 * @param lrScheduler               "linear" (decay to 0, HF's default), "cosine" or "constant"
 * @param weightDecay               0.0 (never on biases and LayerNorm weights)
 * @param maxLength                 1024 tokens per prompt + completion (also capped by the model's context)
 * @param maxPromptLength           512: a longer prompt keeps its last tokens, as TRL does
 * @param maxCompletionLength       -1 (None): a longer completion keeps its first tokens
 * @param truncationMode            "keep_end" (default) or "keep_start", when prompt + completion exceeds maxLength;
 *                                  see {@link DpoTrainer#truncate}
 * @param loggingSteps              10 (TRL overrides TrainingArguments' 500): an SLF4J line every this many steps
 * @param seed                      42: data order
 * @param precision                 F32; BF16 runs matrix products and attention in mixed precision
 *                                  (F32 master weights, F32 losses), as TRL's bf16 flag
 */
public record DpoConfig(double beta, String lossType, double labelSmoothing, double learningRate, int batchSize,
                        int gradientAccumulationSteps, int maxSteps, double numEpochs, double maxGradNorm,
                        double warmupRatio, String lrScheduler, double weightDecay, int maxLength, int maxPromptLength,
                        int maxCompletionLength, String truncationMode, int loggingSteps, long seed, Precision precision) {

    public DpoConfig {
        if (precision == null) throw new IllegalArgumentException("DpoConfig: precision is null (use Precision.F32)");
        // constructing the loss validates beta, lossType and labelSmoothing together
        new DpoLoss(beta, lossType, labelSmoothing);
        if (!(learningRate >= 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("DpoConfig: learningRate must be finite and >= 0, found " + learningRate);
        }
        if (batchSize < 1) throw new IllegalArgumentException("DpoConfig: batchSize must be >= 1, found " + batchSize);
        if (gradientAccumulationSteps < 1) {
            throw new IllegalArgumentException("DpoConfig: gradientAccumulationSteps must be >= 1, found " + gradientAccumulationSteps);
        }
        if (maxSteps == 0 || maxSteps < -1) throw new IllegalArgumentException("DpoConfig: maxSteps must be > 0 or -1, found " + maxSteps);
        if (maxSteps == -1 && !(numEpochs > 0)) throw new IllegalArgumentException("DpoConfig: numEpochs must be > 0, found " + numEpochs);
        if (!(maxGradNorm > 0)) throw new IllegalArgumentException("DpoConfig: maxGradNorm must be > 0, found " + maxGradNorm);
        if (!(warmupRatio >= 0 && warmupRatio <= 1)) throw new IllegalArgumentException("DpoConfig: warmupRatio must be in [0, 1], found " + warmupRatio);
        if (!lrScheduler.equals("linear") && !lrScheduler.equals("cosine") && !lrScheduler.equals("constant")) {
            throw new IllegalArgumentException("DpoConfig: lrScheduler must be linear, cosine or constant, found " + lrScheduler);
        }
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("DpoConfig: weightDecay must be >= 0, found " + weightDecay);
        if (maxLength < 2) throw new IllegalArgumentException("DpoConfig: maxLength must be >= 2, found " + maxLength);
        if (maxPromptLength < 1) throw new IllegalArgumentException("DpoConfig: maxPromptLength must be >= 1, found " + maxPromptLength);
        if (maxCompletionLength == 0 || maxCompletionLength < -1) {
            throw new IllegalArgumentException("DpoConfig: maxCompletionLength must be > 0 or -1 (no limit), found " + maxCompletionLength);
        }
        if (!truncationMode.equals("keep_end") && !truncationMode.equals("keep_start")) {
            throw new IllegalArgumentException("DpoConfig: truncationMode must be keep_end or keep_start, found " + truncationMode);
        }
        if (loggingSteps < 1) throw new IllegalArgumentException("DpoConfig: loggingSteps must be >= 1, found " + loggingSteps);
    }

    /** TRL's DPOConfig defaults. */
    public static DpoConfig defaults() {
        return new DpoConfig(0.1, "sigmoid", 0.0, 1e-6, 8, 1, -1, 3.0, 1.0, 0.0, "linear", 0.0, 1024, 512, -1,
                "keep_end", 10, 42, Precision.F32);
    }

    /** The loss these settings describe. */
    public DpoLoss loss() {
        return new DpoLoss(beta, lossType, labelSmoothing);
    }

    public DpoConfig withBeta(double v) {
        return new DpoConfig(v, lossType, labelSmoothing, learningRate, batchSize, gradientAccumulationSteps, maxSteps,
                numEpochs, maxGradNorm, warmupRatio, lrScheduler, weightDecay, maxLength, maxPromptLength,
                maxCompletionLength, truncationMode, loggingSteps, seed, precision);
    }

    /** Loss type and label smoothing together (they constrain each other). */
    public DpoConfig withLossType(String type, double smoothing) {
        return new DpoConfig(beta, type, smoothing, learningRate, batchSize, gradientAccumulationSteps, maxSteps,
                numEpochs, maxGradNorm, warmupRatio, lrScheduler, weightDecay, maxLength, maxPromptLength,
                maxCompletionLength, truncationMode, loggingSteps, seed, precision);
    }

    public DpoConfig withLossType(String type) {
        return withLossType(type, labelSmoothing);
    }

    public DpoConfig withLearningRate(double v) {
        return new DpoConfig(beta, lossType, labelSmoothing, v, batchSize, gradientAccumulationSteps, maxSteps,
                numEpochs, maxGradNorm, warmupRatio, lrScheduler, weightDecay, maxLength, maxPromptLength,
                maxCompletionLength, truncationMode, loggingSteps, seed, precision);
    }

    public DpoConfig withBatchSize(int v) {
        return new DpoConfig(beta, lossType, labelSmoothing, learningRate, v, gradientAccumulationSteps, maxSteps,
                numEpochs, maxGradNorm, warmupRatio, lrScheduler, weightDecay, maxLength, maxPromptLength,
                maxCompletionLength, truncationMode, loggingSteps, seed, precision);
    }

    public DpoConfig withGradientAccumulationSteps(int v) {
        return new DpoConfig(beta, lossType, labelSmoothing, learningRate, batchSize, v, maxSteps,
                numEpochs, maxGradNorm, warmupRatio, lrScheduler, weightDecay, maxLength, maxPromptLength,
                maxCompletionLength, truncationMode, loggingSteps, seed, precision);
    }

    public DpoConfig withMaxSteps(int v) {
        return new DpoConfig(beta, lossType, labelSmoothing, learningRate, batchSize, gradientAccumulationSteps, v,
                numEpochs, maxGradNorm, warmupRatio, lrScheduler, weightDecay, maxLength, maxPromptLength,
                maxCompletionLength, truncationMode, loggingSteps, seed, precision);
    }

    public DpoConfig withNumEpochs(double v) {
        return new DpoConfig(beta, lossType, labelSmoothing, learningRate, batchSize, gradientAccumulationSteps, -1,
                v, maxGradNorm, warmupRatio, lrScheduler, weightDecay, maxLength, maxPromptLength,
                maxCompletionLength, truncationMode, loggingSteps, seed, precision);
    }

    public DpoConfig withMaxGradNorm(double v) {
        return new DpoConfig(beta, lossType, labelSmoothing, learningRate, batchSize, gradientAccumulationSteps, maxSteps,
                numEpochs, v, warmupRatio, lrScheduler, weightDecay, maxLength, maxPromptLength,
                maxCompletionLength, truncationMode, loggingSteps, seed, precision);
    }

    public DpoConfig withSchedule(String scheduler, double warmup) {
        return new DpoConfig(beta, lossType, labelSmoothing, learningRate, batchSize, gradientAccumulationSteps, maxSteps,
                numEpochs, maxGradNorm, warmup, scheduler, weightDecay, maxLength, maxPromptLength,
                maxCompletionLength, truncationMode, loggingSteps, seed, precision);
    }

    public DpoConfig withWeightDecay(double v) {
        return new DpoConfig(beta, lossType, labelSmoothing, learningRate, batchSize, gradientAccumulationSteps, maxSteps,
                numEpochs, maxGradNorm, warmupRatio, lrScheduler, v, maxLength, maxPromptLength,
                maxCompletionLength, truncationMode, loggingSteps, seed, precision);
    }

    /** Length limits and truncation mode together. */
    public DpoConfig withLengths(int maxLen, int maxPromptLen, int maxCompletionLen, String mode) {
        return new DpoConfig(beta, lossType, labelSmoothing, learningRate, batchSize, gradientAccumulationSteps, maxSteps,
                numEpochs, maxGradNorm, warmupRatio, lrScheduler, weightDecay, maxLen, maxPromptLen,
                maxCompletionLen, mode, loggingSteps, seed, precision);
    }

    public DpoConfig withLoggingSteps(int v) {
        return new DpoConfig(beta, lossType, labelSmoothing, learningRate, batchSize, gradientAccumulationSteps, maxSteps,
                numEpochs, maxGradNorm, warmupRatio, lrScheduler, weightDecay, maxLength, maxPromptLength,
                maxCompletionLength, truncationMode, v, seed, precision);
    }

    public DpoConfig withSeed(long v) {
        return new DpoConfig(beta, lossType, labelSmoothing, learningRate, batchSize, gradientAccumulationSteps, maxSteps,
                numEpochs, maxGradNorm, warmupRatio, lrScheduler, weightDecay, maxLength, maxPromptLength,
                maxCompletionLength, truncationMode, loggingSteps, v, precision);
    }

    /** The same config with {@code precision} for matrix products and attention (TRL's {@code bf16} switch). */
    public DpoConfig withPrecision(Precision v) {
        return new DpoConfig(beta, lossType, labelSmoothing, learningRate, batchSize, gradientAccumulationSteps,
                maxSteps, numEpochs, maxGradNorm, warmupRatio, lrScheduler, weightDecay, maxLength, maxPromptLength,
                maxCompletionLength, truncationMode, loggingSteps, seed, v);
    }
}
