package org.rlhf4j.transformer.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * A small byte-level BPE trainer, for tests only: it makes a real (if tiny) vocab.json and merges.txt in GPT-2's
 * format, since GPT-2's own 50257-token files are not available offline.
 *
 * <p>Training: split the corpus with GPT-2's pre-tokenizer, write each word as byte symbols, then repeatedly merge
 * the most frequent adjacent pair (ties broken by the smaller {@code "left right"} string, for determinism) in
 * every word. The vocabulary is the 256 byte symbols (ids = byte values), then each merge's result in merge order,
 * then the special tokens.
 */
final class TinyBpeTrainer {
    private TinyBpeTrainer() {}

    /** A trained vocabulary: merges in rank order (each {@code {left, right}}) and the token -> id map. */
    record Trained(List<String[]> merges, Map<String, Integer> vocab) {
        /** Writes vocab.json and merges.txt (with a {@code #version} first line, as GPT-2's) into {@code dir}. */
        void writeTo(Path dir) throws IOException {
            writeVocab(dir.resolve("vocab.json"), vocab);
            var lines = new StringBuilder("#version: 0.2\n");
            for (String[] m : merges) lines.append(m[0]).append(' ').append(m[1]).append('\n');
            Files.writeString(dir.resolve("merges.txt"), lines, StandardCharsets.UTF_8);
        }
    }

    static Trained train(String corpus, int mergeCount, List<String> specialTokens) {
        // word (as a list of symbols) -> frequency
        var frequencies = new LinkedHashMap<String, Integer>();
        for (String piece : Gpt2PreTokenizer.split(corpus)) {
            frequencies.merge(Gpt2ByteSymbols.symbols(piece.getBytes(StandardCharsets.UTF_8)), 1, Integer::sum);
        }
        var words = new ArrayList<List<String>>();
        var counts = new ArrayList<Integer>();
        frequencies.forEach((word, count) -> {
            var symbols = new ArrayList<String>();
            for (char c : word.toCharArray()) symbols.add(String.valueOf(c));
            words.add(symbols);
            counts.add(count);
        });

        var vocab = new LinkedHashMap<String, Integer>();
        for (int b = 0; b < 256; b++) vocab.put(String.valueOf(Gpt2ByteSymbols.symbol(b)), b);
        var merges = new ArrayList<String[]>();
        for (int step = 0; step < mergeCount; step++) {
            var pairCounts = new HashMap<String, Integer>();
            for (int w = 0; w < words.size(); w++) {
                List<String> word = words.get(w);
                for (int i = 0; i + 1 < word.size(); i++) pairCounts.merge(word.get(i) + " " + word.get(i + 1), counts.get(w), Integer::sum);
            }
            String best = null;
            for (var e : pairCounts.entrySet()) {
                if (best == null || e.getValue() > pairCounts.get(best) || e.getValue().equals(pairCounts.get(best)) && e.getKey().compareTo(best) < 0) {
                    best = e.getKey();
                }
            }
            if (best == null) break;
            String[] pair = best.split(" ");
            merges.add(pair);
            vocab.putIfAbsent(pair[0] + pair[1], vocab.size());
            for (int w = 0; w < words.size(); w++) words.set(w, mergeAll(words.get(w), pair[0], pair[1]));
        }
        for (String s : specialTokens) vocab.putIfAbsent(s, vocab.size());
        return new Trained(merges, vocab);
    }

    /** Merges every occurrence of {@code a b} in {@code word}, left to right, without overlap. */
    static List<String> mergeAll(List<String> word, String a, String b) {
        var out = new ArrayList<String>(word.size());
        for (int i = 0; i < word.size(); ) {
            if (i + 1 < word.size() && word.get(i).equals(a) && word.get(i + 1).equals(b)) {
                out.add(a + b);
                i += 2;
            } else {
                out.add(word.get(i++));
            }
        }
        return out;
    }

    /**
     * GPT-2's BPE loop as its paper-and-pencil definition: while some adjacent pair has a rank, merge every
     * occurrence of the lowest-ranked pair. Quadratic; the oracle for {@link BpeMerges}.
     */
    static List<String> referenceBpe(List<String> symbols, Map<List<String>, Integer> ranks) {
        List<String> word = symbols;
        while (word.size() > 1) {
            List<String> best = null;
            for (int i = 0; i + 1 < word.size(); i++) {
                List<String> pair = List.of(word.get(i), word.get(i + 1));
                Integer rank = ranks.get(pair);
                if (rank != null && (best == null || rank < ranks.get(best))) best = pair;
            }
            if (best == null) break;
            word = mergeAll(word, best.get(0), best.get(1));
        }
        return word;
    }

    static void writeVocab(Path file, Map<String, ?> vocab) throws IOException {
        Files.writeString(file, vocabJson(vocab), StandardCharsets.UTF_8);
    }

    /** The vocabulary as JSON, one entry a line: entry i (0-based, in map order) is on line i + 2. */
    static String vocabJson(Map<String, ?> vocab) {
        var lines = new StringJoiner(",\n", "{\n", "\n}\n");
        for (var e : vocab.entrySet()) {
            Object id = e.getValue();
            lines.add("  " + jsonString(e.getKey()) + ": " + (id instanceof String s ? jsonString(s) : id));
        }
        return lines.toString();
    }

    /** A JSON string literal (written by hand: Jackson's ObjectMapper takes a second to start). */
    static String jsonString(String s) {
        var out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') out.append('\\').append(c);
            else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
        return out.append('"').toString();
    }

    /** The 256 byte symbols with ids 0..255 (id = byte value). */
    static LinkedHashMap<String, Integer> byteVocab() {
        var vocab = new LinkedHashMap<String, Integer>();
        for (int b = 0; b < 256; b++) vocab.put(String.valueOf(Gpt2ByteSymbols.symbol(b)), b);
        return vocab;
    }

    /** An English-heavy corpus with contractions, numbers, code, whitespace runs and a little of other scripts. */
    static final String CORPUS = """
            The quick brown fox jumps over the lazy dog. The dog doesn't mind; it's used to the fox by now.
            She said: "We'll be there at 10:30, and we're bringing 3 cakes." They've heard that before!
            In 2023 the team trained 12 models, then 24 more in 2024; the best one reached 98.7% accuracy.
            Reinforcement learning from human feedback trains a reward model on human preferences, then
            optimizes the policy against the reward with PPO, while a KL penalty keeps it near the reference.
            Direct preference optimization skips the reward model: the policy itself is the reward model.
                def forward(self, x):
                    return self.linear(x) + self.bias  # the the the
            I'm sure you'd agree: there's nothing like a well-tokenized sentence... or is there???
            Le café est très bon, n'est-ce pas ? Ça coûte 3,50 €. Größe, Straße, naïve façade.
            日本語のテキストも少しあります。中文也有一点。 Emoji too: 😀 👍🏽 🚀!!
            the the the the and and and of of of to to to in in in is is is that that that it it it
            """;
}
