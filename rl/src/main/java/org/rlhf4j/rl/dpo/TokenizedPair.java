package org.rlhf4j.rl.dpo;

import java.util.Arrays;

/**
 * One preference pair, tokenized: a prompt and two completions of it, {@code chosen} preferred over
 * {@code rejected} (TRL's {@code {"prompt", "chosen", "rejected"}} layout, after tokenization; an EOS at the end of
 * a completion, if wanted, is part of the completion). Used by DPO and by reward-model training.
 *
 * @param prompt   at least one token: the first completion token is predicted from it
 * @param chosen   the preferred completion (may be empty)
 * @param rejected the other completion (may be empty)
 */
public record TokenizedPair(int[] prompt, int[] chosen, int[] rejected) {
    public TokenizedPair {
        if (prompt == null || chosen == null || rejected == null) {
            throw new IllegalArgumentException("TokenizedPair: prompt, chosen and rejected must not be null");
        }
        if (prompt.length == 0) throw new IllegalArgumentException("TokenizedPair: the prompt is empty");
        prompt = prompt.clone();
        chosen = chosen.clone();
        rejected = rejected.clone();
    }

    @Override
    public int[] prompt() {
        return prompt.clone();
    }

    @Override
    public int[] chosen() {
        return chosen.clone();
    }

    @Override
    public int[] rejected() {
        return rejected.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenizedPair p && Arrays.equals(prompt, p.prompt) && Arrays.equals(chosen, p.chosen)
                && Arrays.equals(rejected, p.rejected);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(prompt) + Arrays.hashCode(chosen)) + Arrays.hashCode(rejected);
    }

    @Override
    public String toString() {
        return "TokenizedPair[prompt=" + Arrays.toString(prompt) + ", chosen=" + Arrays.toString(chosen) + ", rejected="
                + Arrays.toString(rejected) + "]";
    }
}
