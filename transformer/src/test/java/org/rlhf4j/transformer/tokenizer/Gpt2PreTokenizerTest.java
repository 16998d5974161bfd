package org.rlhf4j.transformer.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Splits worked out by hand from GPT-2's pattern
 * {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+}: at each position the first
 * alternative that matches wins, each greedy. (They agree with Python's {@code regex} module, GPT-2's engine.)
 */
class Gpt2PreTokenizerTest {

    @Test
    void wordsTakeOneLeadingSpaceAndAWhitespaceRunLeavesItsLastSpaceToTheNextWord() {
        // "  x": \s+ takes both spaces, (?!\S) fails before 'x', so it backs off to one space; " x" follows.
        assertEquals(List.of("Hello", " world", "'s", " 123", " ", " x"), Gpt2PreTokenizer.split("Hello world's 123  x"));
        assertEquals(List.of("I", "'m", "  ", " here"), Gpt2PreTokenizer.split("I'm   here"));
    }

    @Test
    void newlinesBeforeAWordSplitInTwoBecauseOnlyASpaceJoinsTheWord() {
        // "\n\n" then 'n': \s+(?!\S) backs off to the first "\n"; the second, followed by 'n', is taken by plain \s+.
        assertEquals(List.of("a", "\n", "\n", "now"), Gpt2PreTokenizer.split("a\n\nnow"));
        assertEquals(List.of("a", "\t", "b"), Gpt2PreTokenizer.split("a\tb"));
        // A no-break space is whitespace but not ' ', so it does not join the word either.
        assertEquals(List.of("x", " ", "\u00A0", "y"), Gpt2PreTokenizer.split("x \u00A0y"));
    }

    @Test
    void trailingWhitespaceIsOneRun() {
        assertEquals(List.of("end", "  "), Gpt2PreTokenizer.split("end  ")); // (?!\S) holds at the end
        assertEquals(List.of(" \n\t "), Gpt2PreTokenizer.split(" \n\t "));
    }

    @Test
    void contractionsAreLowercaseOnlyAndComeBeforeEverythingElse() {
        assertEquals(List.of("DON", "'", "T", " don", "'t"), Gpt2PreTokenizer.split("DON'T don't"));
        assertEquals(List.of("they", "'ll", "'ve"), Gpt2PreTokenizer.split("they'll've"));
        // After a space the apostrophe is punctuation with a leading space: contractions only start at the quote.
        assertEquals(List.of(" '", "s"), Gpt2PreTokenizer.split(" 's"));
    }

    @Test
    void lettersDigitsAndOtherSymbolsAreSeparateRuns() {
        assertEquals(List.of("abc", "123", "def", " 3", ".", "14"), Gpt2PreTokenizer.split("abc123def 3.14"));
        assertEquals(List.of("wow", "!!!", " ...", "ok"), Gpt2PreTokenizer.split("wow!!! ...ok"));
        assertEquals(List.of("<|", "endoftext", "|>"), Gpt2PreTokenizer.split("<|endoftext|>"));
    }

    @Test
    void unicodeLettersNumbersAndSymbolsUseTheirGeneralCategories() {
        // 中文 are letters (Lo); the emoji is a symbol (So) and joins the '!' run; 年 is a letter after digits.
        assertEquals(List.of("café", " 中文", " 😀!"), Gpt2PreTokenizer.split("café 中文 😀!"));
        assertEquals(List.of(" 2023", "年"), Gpt2PreTokenizer.split(" 2023年"));
        // A combining acute (Mn) is neither letter nor number: it splits from its base letter.
        assertEquals(List.of("e", "\u0301"), Gpt2PreTokenizer.split("e\u0301"));
        // ½ (No) and Ⅻ (Nl) are numbers, one run with the digit.
        assertEquals(List.of(" ½Ⅻ3", "x"), Gpt2PreTokenizer.split(" ½Ⅻ3x"));
    }

    @Test
    void piecesConcatenateToTheText() {
        var random = new Random(7);
        String alphabet = " \t\n'sdtmlrevAZaz09!?.,\u00A0\u3000é中😀\u0301";
        int[] codePoints = alphabet.codePoints().toArray();
        for (int trial = 0; trial < 1000; trial++) {
            var text = new StringBuilder();
            for (int i = random.nextInt(24); i > 0; i--) text.appendCodePoint(codePoints[random.nextInt(codePoints.length)]);
            List<String> pieces = Gpt2PreTokenizer.split(text.toString());
            assertEquals(text.toString(), String.join("", pieces));
            for (String piece : pieces) assertEquals(false, piece.isEmpty(), "empty piece in " + pieces);
        }
        assertEquals(List.of(), Gpt2PreTokenizer.split(""));
    }
}
