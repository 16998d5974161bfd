package org.rlhf4j.transformer.tokenizer;

import java.util.Arrays;

/**
 * GPT-2's byte-to-unicode table, which lets byte-level BPE vocabularies be written as JSON strings without
 * whitespace or control characters: the 188 printable bytes {@code '!'..'~'}, {@code '¡'..'¬'} and
 * {@code '®'..'ÿ'} stand for themselves, and the other 68 bytes, in increasing order, for U+0100, U+0101, ...
 * (so the space 0x20 is {@code 'Ġ'} U+0120 and the newline 0x0A is {@code 'Ċ'} U+010A).
 */
public final class Gpt2ByteSymbols {
    private static final char[] SYMBOL_OF_BYTE = new char[256];
    private static final int[] BYTE_OF_SYMBOL; // indexed by char, -1 where the char is no byte's symbol

    static {
        int shifted = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF;
            SYMBOL_OF_BYTE[b] = (char) (printable ? b : 0x100 + shifted++);
        }
        BYTE_OF_SYMBOL = new int[0x100 + shifted];
        Arrays.fill(BYTE_OF_SYMBOL, -1);
        for (int b = 0; b < 256; b++) BYTE_OF_SYMBOL[SYMBOL_OF_BYTE[b]] = b;
    }

    private Gpt2ByteSymbols() {}

    /** The character that stands for byte {@code b} (0..255, or a signed Java byte). */
    public static char symbol(int b) {
        return SYMBOL_OF_BYTE[b & 0xFF];
    }

    /** The byte (0..255) that {@code symbol} stands for, or -1 if it stands for none. */
    public static int byteOf(char symbol) {
        return symbol < BYTE_OF_SYMBOL.length ? BYTE_OF_SYMBOL[symbol] : -1;
    }

    /** The symbols of {@code bytes}, one char per byte. */
    public static String symbols(byte[] bytes) {
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) chars[i] = symbol(bytes[i]);
        return new String(chars);
    }
}
