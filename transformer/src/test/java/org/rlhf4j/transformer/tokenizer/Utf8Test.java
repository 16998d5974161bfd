package org.rlhf4j.transformer.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Utf8Test {

    private static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) out[i] = (byte) values[i];
        return out;
    }

    @Test
    void encodesValidTextAsTheJdkDoes() {
        for (String s : TextSamples.HAND_PICKED) assertArrayEquals(s.getBytes(StandardCharsets.UTF_8), Utf8.encode(s), s);
        for (String s : TextSamples.random(3, 300)) assertArrayEquals(s.getBytes(StandardCharsets.UTF_8), Utf8.encode(s), s);
    }

    @Test
    void encodesUnpairedSurrogatesAsTheReplacementCharacter() {
        byte[] fffd = bytes(0xEF, 0xBF, 0xBD);
        assertArrayEquals(fffd, Utf8.encode("\uD83D"));       // a high surrogate at the end
        assertArrayEquals(fffd, Utf8.encode("\uDE00"));       // a low surrogate alone
        assertArrayEquals(bytes(0xEF, 0xBF, 0xBD, 'x', 0xEF, 0xBF, 0xBD, 0xEF, 0xBF, 0xBD), Utf8.encode("\uD83Dx\uDE00\uDE00"));
        assertArrayEquals(bytes(0xEF, 0xBF, 0xBD), Utf8.encode("\uD83D\uDE00", 0, 1)); // a pair cut by the range
    }

    @Test
    void decodesEachMaximalIllFormedSubpartAsOneReplacementCharacter() {
        // As Python's bytes.decode("utf-8", "replace"), which follows the Unicode Standard's practice (3.9).
        assertEquals("\uFFFDA", Utf8.decode(bytes(0xF0, 0x9F, 0x98, 'A')));  // 😀 cut after 3 of its 4 bytes
        assertEquals("\uFFFD", Utf8.decode(bytes(0xE4, 0xB8)));             // 中 cut after 2 of 3
        assertEquals("\uFFFD", Utf8.decode(bytes(0x80)));                   // a lone continuation byte
        assertEquals("\uFFFD\uFFFD", Utf8.decode(bytes(0xC0, 0xAF)));       // overlong '/': C0 never occurs
        assertEquals("\uFFFD\uFFFD", Utf8.decode(bytes(0xE0, 0x80)));       // E0 needs A0..BF next
        assertEquals("\uFFFD\uFFFD\uFFFD", Utf8.decode(bytes(0xED, 0xA0, 0x80))); // an encoded surrogate
        assertEquals("\uFFFD\uFFFD\uFFFD\uFFFD", Utf8.decode(bytes(0xF4, 0x90, 0x80, 0x80))); // above U+10FFFF
        assertEquals("\uFFFD", Utf8.decode(bytes(0xFF)));
        assertEquals("a\uFFFDb", Utf8.decode(bytes('a', 0xC3, 'b')));
    }

    @Test
    void decodesValidTextAsTheJdkDoes() {
        for (String s : TextSamples.HAND_PICKED) assertEquals(s, Utf8.decode(s.getBytes(StandardCharsets.UTF_8)));
        for (String s : TextSamples.random(5, 300)) assertEquals(s, Utf8.decode(s.getBytes(StandardCharsets.UTF_8)));
    }
}
