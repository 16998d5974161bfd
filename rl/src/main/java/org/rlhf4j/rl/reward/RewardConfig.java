package org.rlhf4j.rl.reward;

import org.rlhf4j.autograd.Precision;

/**
 * Reward-model training hyper-parameters, with the names (camel-cased) and defaults of TRL's
 * {@code RewardConfig} and of the Hugging Face {@code TrainingArguments} it extends. Dropout is always off
 * (TRL's {@code disable_dropout=True}).
 *
 * @param learningRate              5e-5: TrainingArguments' default, which TRL's RewardConfig does not override
 * @param batchSize                 8 pairs per micro-batch (per_device_train_batch_size); each pair is 2 rows
 * @param gradientAccumulationSteps 1 micro-batch per optimizer step
 * @param maxSteps                  optimizer steps; -1 to run {@code numEpochs} instead
 * @param numEpochs                 3 passes over the data (num_train_epochs), when maxSteps is -1
 * @param maxLength                 1024: pairs with a row (prompt + completion) longer than this, or than the
 *                                  model's context, are left out of training, as TRL filters them
 * @param maxGradNorm               1.0: global gradient-norm clipping
 * @param warmupRatio               0.0: fraction of steps with a linear warmup
 * @param lrScheduler               "linear" (decay to 0, HF's default), "cosine" or "constant"
 * @param weightDecay               0.0 (never on biases and LayerNorm weights)
 * @param centerRewardsCoefficient  0.0 = off (TRL's None); else the weight of {@code mean((r_c + r_r)^2)}
 *                                  (0.01 recommended)
 * @param loggingSteps              10 (TRL overrides TrainingArguments' 500): an SLF4J line every this many steps
 * @param seed                      42: data order
 * @param precision                 F32; BF16 runs matrix products and attention in mixed precision
 *                                  (F32 master weights, F32 losses), as TRL's bf16 flag
 */
public record RewardConfig(double learningRate, int batchSize, int gradientAccumulationSteps, int maxSteps,
                           double numEpochs, int maxLength, double maxGradNorm, double warmupRatio, String lrScheduler,
                           double weightDecay, double centerRewardsCoefficient, int loggingSteps, long seed, Precision precision) {
    public RewardConfig {
        if (precision == null) throw new IllegalArgumentException("RewardConfig: precision is null (use Precision.F32)");
        if (!(learningRate >= 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("RewardConfig: learningRate must be finite and >= 0, found " + learningRate);
        }
        if (batchSize < 1) throw new IllegalArgumentException("RewardConfig: batchSize must be >= 1, found " + batchSize);
        if (gradientAccumulationSteps < 1) {
            throw new IllegalArgumentException("RewardConfig: gradientAccumulationSteps must be >= 1, found " + gradientAccumulationSteps);
        }
        if (maxSteps == 0 || maxSteps < -1) throw new IllegalArgumentException("RewardConfig: maxSteps must be > 0 or -1, found " + maxSteps);
        if (maxSteps == -1 && !(numEpochs > 0)) throw new IllegalArgumentException("RewardConfig: numEpochs must be > 0, found " + numEpochs);
        if (maxLength < 2) throw new IllegalArgumentException("RewardConfig: maxLength must be >= 2, found " + maxLength);
        if (!(maxGradNorm > 0)) throw new IllegalArgumentException("RewardConfig: maxGradNorm must be > 0, found " + maxGradNorm);
        if (!(warmupRatio >= 0 && warmupRatio <= 1)) throw new IllegalArgumentException("RewardConfig: warmupRatio must be in [0, 1], found " + warmupRatio);
        if (!lrScheduler.equals("linear") && !lrScheduler.equals("cosine") && !lrScheduler.equals("constant")) {
            throw new IllegalArgumentException("RewardConfig: lrScheduler must be linear, cosine or constant, found " + lrScheduler);
        }
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("RewardConfig: weightDecay must be >= 0, found " + weightDecay);
        if (!(centerRewardsCoefficient >= 0) || Double.isInfinite(centerRewardsCoefficient)) {
            throw new IllegalArgumentException("RewardConfig: centerRewardsCoefficient must be finite and >= 0, found " + centerRewardsCoefficient);
        }
        if (loggingSteps < 1) throw new IllegalArgumentException("RewardConfig: loggingSteps must be >= 1, found " + loggingSteps);
    }

    /** TRL's RewardConfig defaults. */
    public static RewardConfig defaults() {
        return new RewardConfig(5e-5, 8, 1, -1, 3.0, 1024, 1.0, 0.0, "linear", 0.0, 0.0, 10, 42, Precision.F32);
    }

    public RewardConfig withLearningRate(double v) {
        return new RewardConfig(v, batchSize, gradientAccumulationSteps, maxSteps, numEpochs, maxLength, maxGradNorm,
                warmupRatio, lrScheduler, weightDecay, centerRewardsCoefficient, loggingSteps, seed, precision);
    }

    public RewardConfig withBatchSize(int v) {
        return new RewardConfig(learningRate, v, gradientAccumulationSteps, maxSteps, numEpochs, maxLength, maxGradNorm,
                warmupRatio, lrScheduler, weightDecay, centerRewardsCoefficient, loggingSteps, seed, precision);
    }

    public RewardConfig withGradientAccumulationSteps(int v) {
        return new RewardConfig(learningRate, batchSize, v, maxSteps, numEpochs, maxLength, maxGradNorm,
                warmupRatio, lrScheduler, weightDecay, centerRewardsCoefficient, loggingSteps, seed, precision);
    }

    public RewardConfig withMaxSteps(int v) {
        return new RewardConfig(learningRate, batchSize, gradientAccumulationSteps, v, numEpochs, maxLength, maxGradNorm,
                warmupRatio, lrScheduler, weightDecay, centerRewardsCoefficient, loggingSteps, seed, precision);
    }

    public RewardConfig withNumEpochs(double v) {
        return new RewardConfig(learningRate, batchSize, gradientAccumulationSteps, -1, v, maxLength, maxGradNorm,
                warmupRatio, lrScheduler, weightDecay, centerRewardsCoefficient, loggingSteps, seed, precision);
    }

    public RewardConfig withMaxLength(int v) {
        return new RewardConfig(learningRate, batchSize, gradientAccumulationSteps, maxSteps, numEpochs, v, maxGradNorm,
                warmupRatio, lrScheduler, weightDecay, centerRewardsCoefficient, loggingSteps, seed, precision);
    }

    public RewardConfig withMaxGradNorm(double v) {
        return new RewardConfig(learningRate, batchSize, gradientAccumulationSteps, maxSteps, numEpochs, maxLength, v,
                warmupRatio, lrScheduler, weightDecay, centerRewardsCoefficient, loggingSteps, seed, precision);
    }

    public RewardConfig withSchedule(String scheduler, double warmup) {
        return new RewardConfig(learningRate, batchSize, gradientAccumulationSteps, maxSteps, numEpochs, maxLength,
                maxGradNorm, warmup, scheduler, weightDecay, centerRewardsCoefficient, loggingSteps, seed, precision);
    }

    public RewardConfig withWeightDecay(double v) {
        return new RewardConfig(learningRate, batchSize, gradientAccumulationSteps, maxSteps, numEpochs, maxLength,
                maxGradNorm, warmupRatio, lrScheduler, v, centerRewardsCoefficient, loggingSteps, seed, precision);
    }

    public RewardConfig withCenterRewardsCoefficient(double v) {
        return new RewardConfig(learningRate, batchSize, gradientAccumulationSteps, maxSteps, numEpochs, maxLength,
                maxGradNorm, warmupRatio, lrScheduler, weightDecay, v, loggingSteps, seed, precision);
    }

    public RewardConfig withLoggingSteps(int v) {
        return new RewardConfig(learningRate, batchSize, gradientAccumulationSteps, maxSteps, numEpochs, maxLength,
                maxGradNorm, warmupRatio, lrScheduler, weightDecay, centerRewardsCoefficient, v, seed, precision);
    }

    public RewardConfig withSeed(long v) {
        return new RewardConfig(learningRate, batchSize, gradientAccumulationSteps, maxSteps, numEpochs, maxLength,
                maxGradNorm, warmupRatio, lrScheduler, weightDecay, centerRewardsCoefficient, loggingSteps, v, precision);
    }

    /** The same config with {@code precision} for matrix products and attention (TRL's {@code bf16} switch). */
    public RewardConfig withPrecision(Precision v) {
        return new RewardConfig(learningRate, batchSize, gradientAccumulationSteps, maxSteps, numEpochs, maxLength,
                maxGradNorm, warmupRatio, lrScheduler, weightDecay, centerRewardsCoefficient, loggingSteps, seed, v);
    }
}
