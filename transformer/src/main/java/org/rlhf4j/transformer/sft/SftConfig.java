package org.rlhf4j.transformer.sft;

import org.rlhf4j.autograd.Precision;

/**
 * Supervised fine-tuning hyper-parameters, with TRL's {@code SFTConfig} names (camel-cased) and defaults.
 *
 * @param learningRate              2e-5, as TRL's SFTConfig
 * @param batchSize                 8 sequences per micro-batch (per_device_train_batch_size)
 * @param gradientAccumulationSteps 1 micro-batch per optimizer step
 * @param maxSteps                  optimizer steps; -1 to run {@code numEpochs} instead
 * @param numEpochs                 3 passes over the data (when maxSteps is -1)
 * @param maxLength                 1024 tokens per sequence at most (also capped by the model's context)
 * @param completionOnlyLoss        true: prompt tokens do not count in the loss
 * @param warmupRatio               0: fraction of steps with a linear warmup
 * @param lrScheduler               "linear" (decay to 0), "cosine" or "constant"
 * @param weightDecay               0, as Hugging Face's Trainer (never on biases and LayerNorm weights)
 * @param maxGradNorm               1.0: global gradient-norm clipping
 * @param loggingSteps              10: one metrics line every this many steps
 * @param evalSteps                 0: evaluate only at the end; otherwise every this many steps
 * @param seed                      42: data order
 * @param precision                 F32; BF16 runs matrix products and attention in mixed precision
 *                                  (F32 master weights, F32 losses), as TRL's bf16 flag
 */
public record SftConfig(double learningRate, int batchSize, int gradientAccumulationSteps, int maxSteps, double numEpochs,
                        int maxLength, boolean completionOnlyLoss, double warmupRatio, String lrScheduler,
                        double weightDecay, double maxGradNorm, int loggingSteps, int evalSteps, long seed, Precision precision) {
    public SftConfig {
        if (precision == null) throw new IllegalArgumentException("SftConfig: precision is null (use Precision.F32)");
        if (!(learningRate > 0)) throw new IllegalArgumentException("SftConfig: learningRate must be > 0, found " + learningRate);
        if (batchSize < 1) throw new IllegalArgumentException("SftConfig: batchSize must be >= 1, found " + batchSize);
        if (gradientAccumulationSteps < 1) {
            throw new IllegalArgumentException("SftConfig: gradientAccumulationSteps must be >= 1, found " + gradientAccumulationSteps);
        }
        if (maxSteps == 0 || maxSteps < -1) throw new IllegalArgumentException("SftConfig: maxSteps must be > 0 or -1, found " + maxSteps);
        if (maxSteps == -1 && !(numEpochs > 0)) throw new IllegalArgumentException("SftConfig: numEpochs must be > 0, found " + numEpochs);
        if (maxLength < 2) throw new IllegalArgumentException("SftConfig: maxLength must be >= 2, found " + maxLength);
        if (!(warmupRatio >= 0 && warmupRatio <= 1)) throw new IllegalArgumentException("SftConfig: warmupRatio must be in [0, 1]");
        if (!lrScheduler.equals("linear") && !lrScheduler.equals("cosine") && !lrScheduler.equals("constant")) {
            throw new IllegalArgumentException("SftConfig: lrScheduler must be linear, cosine or constant, found " + lrScheduler);
        }
        if (loggingSteps < 1) throw new IllegalArgumentException("SftConfig: loggingSteps must be >= 1");
    }

    public static SftConfig defaults() {
        return new SftConfig(2e-5, 8, 1, -1, 3.0, 1024, true, 0.0, "linear", 0.0, 1.0, 10, 0, 42, Precision.F32);
    }

    public SftConfig withLearningRate(double v) {
        return new SftConfig(v, batchSize, gradientAccumulationSteps, maxSteps, numEpochs, maxLength, completionOnlyLoss,
                warmupRatio, lrScheduler, weightDecay, maxGradNorm, loggingSteps, evalSteps, seed, precision);
    }

    public SftConfig withBatchSize(int v) {
        return new SftConfig(learningRate, v, gradientAccumulationSteps, maxSteps, numEpochs, maxLength, completionOnlyLoss,
                warmupRatio, lrScheduler, weightDecay, maxGradNorm, loggingSteps, evalSteps, seed, precision);
    }

    public SftConfig withGradientAccumulationSteps(int v) {
        return new SftConfig(learningRate, batchSize, v, maxSteps, numEpochs, maxLength, completionOnlyLoss,
                warmupRatio, lrScheduler, weightDecay, maxGradNorm, loggingSteps, evalSteps, seed, precision);
    }

    public SftConfig withMaxSteps(int v) {
        return new SftConfig(learningRate, batchSize, gradientAccumulationSteps, v, numEpochs, maxLength, completionOnlyLoss,
                warmupRatio, lrScheduler, weightDecay, maxGradNorm, loggingSteps, evalSteps, seed, precision);
    }

    public SftConfig withLrScheduler(String v) {
        return new SftConfig(learningRate, batchSize, gradientAccumulationSteps, maxSteps, numEpochs, maxLength,
                completionOnlyLoss, warmupRatio, v, weightDecay, maxGradNorm, loggingSteps, evalSteps, seed, precision);
    }

    public SftConfig withCompletionOnlyLoss(boolean v) {
        return new SftConfig(learningRate, batchSize, gradientAccumulationSteps, maxSteps, numEpochs, maxLength, v,
                warmupRatio, lrScheduler, weightDecay, maxGradNorm, loggingSteps, evalSteps, seed, precision);
    }

    public SftConfig withLogging(int loggingSteps, int evalSteps) {
        return new SftConfig(learningRate, batchSize, gradientAccumulationSteps, maxSteps, numEpochs, maxLength,
                completionOnlyLoss, warmupRatio, lrScheduler, weightDecay, maxGradNorm, loggingSteps, evalSteps, seed, precision);
    }

    /** The same config with {@code precision} for matrix products and attention (TRL's {@code bf16} switch). */
    public SftConfig withPrecision(Precision v) {
        return new SftConfig(learningRate, batchSize, gradientAccumulationSteps, maxSteps, numEpochs, maxLength,
                completionOnlyLoss, warmupRatio, lrScheduler, weightDecay, maxGradNorm, loggingSteps, evalSteps, seed,
                v);
    }
}
