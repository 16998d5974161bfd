package org.rlhf4j.rl.ppo;

import org.rlhf4j.autograd.Precision;

/**
 * PPO hyper-parameters with TRL's {@code PPOConfig} names (camel-cased) and defaults.
 *
 * @param learningRate      3e-6, as TRL's PPOConfig
 * @param batchSize         prompts per rollout (one PPO iteration)
 * @param numMiniBatches    1: mini-batches per PPO epoch
 * @param numPpoEpochs      4: passes over each rollout
 * @param responseLength    53: tokens generated per prompt at most
 * @param temperature       0.7: sampling temperature, also used for the log-probs
 * @param klCoef            0.05: initial KL coefficient (fixed unless adaptiveKl)
 * @param klEstimator       "k1" (or "k3")
 * @param adaptiveKl        false: TRL's PPOv2 keeps the coefficient fixed; true uses Ziegler et al.'s controller
 * @param klTarget          6.0: the adaptive controller's target KL
 * @param klHorizon         10000: the adaptive controller's horizon
 * @param cliprange         0.2: policy ratio clipping
 * @param cliprangeValue    0.2: value clipping
 * @param vfCoef            0.1: weight of the value loss
 * @param gamma             1.0: discount
 * @param lam               0.95: GAE lambda
 * @param whitenRewards     false
 * @param missingEosPenalty penalty subtracted from the score of a response without EOS; NaN for none (TRL: None)
 * @param maxGradNorm       1.0
 * @param seed              42: sampling streams
 * @param precision         F32; BF16 runs matrix products and attention in mixed precision
 *                          (F32 master weights, F32 losses), as TRL's bf16 flag
 */
public record PpoConfig(double learningRate, int batchSize, int numMiniBatches, int numPpoEpochs, int responseLength,
                        double temperature, double klCoef, String klEstimator, boolean adaptiveKl, double klTarget,
                        double klHorizon, double cliprange, double cliprangeValue, double vfCoef, double gamma, double lam,
                        boolean whitenRewards, double missingEosPenalty, double maxGradNorm, long seed, Precision precision) {
    public PpoConfig {
        if (precision == null) throw new IllegalArgumentException("PpoConfig: precision is null (use Precision.F32)");
        if (!(learningRate > 0)) throw new IllegalArgumentException("PpoConfig: learningRate must be > 0");
        if (batchSize < 1 || numMiniBatches < 1 || batchSize % numMiniBatches != 0) {
            throw new IllegalArgumentException("PpoConfig: batchSize " + batchSize + " must be a positive multiple of numMiniBatches "
                    + numMiniBatches);
        }
        if (numPpoEpochs < 1) throw new IllegalArgumentException("PpoConfig: numPpoEpochs must be >= 1");
        if (responseLength < 1) throw new IllegalArgumentException("PpoConfig: responseLength must be >= 1");
        if (!(temperature > 0)) throw new IllegalArgumentException("PpoConfig: temperature must be > 0");
        if (!klEstimator.equals("k1") && !klEstimator.equals("k3")) {
            throw new IllegalArgumentException("PpoConfig: klEstimator must be k1 or k3, found " + klEstimator);
        }
    }

    public static PpoConfig defaults() {
        return new PpoConfig(3e-6, 64, 1, 4, 53, 0.7, 0.05, "k1", false, 6.0, 10000, 0.2, 0.2, 0.1, 1.0, 0.95, false,
                Double.NaN, 1.0, 42, Precision.F32);
    }

    public PpoConfig with(double lr, int batchSize, int numMiniBatches, int responseLength) {
        return new PpoConfig(lr, batchSize, numMiniBatches, numPpoEpochs, responseLength, temperature, klCoef, klEstimator,
                adaptiveKl, klTarget, klHorizon, cliprange, cliprangeValue, vfCoef, gamma, lam, whitenRewards,
                missingEosPenalty, maxGradNorm, seed, precision);
    }

    public PpoConfig withKl(double coef, String estimator, boolean adaptive) {
        return new PpoConfig(learningRate, batchSize, numMiniBatches, numPpoEpochs, responseLength, temperature, coef,
                estimator, adaptive, klTarget, klHorizon, cliprange, cliprangeValue, vfCoef, gamma, lam, whitenRewards,
                missingEosPenalty, maxGradNorm, seed, precision);
    }

    public PpoConfig withMissingEosPenalty(double penalty) {
        return new PpoConfig(learningRate, batchSize, numMiniBatches, numPpoEpochs, responseLength, temperature, klCoef,
                klEstimator, adaptiveKl, klTarget, klHorizon, cliprange, cliprangeValue, vfCoef, gamma, lam, whitenRewards,
                penalty, maxGradNorm, seed, precision);
    }

    public PpoConfig withTemperature(double t) {
        return new PpoConfig(learningRate, batchSize, numMiniBatches, numPpoEpochs, responseLength, t, klCoef, klEstimator,
                adaptiveKl, klTarget, klHorizon, cliprange, cliprangeValue, vfCoef, gamma, lam, whitenRewards,
                missingEosPenalty, maxGradNorm, seed, precision);
    }

    public PpoConfig withEpochs(int epochs) {
        return new PpoConfig(learningRate, batchSize, numMiniBatches, epochs, responseLength, temperature, klCoef,
                klEstimator, adaptiveKl, klTarget, klHorizon, cliprange, cliprangeValue, vfCoef, gamma, lam, whitenRewards,
                missingEosPenalty, maxGradNorm, seed, precision);
    }

    /** The same config with {@code precision} for matrix products and attention (TRL's {@code bf16} switch). */
    public PpoConfig withPrecision(Precision v) {
        return new PpoConfig(learningRate, batchSize, numMiniBatches, numPpoEpochs, responseLength, temperature,
                klCoef, klEstimator, adaptiveKl, klTarget, klHorizon, cliprange, cliprangeValue, vfCoef, gamma, lam,
                whitenRewards, missingEosPenalty, maxGradNorm, seed, v);
    }
}
