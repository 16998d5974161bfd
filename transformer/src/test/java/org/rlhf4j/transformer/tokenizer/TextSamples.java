package org.rlhf4j.transformer.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Strings that a byte-level tokenizer must round-trip. */
final class TextSamples {
    private TextSamples() {}

    static final List<String> HAND_PICKED = List.of(
            "",
            "a",
            "Hello, world!",
            "Hello world's 123  x",
            "   leading and trailing spaces   ",
            "tabs\tand\nnewlines\r\nand\u000Bvertical\ftabs",
            "\n\n\n",
            "I'm sure they'll've done it; you'd've, we're, DON'T",
            "1234567890 3.14159 -42 1e-9 0x1F",
            "!!!???... ---- ==== <<<>>> @#$%^&*()",
            "naïve café façade Größe Ελληνικά русский עִבְרִית العربية",
            "e\u0301 a\u0308 n\u0303 (combining marks)",
            "日本語のテキスト 中文 한국어",
            "😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🚀!!",
            "NUL \u0000 inside, and \u0001\u001F controls, DEL \u007F, C1 \u0085\u009F",
            "\u00A0no-break\u2028line sep\u2029para sep\u3000ideographic space",
            "\uFEFFBOM \u00AD soft hyphen \u200B zero width \uFFFF noncharacter \uFFFD replacement",
            "𝔸𝕓𝕔 math letters 𝟙𝟚𝟛 math digits",
            "<|endoftext|>",
            "before<|endoftext|>after <|endoftext|><|endoftext|> <|pad|>",
            "<|endoftext",
            "    def f(x):\n        return x * 2  # code\n");

    /** Random strings of valid code points: half from anywhere in Unicode, half from a small tricky alphabet. */
    static List<String> random(long seed, int count) {
        var random = new Random(seed);
        int[] tricky = " \t\n\r'sdtAaz09!.,<|>".codePoints().toArray();
        var out = new ArrayList<String>();
        for (int s = 0; s < count; s++) {
            var text = new StringBuilder();
            for (int i = random.nextInt(40); i > 0; i--) {
                int cp;
                if (random.nextBoolean()) {
                    cp = tricky[random.nextInt(tricky.length)];
                } else {
                    do {
                        cp = random.nextInt(4) == 0 ? random.nextInt(Character.MAX_CODE_POINT + 1) : random.nextInt(0x3000);
                    } while (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE);
                }
                text.appendCodePoint(cp);
            }
            out.add(text.toString());
        }
        return out;
    }
}
