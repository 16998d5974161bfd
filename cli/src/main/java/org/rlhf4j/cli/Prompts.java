package org.rlhf4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.rlhf4j.rl.data.Datasets;
import org.rlhf4j.rl.data.PromptRecord;
import org.rlhf4j.transformer.tokenizer.Tokenizer;

/**
 * RL prompts ({"prompt"} JSONL) and the order they are used in: step s takes the next {@code perStep} prompts of
 * a seeded shuffle, reshuffled each pass, so that the prompts of a step are a function of the seed and the step
 * (which is what makes --resume exact).
 */
final class Prompts {
    private final List<int[]> tokens;
    private final List<String> texts;
    private final int perStep;
    private final long seed;

    private Prompts(List<String> texts, List<int[]> tokens, int perStep, long seed) {
        this.texts = texts;
        this.tokens = tokens;
        this.perStep = perStep;
        this.seed = seed;
    }

    /** Reads and tokenizes; every prompt plus {@code newTokens} must fit in {@code context}. */
    static Prompts read(Path file, Tokenizer tokenizer, int perStep, long seed, int newTokens, int context, String newTokensOption)
            throws IOException {
        List<PromptRecord> records = Datasets.readPrompts(file);
        if (records.isEmpty()) throw new CliException(file + ": no records");
        List<String> texts = new ArrayList<>();
        List<int[]> tokens = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) {
            int[] t = tokenizer.encode(records.get(i).prompt(), false);
            if (t.length + newTokens > context) {
                throw new CliException(file + ": record " + (i + 1) + ": prompt of " + t.length + " tokens + " + newTokensOption
                        + " " + newTokens + " exceed the model's context length " + context);
            }
            texts.add(records.get(i).prompt());
            tokens.add(t);
        }
        return new Prompts(texts, tokens, perStep, seed);
    }

    int size() {
        return tokens.size();
    }

    /** Steps in {@code epochs} passes over the prompts. */
    long stepsFor(double epochs) {
        return Math.max(1, (long) Math.ceil(epochs * tokens.size() / perStep));
    }

    int[][] forStep(long step) {
        int n = tokens.size();
        int[][] out = new int[perStep][];
        List<Integer> order = null;
        long orderEpoch = -1;
        for (int k = 0; k < perStep; k++) {
            long global = step * perStep + k;
            long epoch = global / n;
            if (epoch != orderEpoch) {
                order = new ArrayList<>();
                for (int i = 0; i < n; i++) order.add(i);
                Collections.shuffle(order, new Random(seed * 1_000_003L + epoch));
                orderEpoch = epoch;
            }
            out[k] = tokens.get(order.get((int) (global % n)));
        }
        return out;
    }

    List<String> texts() {
        return texts;
    }
}
