package org.rlhf4j.transformer.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ByteTokenizerTest {
    private final ByteTokenizer tokenizer = new ByteTokenizer();

    @Test
    void defaultHas256BytesThenEndOfTextAndPad() {
        assertEquals(258, tokenizer.vocabSize());
        assertEquals(256, tokenizer.eosId());
        assertEquals(OptionalInt.of(257), tokenizer.padId());
        assertEquals(List.of(Map.entry("<|endoftext|>", 256), Map.entry("<|pad|>", 257)), List.copyOf(tokenizer.specialTokens().entrySet()));
        assertTrue(tokenizer.isSpecial(256));
        assertTrue(tokenizer.isSpecial(257));
        assertFalse(tokenizer.isSpecial(255));
    }

    @Test
    void idsAreTheUtf8Bytes() {
        assertArrayEquals(new int[] {'H', 'i', 0}, tokenizer.encode("Hi\u0000"));
        assertArrayEquals(new int[] {0xC3, 0xA9}, tokenizer.encode("é"));
        assertArrayEquals(new int[] {0xE4, 0xB8, 0xAD}, tokenizer.encode("中"));
        assertArrayEquals(new int[] {0xF0, 0x9F, 0x98, 0x80}, tokenizer.encode("😀"));
        assertArrayEquals(new int[] {}, tokenizer.encode(""));
    }

    @Test
    void decodeInvertsEncodeOnValidText() {
        for (String s : TextSamples.HAND_PICKED) {
            assertEquals(s, tokenizer.decode(tokenizer.encode(s)), s);
            assertEquals(s, tokenizer.decode(tokenizer.encode(s, false)), s);
        }
        for (String s : TextSamples.random(1, 1000)) assertEquals(s, tokenizer.decode(tokenizer.encode(s)));
    }

    @Test
    void everyCodePointRoundTrips() {
        var all = new StringBuilder();
        for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
            if (cp < Character.MIN_SURROGATE || cp > Character.MAX_SURROGATE) all.appendCodePoint(cp);
        }
        String text = all.toString();
        assertEquals(text, tokenizer.decode(tokenizer.encode(text, false)));
    }

    @Test
    void unpairedSurrogatesEncodeAsTheReplacementCharacter() {
        assertArrayEquals(tokenizer.encode("a\uFFFDb"), tokenizer.encode("a\uD800b"));
        assertEquals("a\uFFFDb\uFFFD", tokenizer.decode(tokenizer.encode("a\uDC00b\uD83D")));
    }

    @Test
    void decodingArbitraryBytesNeverThrows() {
        // A model can emit any id sequence: a character cut short, stray continuation bytes, invalid lead bytes.
        assertEquals("\uFFFD", tokenizer.decode(new int[] {0xF0, 0x9F, 0x98}));
        assertEquals("\uFFFD<|endoftext|>", tokenizer.decode(new int[] {0xE4, 0xB8, 256}));
        var random = new Random(3);
        for (int trial = 0; trial < 1000; trial++) {
            int[] ids = random.ints(random.nextInt(20), 0, tokenizer.vocabSize()).toArray();
            String text = tokenizer.decode(ids);
            assertEquals(text, tokenizer.decode(tokenizer.encode(text)), "decode(encode(decode(ids)))");
        }
    }

    @Test
    void specialTokensAreRecognisedOnlyWhenAllowed() {
        assertArrayEquals(new int[] {'h', 'i', 256, 257, '!'}, tokenizer.encode("hi<|endoftext|><|pad|>!"));
        assertArrayEquals(new int[] {'h', 'i', 256, 257, '!'}, tokenizer.encode("hi<|endoftext|><|pad|>!", true));
        int[] plain = tokenizer.encode("<|pad|>", false);
        assertEquals(7, plain.length);
        assertEquals("<|pad|>", tokenizer.decode(plain));
        assertArrayEquals(new int[] {'<', '|', 'e', 'n', 'd', 256}, tokenizer.encode("<|end<|endoftext|>"));
        assertEquals("a<|endoftext|>b<|pad|>", tokenizer.decode(new int[] {'a', 256, 'b', 257}));
    }

    @Test
    void specialTokensStartingAtTheSameCharacterMatchTheLongest() {
        var custom = new ByteTokenizer(new SpecialTokensConfig(List.of("<e>", "<e>!", "</s>"), "</s>", null));
        assertEquals(259, custom.vocabSize());
        assertEquals(258, custom.eosId());
        assertEquals(OptionalInt.empty(), custom.padId());
        assertArrayEquals(new int[] {'x', 257, 'y', 256, 258}, custom.encode("x<e>!y<e></s>"));
    }

    @Test
    void decodeOfARangeOrAListDecodesThoseIds() {
        int[] ids = tokenizer.encode("abc😀d");
        assertEquals("bc😀", tokenizer.decode(ids, 1, 7));
        assertEquals("abc😀d", tokenizer.decode(List.of(97, 98, 99, 0xF0, 0x9F, 0x98, 0x80, 100)));
        assertThrows(IndexOutOfBoundsException.class, () -> tokenizer.decode(ids, 2, 99));
    }

    @Test
    void anIdOutsideTheVocabularyIsAnError() {
        var e = assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {65, 258}));
        assertTrue(e.getMessage().contains("258") && e.getMessage().contains("[0, 258)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {-1}));
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decodeBytes(new int[] {300}, 0, 1));
    }

    @Test
    void badSpecialTokenConfigsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new SpecialTokensConfig(List.of("<a>"), "<b>", null));
        assertThrows(IllegalArgumentException.class, () -> new SpecialTokensConfig(List.of("<a>"), "<a>", "<p>"));
        assertThrows(IllegalArgumentException.class, () -> new SpecialTokensConfig(List.of("<a>", "<a>"), "<a>", null));
        assertThrows(IllegalArgumentException.class, () -> new SpecialTokensConfig(List.of(""), "", null));
        var padIsEos = new ByteTokenizer(new SpecialTokensConfig(List.of("<|endoftext|>"), "<|endoftext|>", "<|endoftext|>"));
        assertEquals(OptionalInt.of(256), padIsEos.padId());
        assertEquals(257, padIsEos.vocabSize());
    }
}
