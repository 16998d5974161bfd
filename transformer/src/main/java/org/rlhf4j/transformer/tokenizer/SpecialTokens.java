package org.rlhf4j.transformer.tokenizer;

import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.function.ToIntFunction;

/** Special tokens with their ids, and the splitting of text at their literal occurrences. */
final class SpecialTokens {
    /** Receives the pieces of a text in order. */
    interface Sink {
        /** Ordinary text {@code text[from, to)}, never empty. */
        void text(String text, int from, int to);

        void special(int id);
    }

    private final String[] texts;
    private final int[] ids;
    private final Map<String, Integer> idsByText; // in id order
    private final Map<Integer, String> textsById;
    private final int eosId;
    private final OptionalInt padId;

    /** {@code idOf} gives each of {@code config.tokens()} its id. */
    SpecialTokens(SpecialTokensConfig config, ToIntFunction<String> idOf) {
        int k = config.tokens().size();
        texts = config.tokens().toArray(new String[0]);
        ids = new int[k];
        textsById = new HashMap<>();
        for (int i = 0; i < k; i++) {
            ids[i] = idOf.applyAsInt(texts[i]);
            textsById.put(ids[i], texts[i]);
        }
        var byId = new TreeMap<>(textsById);
        var ordered = new LinkedHashMap<String, Integer>();
        byId.forEach((id, text) -> ordered.put(text, id));
        idsByText = Collections.unmodifiableMap(ordered);
        eosId = idsByText.get(config.eosToken());
        padId = config.padToken() == null ? OptionalInt.empty() : OptionalInt.of(idsByText.get(config.padToken()));
    }

    Map<String, Integer> byText() {
        return idsByText;
    }

    /** The literal text of special token {@code id}, or null if {@code id} is not special. */
    String textOf(int id) {
        return textsById.get(id);
    }

    boolean isSpecial(int id) {
        return textsById.containsKey(id);
    }

    int eosId() {
        return eosId;
    }

    OptionalInt padId() {
        return padId;
    }

    /**
     * Splits {@code text} at every literal special token: the earliest occurrence wins, and of tokens that start
     * at the same index, the longest.
     */
    void split(String text, Sink sink) {
        int k = texts.length;
        int[] next = new int[k]; // next occurrence of each token at or after `pos`, or -1 if none is left
        for (int i = 0; i < k; i++) next[i] = text.indexOf(texts[i]);
        int pos = 0;
        while (true) {
            int best = -1;
            for (int i = 0; i < k; i++) {
                if (next[i] >= 0 && next[i] < pos) next[i] = text.indexOf(texts[i], pos);
                if (next[i] < 0) continue;
                if (best < 0 || next[i] < next[best] || next[i] == next[best] && texts[i].length() > texts[best].length()) best = i;
            }
            if (best < 0) break;
            int start = next[best];
            if (start > pos) sink.text(text, pos, start);
            sink.special(ids[best]);
            pos = start + texts[best].length();
        }
        if (pos < text.length()) sink.text(text, pos, text.length());
    }
}
