package org.rlhf4j.transformer.tokenizer;

import java.util.Arrays;

/** UTF-8 that never fails: an unpaired surrogate encodes as U+FFFD, ill-formed bytes decode as U+FFFD. */
final class Utf8 {
    private Utf8() {}

    /**
     * The UTF-8 bytes of {@code text[from, to)}, an unpaired surrogate becoming U+FFFD (EF BF BD). Written out
     * because {@code String.getBytes(UTF_8)} turns it into '?' instead.
     */
    static byte[] encode(CharSequence text, int from, int to) {
        byte[] out = new byte[3 * (to - from)]; // a UTF-16 unit never needs more than 3 bytes; a pair needs 4
        int n = 0;
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            if (c < 0x80) {
                out[n++] = (byte) c;
            } else if (c < 0x800) {
                out[n++] = (byte) (0xC0 | c >>> 6);
                out[n++] = (byte) (0x80 | c & 0x3F);
            } else if (Character.isHighSurrogate(c) && i + 1 < to && Character.isLowSurrogate(text.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, text.charAt(++i));
                out[n++] = (byte) (0xF0 | cp >>> 18);
                out[n++] = (byte) (0x80 | cp >>> 12 & 0x3F);
                out[n++] = (byte) (0x80 | cp >>> 6 & 0x3F);
                out[n++] = (byte) (0x80 | cp & 0x3F);
            } else {
                if (Character.isSurrogate(c)) c = '\uFFFD';
                out[n++] = (byte) (0xE0 | c >>> 12);
                out[n++] = (byte) (0x80 | c >>> 6 & 0x3F);
                out[n++] = (byte) (0x80 | c & 0x3F);
            }
        }
        return n == out.length ? out : Arrays.copyOf(out, n);
    }

    static byte[] encode(String text) {
        return encode(text, 0, text.length());
    }

    /**
     * Decodes UTF-8, replacing each maximal subpart of an ill-formed sequence with one U+FFFD (the Unicode
     * Standard's recommended practice, chapter 3.9, which Python's {@code errors="replace"} and Rust's
     * {@code from_utf8_lossy} follow; Java's own decoder gives one U+FFFD for an encoded surrogate, not three).
     * So a character cut short, as when generation stops mid-character, costs one U+FFFD.
     */
    static String decode(byte[] bytes) {
        int n = bytes.length;
        char[] out = new char[n]; // at most one char per byte: a 4-byte sequence gives 2 chars
        int len = 0;
        int i = 0;
        while (i < n) {
            int b0 = bytes[i] & 0xFF;
            if (b0 < 0x80) {
                out[len++] = (char) b0;
                i++;
                continue;
            }
            // Length of the sequence and range of its second byte (Unicode Table 3-7, well-formed sequences).
            int length, lo = 0x80, hi = 0xBF;
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                length = 2;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                length = 3;
                if (b0 == 0xE0) lo = 0xA0;      // no overlong forms
                else if (b0 == 0xED) hi = 0x9F; // no surrogates
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                length = 4;
                if (b0 == 0xF0) lo = 0x90;      // no overlong forms
                else if (b0 == 0xF4) hi = 0x8F; // nothing above U+10FFFF
            } else {
                out[len++] = '\uFFFD'; // a continuation byte, or C0, C1, F5..FF, which never occur
                i++;
                continue;
            }
            int cp = b0 & (0xFF >>> (length + 1));
            int j = i + 1;
            boolean complete = true;
            for (int k = 1; k < length; k++, j++) {
                int b = j < n ? bytes[j] & 0xFF : -1;
                if (k == 1 ? b < lo || b > hi : b < 0x80 || b > 0xBF) {
                    complete = false;
                    break;
                }
                cp = cp << 6 | b & 0x3F;
            }
            if (!complete) {
                out[len++] = '\uFFFD'; // for the maximal valid prefix bytes[i, j); decoding resumes at j
            } else if (cp >= 0x10000) {
                out[len++] = Character.highSurrogate(cp);
                out[len++] = Character.lowSurrogate(cp);
            } else {
                out[len++] = (char) cp;
            }
            i = j;
        }
        return new String(out, 0, len);
    }
}
