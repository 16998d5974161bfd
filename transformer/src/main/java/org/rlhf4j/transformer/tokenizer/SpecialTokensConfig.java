package org.rlhf4j.transformer.tokenizer;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;

/**
 * Which special tokens a tokenizer has, which of them ends a text, and which pads.
 *
 * @param tokens    the special tokens' literal texts, distinct and non-empty; for {@link ByteTokenizer} their
 *                  order gives their ids (256, 257, ...)
 * @param eosToken  the end-of-text token, one of {@code tokens}
 * @param padToken  the padding token, one of {@code tokens} (it may be {@code eosToken}), or null for none
 */
public record SpecialTokensConfig(List<String> tokens, String eosToken, String padToken) {
    public static final String END_OF_TEXT = "<|endoftext|>";
    public static final String PAD = "<|pad|>";

    public SpecialTokensConfig {
        Objects.requireNonNull(tokens, "tokens");
        tokens = List.copyOf(tokens);
        var seen = new HashSet<String>();
        for (String t : tokens) {
            if (t.isEmpty()) throw new IllegalArgumentException("special tokens: the empty string cannot be a special token");
            if (!seen.add(t)) throw new IllegalArgumentException("special tokens: '" + t + "' is listed twice in " + tokens);
        }
        if (eosToken == null || !seen.contains(eosToken)) {
            throw new IllegalArgumentException("special tokens: EOS token '" + eosToken + "' is not one of " + tokens);
        }
        if (padToken != null && !seen.contains(padToken)) {
            throw new IllegalArgumentException("special tokens: pad token '" + padToken + "' is not one of " + tokens);
        }
    }

    /** GPT-2's: {@code <|endoftext|>} ends a text; no pad token. */
    public static SpecialTokensConfig gpt2() {
        return new SpecialTokensConfig(List.of(END_OF_TEXT), END_OF_TEXT, null);
    }

    /** {@link ByteTokenizer}'s default: {@code <|endoftext|>} (EOS) and {@code <|pad|>} (padding). */
    public static SpecialTokensConfig endOfTextAndPad() {
        return new SpecialTokensConfig(List.of(END_OF_TEXT, PAD), END_OF_TEXT, PAD);
    }
}
