package org.rlhf4j.transformer.gpt;

/**
 * How to pick tokens. Defaults follow Hugging Face's generate(): temperature 1, no top-k, no top-p.
 *
 * @param maxNewTokens tokens to generate at most per row
 * @param temperature  logits are divided by it; 0 means greedy (argmax)
 * @param topK         keep the k most likely tokens; 0 keeps all
 * @param topP         keep the smallest set whose probability reaches p; 1 keeps all
 * @param eosId        generation of a row stops after this token; -1 for none
 * @param padId        fills a row after it stopped, and pads prompts on the left
 * @param seed         the Philox key of row 0; row b uses seed + b unless row seeds are given
 */
public record SamplingConfig(int maxNewTokens, double temperature, int topK, double topP, int eosId, int padId, long seed) {
    public SamplingConfig {
        if (maxNewTokens < 0) throw new IllegalArgumentException("SamplingConfig: maxNewTokens must be >= 0, found " + maxNewTokens);
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("SamplingConfig: temperature must be finite and >= 0, found " + temperature);
        }
        if (topK < 0) throw new IllegalArgumentException("SamplingConfig: topK must be >= 0, found " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("SamplingConfig: topP must be in (0, 1], found " + topP);
    }

    /** Sampling at temperature 1 from the full distribution. */
    public static SamplingConfig sample(int maxNewTokens, int eosId, int padId, long seed) {
        return new SamplingConfig(maxNewTokens, 1.0, 0, 1.0, eosId, padId, seed);
    }

    /** Argmax decoding. */
    public static SamplingConfig greedy(int maxNewTokens, int eosId, int padId) {
        return new SamplingConfig(maxNewTokens, 0.0, 0, 1.0, eosId, padId, 0);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    public SamplingConfig withTemperature(double t) {
        return new SamplingConfig(maxNewTokens, t, topK, topP, eosId, padId, seed);
    }

    public SamplingConfig withTopK(int k) {
        return new SamplingConfig(maxNewTokens, temperature, k, topP, eosId, padId, seed);
    }

    public SamplingConfig withTopP(double p) {
        return new SamplingConfig(maxNewTokens, temperature, topK, p, eosId, padId, seed);
    }
}
