package org.rlhf4j.transformer.tokenizer;

import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * Ids 0..255 are the UTF-8 bytes of the text; special tokens follow from 256 in the order they are configured
 * (by default {@code <|endoftext|>} = 256, the EOS, and {@code <|pad|>} = 257). The default tokenizer of the
 * built-in tasks: no files, and every string encodes.
 */
public final class ByteTokenizer implements Tokenizer {
    private static final int BYTES = 256;

    private final SpecialTokens special;
    private final byte[][] specialBytes; // [id - 256] -> UTF-8 of the token's text

    /** {@code <|endoftext|>} = 256 (EOS) and {@code <|pad|>} = 257 (padding). */
    public ByteTokenizer() {
        this(SpecialTokensConfig.endOfTextAndPad());
    }

    public ByteTokenizer(SpecialTokensConfig config) {
        var tokens = config.tokens();
        special = new SpecialTokens(config, text -> BYTES + tokens.indexOf(text));
        specialBytes = new byte[tokens.size()][];
        for (int i = 0; i < tokens.size(); i++) specialBytes[i] = Utf8.encode(tokens.get(i));
    }

    @Override
    public int[] encode(String text, boolean allowSpecial) {
        if (!allowSpecial) return ids(Utf8.encode(text));
        var out = new IntArrayBuilder(text.length() + 8);
        special.split(text, new SpecialTokens.Sink() {
            @Override
            public void text(String t, int from, int to) {
                out.addAll(ids(Utf8.encode(t, from, to)));
            }

            @Override
            public void special(int id) {
                out.add(id);
            }
        });
        return out.toArray();
    }

    private static int[] ids(byte[] bytes) {
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) ids[i] = bytes[i] & 0xFF;
        return ids;
    }

    @Override
    public byte[] decodeBytes(int[] ids, int from, int to) {
        Objects.checkFromToIndex(from, to, ids.length);
        int n = 0;
        for (int i = from; i < to; i++) n += checkId(ids[i]) < BYTES ? 1 : specialBytes[ids[i] - BYTES].length;
        byte[] out = new byte[n];
        int j = 0;
        for (int i = from; i < to; i++) {
            int id = ids[i];
            if (id < BYTES) {
                out[j++] = (byte) id;
            } else {
                byte[] literal = specialBytes[id - BYTES];
                System.arraycopy(literal, 0, out, j, literal.length);
                j += literal.length;
            }
        }
        return out;
    }

    private int checkId(int id) {
        if (id < 0 || id >= vocabSize()) {
            throw new IllegalArgumentException("ByteTokenizer: token id " + id + " is outside [0, " + vocabSize() + ")");
        }
        return id;
    }

    @Override
    public int vocabSize() {
        return BYTES + specialBytes.length;
    }

    @Override
    public int eosId() {
        return special.eosId();
    }

    @Override
    public OptionalInt padId() {
        return special.padId();
    }

    @Override
    public Map<String, Integer> specialTokens() {
        return special.byText();
    }

    @Override
    public boolean isSpecial(int id) {
        return id >= BYTES && id < vocabSize();
    }

    @Override
    public String toString() {
        return "ByteTokenizer(vocabSize=" + vocabSize() + ", special=" + specialTokens() + ")";
    }
}
