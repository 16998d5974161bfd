package org.rlhf4j.transformer.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BpeMergesTest {

    @Test
    void mergesLowestRankFirstAndAllOccurrencesLeftToRightWithoutOverlap() {
        // Symbols 0 = a, 1 = b. Rank 0: a a -> 2 (aa); rank 1: aa aa -> 3 (aaaa); rank 2: a b -> 4 (ab).
        var merges = new BpeMerges(new int[] {0, 2, 0}, new int[] {0, 2, 1}, new int[] {2, 3, 4});
        assertArrayEquals(new int[] {2, 0}, merges.apply(new int[] {0, 0, 0}));        // aaa -> aa a
        assertArrayEquals(new int[] {3}, merges.apply(new int[] {0, 0, 0, 0}));        // aaaa -> aa aa -> aaaa
        assertArrayEquals(new int[] {3, 4}, merges.apply(new int[] {0, 0, 0, 0, 0, 1})); // aaaaab -> aa aa ab -> aaaa ab
        // aab: "a a" (rank 0) beats "a b" (rank 2) although "a b" is to the right: aa b.
        assertArrayEquals(new int[] {2, 1}, merges.apply(new int[] {0, 0, 1}));
        assertArrayEquals(new int[] {1}, merges.apply(new int[] {1}));
        assertArrayEquals(new int[] {}, merges.apply(new int[] {}));
    }

    @Test
    void agreesWithGpt2sLoopOnRandomTablesIncludingOutOfOrderRanks() {
        var random = new Random(11);
        String[] letters = {"a", "b", "c"};
        for (int table = 0; table < 120; table++) {
            // Merges over strings: each new pair of existing symbols yields their concatenation.
            var symbols = new ArrayList<>(List.of(letters));
            var pairs = new ArrayList<List<String>>();
            for (int k = 0; k < 14; k++) {
                var pair = List.of(symbols.get(random.nextInt(symbols.size())), symbols.get(random.nextInt(symbols.size())));
                if (pairs.contains(pair)) continue;
                pairs.add(pair);
                if (!symbols.contains(pair.get(0) + pair.get(1))) symbols.add(pair.get(0) + pair.get(1));
            }
            // Half the tables keep creation order (as trained BPE does); half get ranks in random order.
            if (random.nextBoolean()) Collections.shuffle(pairs, random);

            var ids = new HashMap<String, Integer>();
            for (String s : symbols) ids.put(s, ids.size());
            var ranks = new HashMap<List<String>, Integer>();
            int[] left = new int[pairs.size()], right = new int[pairs.size()], result = new int[pairs.size()];
            for (int r = 0; r < pairs.size(); r++) {
                var pair = pairs.get(r);
                ranks.put(pair, r);
                left[r] = ids.get(pair.get(0));
                right[r] = ids.get(pair.get(1));
                result[r] = ids.get(pair.get(0) + pair.get(1));
            }
            var merges = new BpeMerges(left, right, result);

            for (int w = 0; w < 30; w++) {
                var word = new ArrayList<String>();
                for (int i = random.nextInt(30); i > 0; i--) word.add(letters[random.nextInt(letters.length)]);
                List<String> expected = TinyBpeTrainer.referenceBpe(word, ranks);
                int[] got = merges.apply(word.stream().mapToInt(ids::get).toArray());
                var gotStrings = new ArrayList<String>();
                for (int id : got) gotStrings.add(symbols.get(id));
                assertEquals(expected, gotStrings, () -> "word " + word + " with merges " + pairs);
            }
        }
    }

    @Test
    void aLongWordMergesInLessThanQuadraticTime() {
        // Rank 0: a a -> aa; rank 1: aa aa -> aaaa. 200000 a's are one pre-token; GPT-2's loop would rescan the
        // word after each of its merges, about 10^10 steps.
        var merges = new BpeMerges(new int[] {0, 1}, new int[] {0, 1}, new int[] {1, 2});
        int[] word = new int[200_000];
        int[] expected = new int[50_000];
        Arrays.fill(expected, 2);
        int[] got = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> merges.apply(word));
        assertArrayEquals(expected, got);
    }

    @Test
    void rejectsRepeatedPairsAndMergesThatGiveBackAPart() {
        assertThrows(IllegalArgumentException.class, () -> new BpeMerges(new int[] {0, 0}, new int[] {1, 1}, new int[] {2, 3}));
        assertThrows(IllegalArgumentException.class, () -> new BpeMerges(new int[] {0}, new int[] {1}, new int[] {0}));
    }
}
