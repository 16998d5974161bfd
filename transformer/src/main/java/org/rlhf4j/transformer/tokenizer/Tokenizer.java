package org.rlhf4j.transformer.tokenizer;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Text to token ids and back.
 *
 * <p>Both tokenizers in this package are byte-level: text is first turned into UTF-8 bytes, so every string has
 * an encoding and {@code decode(encode(s)).equals(s)} holds for every valid string (one without unpaired
 * surrogates; an unpaired surrogate is encoded as U+FFFD, the replacement character). Decoding never throws on
 * a sequence of valid ids, even one that ends or starts in the middle of a multi-byte character, as a model's
 * output may: bytes that do not form valid UTF-8 become U+FFFD. An id outside {@code [0, vocabSize())} is an
 * error.
 *
 * <p>Special tokens ({@code <|endoftext|>}, a pad token, ...) have ids of their own. {@link #encode(String)}
 * recognises them where they appear literally in the text, as Hugging Face tokenizers do; use
 * {@link #encode(String, boolean) encode(text, false)} to encode such text as ordinary characters, for
 * instance when the text comes from a user or a dataset that must not be able to inject an end of text.
 * Decoding a special token's id gives its literal text.
 *
 * <p>Implementations are immutable and safe to share between threads.
 */
public interface Tokenizer {

    /** Encodes {@code text}, recognising special tokens written literally in it: {@code encode(text, true)}. */
    default int[] encode(String text) {
        return encode(text, true);
    }

    /**
     * Encodes {@code text}. With {@code allowSpecial}, every literal occurrence of a special token becomes that
     * token's id (the earliest occurrence first; of tokens starting at the same place, the longest); without it,
     * special tokens are encoded like any other text.
     */
    int[] encode(String text, boolean allowSpecial);

    /** The text of {@code ids[from, to)}; invalid UTF-8 becomes U+FFFD. */
    default String decode(int[] ids, int from, int to) {
        return Utf8.decode(decodeBytes(ids, from, to));
    }

    default String decode(int[] ids) {
        return decode(ids, 0, ids.length);
    }

    default String decode(List<Integer> ids) {
        int[] array = new int[ids.size()];
        for (int i = 0; i < array.length; i++) array[i] = ids.get(i);
        return decode(array);
    }

    /**
     * The UTF-8 bytes that {@code ids[from, to)} stand for, special tokens as their literal text. For streaming
     * output: bytes can be held back until they complete a character.
     */
    byte[] decodeBytes(int[] ids, int from, int to);

    /** Number of ids: every id lies in {@code [0, vocabSize())}. */
    int vocabSize();

    /** The end-of-text id, which ends a completion. */
    int eosId();

    /** The padding id, if the tokenizer has one (it may equal {@link #eosId()}). */
    OptionalInt padId();

    /** Special tokens' texts and ids, in id order; unmodifiable. */
    Map<String, Integer> specialTokens();

    /** Whether {@code id} is one of {@link #specialTokens()}. */
    default boolean isSpecial(int id) {
        return specialTokens().containsValue(id);
    }
}
