package org.rlhf4j.rl.dpo;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.io.SafeTensors;

/**
 * The frozen reference model's log-probabilities of every pair's two completions, computed once (TRL's
 * {@code precompute_ref_log_probs}): per pair the SUM of the completion tokens' log-probs, and how many completion
 * tokens there were (after truncation). Sums are stored whatever the loss type; the trainer divides by the token
 * counts when the loss averages (IPO), so one file serves every loss type. The counts also let the trainer check
 * that the values were computed on the pairs it trains on, truncated the same way.
 *
 * @param chosen         reference log-prob sums of the chosen completions, one per pair
 * @param rejected       the same for the rejected completions
 * @param chosenTokens   completion tokens counted in {@code chosen}
 * @param rejectedTokens completion tokens counted in {@code rejected}
 */
public record ReferenceLogProbs(double[] chosen, double[] rejected, int[] chosenTokens, int[] rejectedTokens) {
    private static final String CHOSEN = "reference_chosen_logps", REJECTED = "reference_rejected_logps";
    private static final String CHOSEN_TOKENS = "chosen_tokens", REJECTED_TOKENS = "rejected_tokens";

    public ReferenceLogProbs {
        int n = chosen.length;
        if (rejected.length != n || chosenTokens.length != n || rejectedTokens.length != n) {
            throw new IllegalArgumentException("ReferenceLogProbs: lengths differ: chosen " + n + ", rejected " + rejected.length
                    + ", chosenTokens " + chosenTokens.length + ", rejectedTokens " + rejectedTokens.length);
        }
        for (int i = 0; i < n; i++) {
            if (!Double.isFinite(chosen[i]) || !Double.isFinite(rejected[i])) {
                throw new IllegalArgumentException("ReferenceLogProbs: pair " + i + " has a non-finite log-prob (chosen "
                        + chosen[i] + ", rejected " + rejected[i] + ")");
            }
            if (chosenTokens[i] < 0 || rejectedTokens[i] < 0) {
                throw new IllegalArgumentException("ReferenceLogProbs: pair " + i + " has a negative token count");
            }
        }
        chosen = chosen.clone();
        rejected = rejected.clone();
        chosenTokens = chosenTokens.clone();
        rejectedTokens = rejectedTokens.clone();
    }

    /** Number of pairs. */
    public int size() {
        return chosen.length;
    }

    @Override
    public double[] chosen() {
        return chosen.clone();
    }

    @Override
    public double[] rejected() {
        return rejected.clone();
    }

    @Override
    public int[] chosenTokens() {
        return chosenTokens.clone();
    }

    @Override
    public int[] rejectedTokens() {
        return rejectedTokens.clone();
    }

    double chosenAt(int i) {
        return chosen[i];
    }

    double rejectedAt(int i) {
        return rejected[i];
    }

    int chosenTokensAt(int i) {
        return chosenTokens[i];
    }

    int rejectedTokensAt(int i) {
        return rejectedTokens[i];
    }

    /** Writes the values as a safetensors file (F64 log-probs, I32 counts), atomically. */
    public void save(Path file) throws IOException {
        int n = size();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put(CHOSEN, Tensor.of(chosen, n));
        tensors.put(REJECTED, Tensor.of(rejected, n));
        tensors.put(CHOSEN_TOKENS, Tensor.ofInts(chosenTokens, n));
        tensors.put(REJECTED_TOKENS, Tensor.ofInts(rejectedTokens, n));
        SafeTensors.save(file, tensors, Map.of("format", "rlhf4j-dpo-reference"));
    }

    /** Reads a file written by {@link #save}. */
    public static ReferenceLogProbs load(Path file) throws IOException {
        Map<String, Tensor> t = SafeTensors.load(file);
        for (String name : new String[] {CHOSEN, REJECTED, CHOSEN_TOKENS, REJECTED_TOKENS}) {
            if (!t.containsKey(name)) throw new IOException(file + ": missing tensor '" + name + "'");
        }
        try {
            return new ReferenceLogProbs(t.get(CHOSEN).to(DType.F64).toDoubleArray(), t.get(REJECTED).to(DType.F64).toDoubleArray(),
                    t.get(CHOSEN_TOKENS).toIntArray(), t.get(REJECTED_TOKENS).toIntArray());
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }
}
