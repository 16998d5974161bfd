package org.rlhf4j.rl.grpo;

import org.rlhf4j.autograd.Precision;

/**
 * GRPO hyper-parameters with TRL's {@code GRPOConfig} names (camel-cased) and its current defaults.
 *
 * @param learningRate        1e-6
 * @param promptsPerStep      prompts per optimizer step; each is sampled {@code numGenerations} times
 * @param numGenerations      8 completions per prompt (the group)
 * @param temperature         1.0 for sampling and for the log-probs
 * @param topK                0 (off)
 * @param topP                1.0 (off)
 * @param maxCompletionLength 256 tokens per completion at most
 * @param beta                0.0: no KL term and no reference model
 * @param epsilon             0.2: lower clip, ratio >= 1 - epsilon
 * @param epsilonHigh         upper clip, ratio <= 1 + epsilonHigh (TRL: defaults to epsilon)
 * @param lossType            "dapo" (also "grpo", "bnpo", "dr_grpo")
 * @param scaleRewards        "group" (also "batch", "none")
 * @param maxGradNorm         1.0
 * @param seed                42: sampling streams
 * @param precision           F32; BF16 runs matrix products and attention in mixed precision
 *                            (F32 master weights, F32 losses), as TRL's bf16 flag
 */
public record GrpoConfig(double learningRate, int promptsPerStep, int numGenerations, double temperature, int topK,
                         double topP, int maxCompletionLength, double beta, double epsilon, double epsilonHigh,
                         String lossType, String scaleRewards, double maxGradNorm, long seed, Precision precision) {
    public GrpoConfig {
        if (precision == null) throw new IllegalArgumentException("GrpoConfig: precision is null (use Precision.F32)");
        if (!(learningRate > 0)) throw new IllegalArgumentException("GrpoConfig: learningRate must be > 0");
        if (promptsPerStep < 1) throw new IllegalArgumentException("GrpoConfig: promptsPerStep must be >= 1");
        if (numGenerations < 2) throw new IllegalArgumentException("GrpoConfig: numGenerations must be >= 2 (a group)");
        if (maxCompletionLength < 1) throw new IllegalArgumentException("GrpoConfig: maxCompletionLength must be >= 1");
        if (!(beta >= 0)) throw new IllegalArgumentException("GrpoConfig: beta must be >= 0");
    }

    public static GrpoConfig defaults() {
        return new GrpoConfig(1e-6, 8, 8, 1.0, 0, 1.0, 256, 0.0, 0.2, 0.2, "dapo", "group", 1.0, 42, Precision.F32);
    }

    public GrpoConfig with(double learningRate, int promptsPerStep, int numGenerations, int maxCompletionLength) {
        return new GrpoConfig(learningRate, promptsPerStep, numGenerations, temperature, topK, topP, maxCompletionLength,
                beta, epsilon, epsilonHigh, lossType, scaleRewards, maxGradNorm, seed, precision);
    }

    public GrpoConfig withBeta(double b) {
        return new GrpoConfig(learningRate, promptsPerStep, numGenerations, temperature, topK, topP, maxCompletionLength,
                b, epsilon, epsilonHigh, lossType, scaleRewards, maxGradNorm, seed, precision);
    }

    public GrpoConfig withLossType(String t) {
        return new GrpoConfig(learningRate, promptsPerStep, numGenerations, temperature, topK, topP, maxCompletionLength,
                beta, epsilon, epsilonHigh, t, scaleRewards, maxGradNorm, seed, precision);
    }

    public GrpoConfig withTemperature(double t) {
        return new GrpoConfig(learningRate, promptsPerStep, numGenerations, t, topK, topP, maxCompletionLength,
                beta, epsilon, epsilonHigh, lossType, scaleRewards, maxGradNorm, seed, precision);
    }

    /** The same config with {@code precision} for matrix products and attention (TRL's {@code bf16} switch). */
    public GrpoConfig withPrecision(Precision v) {
        return new GrpoConfig(learningRate, promptsPerStep, numGenerations, temperature, topK, topP,
                maxCompletionLength, beta, epsilon, epsilonHigh, lossType, scaleRewards, maxGradNorm, seed, v);
    }
}
