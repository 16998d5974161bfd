package org.rlhf4j.transformer.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;

/**
 * GPT-2's byte-level BPE, read from a Hugging Face model directory's {@code vocab.json} (token -> id) and
 * {@code merges.txt} (one merge {@code "left right"} a line, rank = order; a first line starting with
 * {@code #version} is skipped).
 *
 * <p>Encoding: split the text at literal special tokens (when allowed), split each piece with GPT-2's regex
 * ({@link Gpt2PreTokenizer}), turn each word into UTF-8 bytes and the bytes into their symbols
 * ({@link Gpt2ByteSymbols}), then merge symbols by lowest rank ({@link BpeMerges}). Because every byte's symbol is
 * in the vocabulary (checked on load), every string encodes and decodes back to itself. Decoding maps each
 * token's symbols back to bytes and reads the bytes as UTF-8, invalid sequences becoming U+FFFD.
 */
public final class Gpt2BpeTokenizer implements Tokenizer {
    public static final String VOCAB_FILE = "vocab.json";
    public static final String MERGES_FILE = "merges.txt";

    private static final int CACHE_MAX_WORDS = 100_000; // cleared when full; GPT-2 English text has far fewer
    private static final int CACHE_MAX_WORD_LENGTH = 256; // longer words are rare, and would bloat the cache

    private final String[] tokens;      // [id] -> token as written in vocab.json
    private final byte[][] tokenBytes;  // [id] -> the bytes it decodes to
    private final Map<String, Integer> ids;
    private final int[] byteIds;        // [byte] -> id of the byte's symbol
    private final BpeMerges merges;
    private final SpecialTokens special;
    private final Map<String, int[]> wordCache = new ConcurrentHashMap<>();

    private Gpt2BpeTokenizer(String[] tokens, byte[][] tokenBytes, Map<String, Integer> ids, int[] byteIds,
                             BpeMerges merges, SpecialTokens special) {
        this.tokens = tokens;
        this.tokenBytes = tokenBytes;
        this.ids = ids;
        this.byteIds = byteIds;
        this.merges = merges;
        this.special = special;
    }

    /** Loads {@code vocab.json} and {@code merges.txt} from {@code dir}, with GPT-2's {@code <|endoftext|>}. */
    public static Gpt2BpeTokenizer load(Path dir) throws IOException {
        return load(dir, SpecialTokensConfig.gpt2());
    }

    /** Loads {@code vocab.json} and {@code merges.txt} from {@code dir}; the special tokens must be in the vocab. */
    public static Gpt2BpeTokenizer load(Path dir, SpecialTokensConfig specialTokens) throws IOException {
        return load(dir.resolve(VOCAB_FILE), dir.resolve(MERGES_FILE), specialTokens);
    }

    /**
     * Loads a vocabulary and its merges. Fails, naming the file and the line, on malformed JSON, an id that is
     * not a non-negative int, a repeated token or id, ids that do not run 0..N-1, a token that is neither special
     * nor made of byte symbols, a missing byte symbol or special token, or a merge line that is not two tokens of
     * the vocabulary whose concatenation is in the vocabulary too.
     */
    public static Gpt2BpeTokenizer load(Path vocabJson, Path mergesTxt, SpecialTokensConfig specialTokens) throws IOException {
        Objects.requireNonNull(specialTokens, "specialTokens");
        List<VocabEntry> entries = readVocab(vocabJson);
        int n = entries.size();

        var ids = new HashMap<String, Integer>(2 * n);
        var tokens = new String[n];
        var lines = new int[n];
        for (VocabEntry e : entries) {
            if (e.id >= n) {
                throw new IOException(vocabJson + ": ids must run from 0 to " + (n - 1) + " for " + n + " tokens, but line "
                        + e.line + " gives " + quote(e.token) + " the id " + e.id);
            }
            if (tokens[e.id] != null) {
                throw new IOException(vocabJson + " line " + e.line + ": id " + e.id + " of " + quote(e.token)
                        + " is already the id of " + quote(tokens[e.id]) + " (line " + lines[e.id] + ")");
            }
            tokens[e.id] = e.token;
            lines[e.id] = e.line;
            ids.put(e.token, e.id); // a repeated token was rejected while reading
        }

        var specialTexts = new HashSet<>(specialTokens.tokens());
        for (String s : specialTokens.tokens()) {
            if (!ids.containsKey(s)) throw new IOException(vocabJson + ": no entry for the special token " + quote(s));
        }
        var tokenBytes = new byte[n][];
        for (int id = 0; id < n; id++) {
            String token = tokens[id];
            if (specialTexts.contains(token)) {
                tokenBytes[id] = Utf8.encode(token);
                continue;
            }
            if (token.isEmpty()) throw new IOException(vocabJson + " line " + lines[id] + ": the empty string is not a token");
            byte[] bytes = new byte[token.length()];
            for (int i = 0; i < bytes.length; i++) {
                int b = Gpt2ByteSymbols.byteOf(token.charAt(i));
                if (b < 0) {
                    throw new IOException(vocabJson + " line " + lines[id] + ": token " + quote(token) + " has "
                            + String.format("U+%04X", (int) token.charAt(i)) + ", which is not a GPT-2 byte symbol;"
                            + " a token that is not byte-level must be declared special");
                }
                bytes[i] = (byte) b;
            }
            tokenBytes[id] = bytes;
        }
        var byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            Integer id = ids.get(String.valueOf(Gpt2ByteSymbols.symbol(b)));
            if (id == null || specialTexts.contains(tokens[id])) {
                throw new IOException(vocabJson + ": no entry for " + quote(String.valueOf(Gpt2ByteSymbols.symbol(b)))
                        + ", the symbol of byte " + String.format("0x%02X", b) + "; a byte-level vocabulary has all 256");
            }
            byteIds[b] = id;
        }

        BpeMerges merges = readMerges(mergesTxt, ids);
        var special = new SpecialTokens(specialTokens, ids::get);
        return new Gpt2BpeTokenizer(tokens, tokenBytes, Map.copyOf(ids), byteIds, merges, special);
    }

    private record VocabEntry(String token, int id, int line) {}

    private static List<VocabEntry> readVocab(Path file) throws IOException {
        var entries = new ArrayList<VocabEntry>();
        var lineOfToken = new HashMap<String, Integer>();
        try (InputStream in = Files.newInputStream(file); JsonParser p = new JsonFactory().createParser(in)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException(file + " line " + p.currentTokenLocation().getLineNr()
                        + ": expected a JSON object mapping each token to its id, found " + describe(p));
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String token = p.currentName();
                int line = p.currentTokenLocation().getLineNr();
                JsonToken value = p.nextToken();
                if (value != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT || p.getIntValue() < 0) {
                    throw new IOException(file + " line " + line + ": the id of " + quote(token)
                            + " must be a non-negative int, found " + describe(p));
                }
                Integer previous = lineOfToken.putIfAbsent(token, line);
                if (previous != null) {
                    throw new IOException(file + " line " + line + ": token " + quote(token) + " is listed again (first on line " + previous + ")");
                }
                entries.add(new VocabEntry(token, p.getIntValue(), line));
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw new IOException(file + " line " + p.currentTokenLocation().getLineNr() + ": unexpected " + describe(p));
            }
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new IOException(file + where + ": malformed JSON: " + e.getOriginalMessage(), e);
        }
        if (entries.isEmpty()) throw new IOException(file + ": the vocabulary is empty");
        return entries;
    }

    private static String describe(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        return t == null ? "the end of the file" : t + " " + p.getText();
    }

    private static BpeMerges readMerges(Path file, Map<String, Integer> ids) throws IOException {
        var left = new IntArrayBuilder(1024);
        var right = new IntArrayBuilder(1024);
        var result = new IntArrayBuilder(1024);
        var lineOfPair = new HashMap<List<Integer>, Integer>();
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int lineNumber = 0;
            for (String line; (line = reader.readLine()) != null; ) {
                lineNumber++;
                if ((lineNumber == 1 && line.startsWith("#version")) || line.isEmpty()) continue;
                int space = line.indexOf(' ');
                if (space <= 0 || space == line.length() - 1 || line.indexOf(' ', space + 1) >= 0) {
                    throw new IOException(file + " line " + lineNumber + ": expected two tokens separated by one space, found " + quote(line));
                }
                String a = line.substring(0, space), b = line.substring(space + 1);
                Integer ia = ids.get(a), ib = ids.get(b), iab = ids.get(a + b);
                if (ia == null || ib == null) {
                    throw new IOException(file + " line " + lineNumber + ": " + quote(ia == null ? a : b) + " of merge " + quote(line)
                            + " is not in the vocabulary");
                }
                if (iab == null) {
                    throw new IOException(file + " line " + lineNumber + ": the result " + quote(a + b) + " of merge " + quote(line)
                            + " is not in the vocabulary");
                }
                Integer previous = lineOfPair.putIfAbsent(List.of(ia, ib), lineNumber);
                if (previous != null) {
                    throw new IOException(file + " line " + lineNumber + ": merge " + quote(line) + " is listed again (first on line " + previous + ")");
                }
                left.add(ia);
                right.add(ib);
                result.add(iab);
            }
        } catch (CharacterCodingException e) {
            throw new IOException(file + ": not valid UTF-8", e);
        }
        return new BpeMerges(left.toArray(), right.toArray(), result.toArray());
    }

    private static String quote(String s) {
        return "'" + s + "'";
    }

    @Override
    public int[] encode(String text, boolean allowSpecial) {
        var out = new IntArrayBuilder(text.length() / 2 + 8);
        if (!allowSpecial) {
            encodeOrdinary(text, 0, text.length(), out);
            return out.toArray();
        }
        special.split(text, new SpecialTokens.Sink() {
            @Override
            public void text(String t, int from, int to) {
                encodeOrdinary(t, from, to, out);
            }

            @Override
            public void special(int id) {
                out.add(id);
            }
        });
        return out.toArray();
    }

    private void encodeOrdinary(String text, int from, int to, IntArrayBuilder out) {
        Gpt2PreTokenizer.split(text, from, to, (t, start, end) -> out.addAll(encodeWord(t.substring(start, end))));
    }

    /** The ids of one pre-tokenized word. The returned array may be cached: never modify it. */
    private int[] encodeWord(String word) {
        int[] cached = wordCache.get(word);
        if (cached != null) return cached;
        byte[] bytes = Utf8.encode(word);
        int[] symbols = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) symbols[i] = byteIds[bytes[i] & 0xFF];
        int[] wordIds = merges.apply(symbols);
        if (word.length() <= CACHE_MAX_WORD_LENGTH) {
            if (wordCache.size() >= CACHE_MAX_WORDS) wordCache.clear();
            wordCache.put(word, wordIds);
        }
        return wordIds;
    }

    @Override
    public byte[] decodeBytes(int[] ids, int from, int to) {
        Objects.checkFromToIndex(from, to, ids.length);
        int n = 0;
        for (int i = from; i < to; i++) n += tokenBytes[checkId(ids[i])].length;
        byte[] out = new byte[n];
        int j = 0;
        for (int i = from; i < to; i++) {
            byte[] bytes = tokenBytes[ids[i]];
            System.arraycopy(bytes, 0, out, j, bytes.length);
            j += bytes.length;
        }
        return out;
    }

    private int checkId(int id) {
        if (id < 0 || id >= tokens.length) {
            throw new IllegalArgumentException("Gpt2BpeTokenizer: token id " + id + " is outside [0, " + tokens.length + ")");
        }
        return id;
    }

    /** The token of {@code id} as written in vocab.json (byte symbols, or a special token's text). */
    public String token(int id) {
        return tokens[checkId(id)];
    }

    /** The id of {@code token} as written in vocab.json, if it is in the vocabulary. */
    public OptionalInt tokenId(String token) {
        Integer id = ids.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** Number of merges read from merges.txt. */
    public int mergeCount() {
        return merges.size();
    }

    @Override
    public int vocabSize() {
        return tokens.length;
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
        return special.isSpecial(id);
    }

    @Override
    public String toString() {
        return "Gpt2BpeTokenizer(vocabSize=" + vocabSize() + ", merges=" + merges.size() + ", special=" + specialTokens() + ")";
    }
}
