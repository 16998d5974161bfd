package org.rlhf4j.transformer.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2's split of text into words before BPE: English contractions, runs of letters, of digits and of other
 * symbols, each with at most one leading space, and runs of whitespace, where a run followed by a word leaves
 * its last space to that word. BPE never merges across these pieces.
 *
 * <p>The pattern is GPT-2's, character for character. GPT-2 compiled it with Python's {@code regex} module,
 * where {@code \s} is the Unicode White_Space property and {@code \p{L}}, {@code \p{N}} are the letter and number
 * general categories; {@link Pattern#UNICODE_CHARACTER_CLASS} gives Java's {@code \s} the same meaning, and Java
 * matches whole code points. So the splits agree, except on characters that the JVM's Unicode version (13 for
 * Java 17) leaves unassigned and a newer one classifies as letters or numbers. Alternation takes the first
 * alternative that matches in both engines, so {@code "'s"} is a contraction and {@code "'S"} is punctuation.
 */
public final class Gpt2PreTokenizer {
    public static final String REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    static final Pattern PATTERN = Pattern.compile(REGEX, Pattern.UNICODE_CHARACTER_CLASS);

    private Gpt2PreTokenizer() {}

    /** Receives the pieces {@code text[from, to)} in order; together they cover the text. */
    interface Sink {
        void piece(String text, int from, int to);
    }

    /** The pieces of {@code text}; their concatenation is {@code text}. */
    public static List<String> split(String text) {
        var pieces = new ArrayList<String>();
        split(text, 0, text.length(), (t, from, to) -> pieces.add(t.substring(from, to)));
        return pieces;
    }

    static void split(String text, int from, int to, Sink sink) {
        // Opaque bounds (the default): the lookahead does not see past `to`, so a piece of text between two
        // special tokens splits as if it were the whole text, as in Hugging Face tokenizers.
        Matcher m = PATTERN.matcher(text).region(from, to);
        int pos = from;
        while (m.find()) {
            // Every character falls in one alternative, so pieces are contiguous; the check is a safety net that
            // keeps encode lossless whatever the regex engine does.
            if (m.start() > pos) sink.piece(text, pos, m.start());
            sink.piece(text, m.start(), m.end());
            pos = m.end();
        }
        if (pos < to) sink.piece(text, pos, to);
    }
}
