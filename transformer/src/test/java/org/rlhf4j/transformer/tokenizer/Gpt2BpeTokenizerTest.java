package org.rlhf4j.transformer.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Gpt2BpeTokenizerTest {
    private static final String EOT = "<|endoftext|>";

    @TempDir
    static Path trainedDir;
    private static TinyBpeTrainer.Trained trained;
    private static Gpt2BpeTokenizer tokenizer;

    @TempDir
    Path dir;

    @BeforeAll
    static void trainATinyVocabulary() throws IOException {
        trained = TinyBpeTrainer.train(TinyBpeTrainer.CORPUS, 200, List.of(EOT));
        trained.writeTo(trainedDir);
        tokenizer = Gpt2BpeTokenizer.load(trainedDir);
    }

    // ---------------------------------------------------------------- a vocabulary trained by TinyBpeTrainer

    @Test
    void loadsTheTrainedFiles() {
        assertEquals(200, trained.merges().size());
        assertEquals(200, tokenizer.mergeCount());
        assertEquals(trained.vocab().size(), tokenizer.vocabSize());
        assertEquals(trained.vocab().get(EOT), tokenizer.eosId());
        assertEquals(tokenizer.vocabSize() - 1, tokenizer.eosId());
        assertEquals(Map.of(EOT, tokenizer.eosId()), tokenizer.specialTokens());
        assertEquals(OptionalInt.empty(), tokenizer.padId());
        assertTrue(tokenizer.isSpecial(tokenizer.eosId()));
    }

    @Test
    void decodeInvertsEncodeOnValidText() {
        for (String s : TextSamples.HAND_PICKED) {
            assertEquals(s, tokenizer.decode(tokenizer.encode(s)), s);
            assertEquals(s, tokenizer.decode(tokenizer.encode(s, false)), s);
        }
        for (String s : TextSamples.random(2, 1000)) assertEquals(s, tokenizer.decode(tokenizer.encode(s)), s);
        assertEquals(TinyBpeTrainer.CORPUS, tokenizer.decode(tokenizer.encode(TinyBpeTrainer.CORPUS)));
    }

    @Test
    void unpairedSurrogatesEncodeAsTheReplacementCharacter() {
        assertArrayEquals(tokenizer.encode("a \uFFFDb"), tokenizer.encode("a \uD800b"));
        assertEquals("\uFFFD\uFFFD x", tokenizer.decode(tokenizer.encode("\uDC00\uD83D x")));
    }

    @Test
    void mergesCompressTheTrainingText() {
        int bytes = TinyBpeTrainer.CORPUS.getBytes(StandardCharsets.UTF_8).length;
        int tokens = tokenizer.encode(TinyBpeTrainer.CORPUS).length;
        assertTrue(tokens < 0.6 * bytes, tokens + " tokens for " + bytes + " bytes");
        assertEquals(1, tokenizer.encode(" the").length);
        assertEquals("Ġthe", tokenizer.token(tokenizer.encode(" the")[0]));
    }

    @Test
    void agreesWithGpt2sMergeLoopWordByWord() {
        var ranks = new HashMap<List<String>, Integer>();
        for (String[] m : trained.merges()) ranks.putIfAbsent(List.of(m[0], m[1]), ranks.size());
        var texts = new ArrayList<>(TinyBpeTrainer.CORPUS.lines().toList());
        texts.addAll(TextSamples.random(4, 300));
        for (String text : texts) {
            var expected = new ArrayList<Integer>();
            for (String word : Gpt2PreTokenizer.split(text)) {
                var symbols = new ArrayList<String>();
                for (char c : Gpt2ByteSymbols.symbols(Utf8.encode(word)).toCharArray()) symbols.add(String.valueOf(c));
                for (String token : TinyBpeTrainer.referenceBpe(symbols, ranks)) expected.add(trained.vocab().get(token));
            }
            assertEquals(expected, IntStream.of(tokenizer.encode(text, false)).boxed().toList(), text);
        }
    }

    @Test
    void textBeforeASpecialTokenEncodesAsIfItEndedThere() {
        int eos = tokenizer.eosId();
        // Two spaces end "a  ", so they are one whitespace run, as Hugging Face's tokenizers split it.
        assertArrayEquals(concat(tokenizer.encode("a  "), new int[] {eos}), tokenizer.encode("a  " + EOT));
        assertArrayEquals(concat(tokenizer.encode("Hello "), new int[] {eos}, tokenizer.encode(" world")),
                tokenizer.encode("Hello " + EOT + " world"));
        assertArrayEquals(new int[] {eos, eos}, tokenizer.encode(EOT + EOT));
        int[] plain = tokenizer.encode(EOT, false);
        assertTrue(plain.length > 1 && Arrays.stream(plain).noneMatch(id -> id == eos), Arrays.toString(plain));
        assertEquals(EOT, tokenizer.decode(new int[] {eos}));
    }

    @Test
    void decodingAnyIdsNeverThrowsAndCutCharactersBecomeReplacementCharacters() {
        int[] ids = tokenizer.encode("🙈"); // not in the corpus: at least two byte-level tokens
        assertTrue(ids.length >= 2, Arrays.toString(ids));
        assertTrue(tokenizer.decode(ids, 0, ids.length - 1).endsWith("\uFFFD"));
        var bytes = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < ids.length; i++) bytes.writeBytes(tokenizer.decodeBytes(ids, i, i + 1));
        assertArrayEquals("🙈".getBytes(StandardCharsets.UTF_8), bytes.toByteArray());

        var random = new Random(5);
        for (int trial = 0; trial < 500; trial++) {
            String text = tokenizer.decode(random.ints(random.nextInt(16), 0, tokenizer.vocabSize()).toArray());
            assertEquals(text, tokenizer.decode(tokenizer.encode(text)));
        }
        var e = assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {tokenizer.vocabSize()}));
        assertTrue(e.getMessage().contains(String.valueOf(tokenizer.vocabSize())), e.getMessage());
    }

    @Test
    void aPadTokenMayBeTheEndOfTextToken() throws IOException {
        var t = Gpt2BpeTokenizer.load(trainedDir, new SpecialTokensConfig(List.of(EOT), EOT, EOT));
        assertEquals(OptionalInt.of(t.eosId()), t.padId());
    }

    // ---------------------------------------------------------------- a hand-written merge table

    /**
     * Ids 0..255 are the byte symbols (id = byte), then 256 ll, 257 ell, 258 hell, 259 llo, 260 he, 261 EOT;
     * merges by rank: 0 "l l", 1 "e ll", 2 "h ell", 3 "ll o", 4 "h e".
     */
    private Gpt2BpeTokenizer handWritten() throws IOException {
        var vocab = TinyBpeTrainer.byteVocab();
        for (String token : List.of("ll", "ell", "hell", "llo", "he", EOT)) vocab.put(token, vocab.size());
        Files.writeString(dir.resolve("vocab.json"), vocabJson(vocab));
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\nl l\ne ll\nh ell\nll o\nh e\n");
        return Gpt2BpeTokenizer.load(dir);
    }

    @Test
    void mergesApplyByRankNotByPosition() throws IOException {
        var t = handWritten();
        // hello: pairs h-e (4), e-l (-), l-l (0), l-o (-) -> "l l" first: h e ll o.
        // Then h-e (4), e-ll (1), ll-o (3) -> "e ll": h ell o. Then h-ell (2), ell-o (-) -> hell o. Done.
        // "h e" has the left-most pair but rank 4, and it never fires.
        assertArrayEquals(new int[] {258, 'o'}, t.encode("hello"));
        assertArrayEquals(new int[] {259}, t.encode("llo"));            // ll o -> llo (rank 3)
        assertArrayEquals(new int[] {257, 'o'}, t.encode("ello"));      // e ll (1) beats ll o (3)
        assertArrayEquals(new int[] {260}, t.encode("he"));
        assertArrayEquals(new int[] {256, 'l'}, t.encode("lll"));       // left to right: ll l
        assertArrayEquals(new int[] {256, 256}, t.encode("llll"));
        // " hello" is one pre-token; Ġ (the space, id 32) has no merges.
        assertArrayEquals(new int[] {258, 'o', ' ', 258, 'o'}, t.encode("hello hello"));
        assertArrayEquals(new int[] {258, 'o', 261}, t.encode("hello" + EOT));
        assertArrayEquals(new int[] {'<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't', '|', '>'}, t.encode(EOT, false));
        assertEquals("hello hello", t.decode(new int[] {258, 'o', ' ', 258, 'o'}));
        assertEquals("hell", t.token(258));
        assertEquals("Ġ", t.token(32));
        assertEquals(OptionalInt.of(32), t.tokenId("Ġ"));
        assertEquals(OptionalInt.empty(), t.tokenId("hellooo"));
        assertEquals(262, t.vocabSize());
        assertEquals(261, t.eosId());
    }

    @Test
    void readsWindowsLineEndingsAndNoVersionLine() throws IOException {
        var vocab = TinyBpeTrainer.byteVocab();
        vocab.put("ll", 256);
        vocab.put(EOT, 257);
        Files.writeString(dir.resolve("vocab.json"), vocabJson(vocab));
        Files.writeString(dir.resolve("merges.txt"), "l l\r\n\r\n");
        var t = Gpt2BpeTokenizer.load(dir);
        assertEquals(1, t.mergeCount());
        assertArrayEquals(new int[] {'a', 256}, t.encode("all"));
    }

    // ---------------------------------------------------------------- malformed files

    /** One entry a line: entry i (0-based, in map order) is on line i + 2. */
    private static String vocabJson(Map<String, ?> vocab) {
        return TinyBpeTrainer.vocabJson(vocab);
    }

    private LinkedHashMap<String, Object> validVocab() {
        var vocab = new LinkedHashMap<String, Object>(TinyBpeTrainer.byteVocab());
        for (String token : List.of("ll", "ell", "hell", EOT)) vocab.put(token, vocab.size());
        return vocab;
    }

    private static final String VALID_MERGES = "#version: 0.2\nl l\ne ll\nh ell\n";

    private String loadError(Object vocab, String merges) throws IOException {
        Files.writeString(dir.resolve("vocab.json"), vocab instanceof String s ? s : vocabJson(castMap(vocab)));
        Files.writeString(dir.resolve("merges.txt"), merges);
        return assertThrows(IOException.class, () -> Gpt2BpeTokenizer.load(dir)).getMessage();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, ?> castMap(Object vocab) {
        return (Map<String, ?>) vocab;
    }

    private static void assertMentions(String message, String... parts) {
        for (String part : parts) assertTrue(message.contains(part), "'" + part + "' not in: " + message);
    }

    @Test
    void theValidFixtureLoads() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), vocabJson(validVocab()));
        Files.writeString(dir.resolve("merges.txt"), VALID_MERGES);
        assertEquals(3, Gpt2BpeTokenizer.load(dir).mergeCount());
    }

    @Test
    void aMergeLineThatIsNotTwoTokensNamesTheLine() throws IOException {
        assertMentions(loadError(validVocab(), VALID_MERGES + "l l l\n"), "merges.txt line 5", "two tokens", "'l l l'");
        assertMentions(loadError(validVocab(), "#version: 0.2\nll\n"), "merges.txt line 2", "two tokens");
        assertMentions(loadError(validVocab(), "l\tl\n"), "merges.txt line 1", "two tokens");
    }

    @Test
    void aMergeWhosePartOrResultIsNotInTheVocabularyNamesTheLine() throws IOException {
        assertMentions(loadError(validVocab(), VALID_MERGES + "h o\n"), "merges.txt line 5", "result 'ho'", "not in the vocabulary");
        assertMentions(loadError(validVocab(), "#version: 0.2\nl l\nlo l\n"), "merges.txt line 3", "'lo'", "not in the vocabulary");
    }

    @Test
    void aRepeatedMergeNamesBothLines() throws IOException {
        assertMentions(loadError(validVocab(), VALID_MERGES + "l l\n"), "merges.txt line 5", "first on line 2");
    }

    @Test
    void malformedJsonNamesTheLine() throws IOException {
        assertMentions(loadError("{\n  \"a\": 0,\n  \"b\": 1,\n", VALID_MERGES), "vocab.json line", "malformed JSON");
        assertMentions(loadError("{\n  \"a\": 0,\n  \"b\" 1\n}\n", VALID_MERGES), "vocab.json line 3", "malformed JSON");
        assertMentions(loadError("[0, 1]", VALID_MERGES), "vocab.json line 1", "expected a JSON object");
        assertMentions(loadError("", VALID_MERGES), "vocab.json", "expected a JSON object");
        assertMentions(loadError("{}", VALID_MERGES), "vocab.json", "empty");
    }

    @Test
    void anIdThatIsNotANonNegativeIntNamesTheLine() throws IOException {
        var vocab = validVocab();
        vocab.put("ell", "257"); // entry 257: line 259
        assertMentions(loadError(vocab, VALID_MERGES), "vocab.json line 259", "'ell'", "non-negative int");
        vocab.put("ell", -1);
        assertMentions(loadError(vocab, VALID_MERGES), "vocab.json line 259", "non-negative int");
        vocab.put("ell", 1L << 40);
        assertMentions(loadError(vocab, VALID_MERGES), "vocab.json line 259", "non-negative int");
        vocab.put("ell", 2.5);
        assertMentions(loadError(vocab, VALID_MERGES), "vocab.json line 259", "non-negative int");
    }

    @Test
    void repeatedOrMissingIdsAreErrors() throws IOException {
        var vocab = validVocab();
        vocab.put("ell", 256); // the id of "ll" (line 258)
        assertMentions(loadError(vocab, VALID_MERGES), "vocab.json line 259", "id 256", "'ll' (line 258)");
        vocab = validVocab();
        vocab.put(EOT, 300);
        assertMentions(loadError(vocab, VALID_MERGES), "vocab.json", "from 0 to 259", "line 261", "300");
        assertMentions(loadError("{\n  \"a\": 0,\n  \"a\": 1\n}\n", ""), "vocab.json line 3", "'a'", "first on line 2");
    }

    @Test
    void aMissingByteSymbolOrSpecialTokenIsAnError() throws IOException {
        var vocab = validVocab();
        vocab.remove("Ġ");
        vocab.replaceAll((token, id) -> (Integer) id > 32 ? (Integer) id - 1 : id);
        assertMentions(loadError(vocab, VALID_MERGES), "vocab.json", "'Ġ'", "byte 0x20");
        vocab = validVocab();
        vocab.remove(EOT);
        assertMentions(loadError(vocab, VALID_MERGES), "vocab.json", "special token '<|endoftext|>'");
    }

    @Test
    void aTokenThatIsNotMadeOfByteSymbolsMustBeSpecial() throws IOException {
        var vocab = validVocab();
        vocab.put("中", vocab.size()); // line 262
        assertMentions(loadError(vocab, VALID_MERGES), "vocab.json line 262", "'中'", "U+4E2D", "special");
        vocab = validVocab();
        vocab.put("<|pad|>", vocab.size()); // '<', '|', ... are byte symbols: an ordinary, if odd, token
        Files.writeString(dir.resolve("vocab.json"), vocabJson(vocab));
        Files.writeString(dir.resolve("merges.txt"), VALID_MERGES);
        var t = Gpt2BpeTokenizer.load(dir, new SpecialTokensConfig(List.of(EOT, "<|pad|>"), EOT, "<|pad|>"));
        assertEquals(OptionalInt.of(vocab.size() - 1), t.padId());
        assertArrayEquals(new int[] {'a', vocab.size() - 1}, t.encode("a<|pad|>"));
    }

    @Test
    void aMissingFileIsNamed() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), vocabJson(validVocab()));
        var e = assertThrows(NoSuchFileException.class, () -> Gpt2BpeTokenizer.load(dir));
        assertMentions(e.getMessage(), "merges.txt");
    }

    private static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }
}
