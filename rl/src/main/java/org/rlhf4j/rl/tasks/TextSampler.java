package org.rlhf4j.rl.tasks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.rlhf4j.transformer.gpt.Generation;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.gpt.SamplingConfig;
import org.rlhf4j.transformer.tokenizer.Tokenizer;

/**
 * Samples one completion per prompt from a model, text in and text out. Prompts are encoded without special
 * tokens (dataset text cannot inject an end of text); a completion is decoded without the EOS that ended it.
 * Row i of the whole list is sampled with seed {@code config.seed() + i}, so the result does not depend on how
 * the prompts are split into generation batches, and a prompt listed twice gets two independent samples.
 */
public final class TextSampler implements Function<List<String>, List<String>> {
    /** Rows per call to {@link Generation#generate}: bounds the KV cache's memory. */
    public static final int DEFAULT_BATCH_ROWS = 64;

    private final Gpt model;
    private final Tokenizer tokenizer;
    private final SamplingConfig config;
    private final int batchRows;

    public TextSampler(Gpt model, Tokenizer tokenizer, SamplingConfig config) {
        this(model, tokenizer, config, DEFAULT_BATCH_ROWS);
    }

    public TextSampler(Gpt model, Tokenizer tokenizer, SamplingConfig config, int batchRows) {
        if (batchRows < 1) throw new IllegalArgumentException("TextSampler: batchRows must be >= 1, found " + batchRows);
        this.model = model;
        this.tokenizer = tokenizer;
        this.config = config;
        this.batchRows = batchRows;
    }

    @Override
    public List<String> apply(List<String> prompts) {
        List<String> out = new ArrayList<>(prompts.size());
        for (int from = 0; from < prompts.size(); from += batchRows) {
            int to = Math.min(prompts.size(), from + batchRows);
            int[][] ids = new int[to - from][];
            long[] seeds = new long[to - from];
            for (int i = from; i < to; i++) {
                ids[i - from] = tokenizer.encode(prompts.get(i), false);
                if (ids[i - from].length == 0) throw new IllegalArgumentException("TextSampler: prompt " + i + " is empty");
                seeds[i - from] = config.seed() + i;
            }
            Generation.Result result = Generation.generate(model, ids, config, seeds);
            for (int b = 0; b < ids.length; b++) {
                int[] tokens = result.completions()[b];
                if (result.endedWithEos()[b]) tokens = Arrays.copyOf(tokens, tokens.length - 1);
                out.add(tokenizer.decode(tokens));
            }
        }
        return out;
    }
}
