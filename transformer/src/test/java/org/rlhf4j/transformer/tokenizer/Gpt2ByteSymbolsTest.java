package org.rlhf4j.transformer.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashSet;
import org.junit.jupiter.api.Test;

class Gpt2ByteSymbolsTest {

    @Test
    void the256BytesHave256DistinctSymbolsThatMapBack() {
        var symbols = new HashSet<Character>();
        for (int b = 0; b < 256; b++) {
            char c = Gpt2ByteSymbols.symbol(b);
            symbols.add(c);
            assertEquals(b, Gpt2ByteSymbols.byteOf(c), "byte " + b);
        }
        assertEquals(256, symbols.size());
    }

    @Test
    void printableBytesStandForThemselvesAndTheOther68ForU0100Onwards() {
        assertEquals('!', Gpt2ByteSymbols.symbol(33));
        assertEquals('~', Gpt2ByteSymbols.symbol(126));
        assertEquals('¡', Gpt2ByteSymbols.symbol(0xA1));
        assertEquals('®', Gpt2ByteSymbols.symbol(0xAE));
        assertEquals('ÿ', Gpt2ByteSymbols.symbol(0xFF));
        assertEquals('\u0100', Gpt2ByteSymbols.symbol(0));
        assertEquals('Ċ', Gpt2ByteSymbols.symbol(10)); // U+010A: bytes 0..32 are the first 33 shifted ones
        assertEquals('Ġ', Gpt2ByteSymbols.symbol(32)); // U+0120
        assertEquals('ġ', Gpt2ByteSymbols.symbol(0x7F)); // U+0121: DEL follows the space
        assertEquals('\u0122', Gpt2ByteSymbols.symbol(0x80));
        assertEquals('\u0142', Gpt2ByteSymbols.symbol(0xA0)); // 0x80..0xA0 are 33 more
        assertEquals('\u0143', Gpt2ByteSymbols.symbol(0xAD)); // the soft hyphen is the 68th and last
        assertEquals('Ġ', Gpt2ByteSymbols.symbol((byte) 32));
        assertEquals('\u0143', Gpt2ByteSymbols.symbol((byte) 0xAD)); // a signed Java byte works too

        int printable = 0;
        for (int b = 0; b < 256; b++) if (Gpt2ByteSymbols.symbol(b) == b) printable++;
        assertEquals(188, printable);
    }

    @Test
    void charactersOutsideTheTableStandForNoByte() {
        assertEquals(-1, Gpt2ByteSymbols.byteOf(' '));
        assertEquals(-1, Gpt2ByteSymbols.byteOf('\n'));
        assertEquals(-1, Gpt2ByteSymbols.byteOf('\u00AD')); // shifted to U+0143
        assertEquals(-1, Gpt2ByteSymbols.byteOf('\u0144'));
        assertEquals(-1, Gpt2ByteSymbols.byteOf('中'));
    }
}
