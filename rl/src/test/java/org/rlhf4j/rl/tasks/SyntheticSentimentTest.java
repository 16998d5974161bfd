package org.rlhf4j.rl.tasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.gpt.SamplingConfig;
import org.rlhf4j.transformer.tokenizer.ByteTokenizer;

class SyntheticSentimentTest {
    private final SyntheticSentiment task = new SyntheticSentiment();

    @Test
    void rewardIsTanhOfHalfTheLexiconSumOnHandWrittenSentences() {
        // great +2, wonderful +2: S = 4, tanh(2)
        assertEquals(0.9640275800758169, task.reward("great and the acting was wonderful."), 1e-15);
        // boring -1: S = -1, tanh(-0.5)
        assertEquals(-0.46211715726000974, task.reward(" boring."), 1e-15);
        // Great +2, DULL -1 (case-insensitive): S = 1, tanh(0.5)
        assertEquals(0.46211715726000974, task.reward("Great, but the plot was DULL."), 1e-15);
        // hated -2, awful -2 twice (every occurrence counts): S = -6, tanh(-3)
        assertEquals(-0.9950547536867305, task.reward("I hated it. awful, awful!"), 1e-15);
        // enjoyed +1, nice +1, terrible -2: S = 0
        assertEquals(0.0, task.reward("I enjoyed the nice room; terrible bed."));
        // no lexicon word: S = 0
        assertEquals(0.0, task.reward("the movie was okay."));
        assertEquals(0.0, task.reward(""));
    }

    @Test
    void onlyWholeWordsCount() {
        // greatly, ungood, badminton, nice2, funny, greaté are words of their own, not lexicon words
        assertEquals(0, SyntheticSentiment.lexiconScore("greatly ungood badminton nice2 funny great\u00e9"));
        // punctuation, hyphens and apostrophes separate words: good +1, great +2, bad -1
        assertEquals(2, SyntheticSentiment.lexiconScore("good-natured, great's (bad)"));
    }

    @Test
    void rewardOfAPromptAndCompletionScoresOnlyTheCompletion() {
        assertEquals(Math.tanh(1.0), task.reward("Review: awful awful awful", " great."), 1e-15);
    }

    @Test
    void lexiconHasAboutTwentyWordsOfEachSignWithWeightsOneOrTwo() {
        Map<String, Integer> lexicon = SyntheticSentiment.lexicon();
        long positive = lexicon.values().stream().filter(w -> w > 0).count();
        long negative = lexicon.values().stream().filter(w -> w < 0).count();
        assertEquals(20, positive);
        assertEquals(20, negative);
        for (var e : lexicon.entrySet()) {
            assertTrue(Math.abs(e.getValue()) == 1 || Math.abs(e.getValue()) == 2, e.toString());
            assertEquals(e.getKey().toLowerCase(), e.getKey());
        }
        assertThrows(UnsupportedOperationException.class, () -> lexicon.put("meh", 0));
    }

    @Test
    void generatorsAreDeterministicPerSeed() {
        assertCorpusEquals(task.sftCorpus(300, 7), task.sftCorpus(300, 7));
        assertEquals(task.prompts(300, 7), task.prompts(300, 7));
        assertNotEquals(task.prompts(300, 7), task.prompts(300, 8));
        List<String> a = new ArrayList<>(), b = new ArrayList<>();
        for (String[] pair : task.sftCorpus(300, 7)) a.add(pair[1]);
        for (String[] pair : task.sftCorpus(300, 8)) b.add(pair[1]);
        assertNotEquals(a, b);
    }

    private static void assertCorpusEquals(List<String[]> expected, List<String[]> actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) assertArrayEquals(expected.get(i), actual.get(i), "pair " + i);
    }

    @Test
    void sftCorpusHasMixedSentiment() {
        List<String[]> corpus = task.sftCorpus(2000, 3);
        int positive = 0, negative = 0;
        for (String[] pair : corpus) {
            double r = task.reward(pair[0], pair[1]);
            if (r > 0) positive++;
            if (r < 0) negative++;
        }
        // each sign about 47%: the first sentiment word is positive or negative with equal odds
        assertTrue(positive > 0.4 * corpus.size() && positive < 0.55 * corpus.size(), "positive " + positive);
        assertTrue(negative > 0.4 * corpus.size() && negative < 0.55 * corpus.size(), "negative " + negative);
    }

    @Test
    void everyTextFitsTheByteBudgetAndPromptsCarryNoSentiment() {
        List<String[]> corpus = task.sftCorpus(2000, 11);
        List<String> prompts = new ArrayList<>(task.prompts(500, 11));
        for (String[] pair : corpus) {
            prompts.add(pair[0]);
            String completion = pair[1];
            assertTrue(SyntheticSentiment.utf8Length(completion) <= SyntheticSentiment.MAX_COMPLETION_BYTES, completion);
            assertTrue(completion.startsWith(" ") && completion.endsWith("."), completion);
            assertTrue(hasLexiconWord(completion), "a completion without sentiment words: " + completion);
        }
        for (String prompt : prompts) {
            assertTrue(SyntheticSentiment.utf8Length(prompt) <= SyntheticSentiment.MAX_PROMPT_BYTES, prompt);
            assertTrue(prompt.startsWith("Review: "), prompt);
            assertEquals(0, SyntheticSentiment.lexiconScore(prompt), prompt);
        }
    }

    private static boolean hasLexiconWord(String text) {
        for (String word : text.toLowerCase().split("[^a-z]+")) {
            if (SyntheticSentiment.lexicon().containsKey(word)) return true;
        }
        return false;
    }

    @Test
    void preferencePairsPreferTheHigherGroundTruthAndSkipTies() {
        List<String> prompts = List.of("Review: the movie was", "Review: the food was", "Review: this book is");
        List<List<String>> calls = new ArrayList<>();
        // two samples per prompt: (great > boring), (dull -1 > awful -2), (okay = fine = 0: a tie)
        List<PreferencePair> pairs = SyntheticSentiment.preferencePairs(prompts, batch -> {
            calls.add(batch);
            return List.of(" great.", " boring.", " awful.", " dull.", " okay.", " fine.");
        });
        assertEquals(List.of(List.of(prompts.get(0), prompts.get(0), prompts.get(1), prompts.get(1), prompts.get(2), prompts.get(2))),
                calls);
        assertEquals(List.of(
                new PreferencePair(prompts.get(0), " great.", " boring.", Math.tanh(1.0), Math.tanh(-0.5)),
                new PreferencePair(prompts.get(1), " dull.", " awful.", Math.tanh(-0.5), Math.tanh(-1.0))), pairs);
        assertEquals(" great.", pairs.get(0).toRecord().chosen());
    }

    @Test
    void preferencePairsRejectASamplerThatDropsCompletions() {
        assertThrows(IllegalStateException.class,
                () -> SyntheticSentiment.preferencePairs(List.of("a", "b"), batch -> List.of(" x.", " y.", " z.")));
    }

    @Test
    void preferencePairsFromAModelAreSeededPerRowNotPerBatch() {
        var tokenizer = new ByteTokenizer();
        Gpt model = new Gpt(new Gpt.Config(tokenizer.vocabSize(), 40, 1, 2, 8, 1e-5, 0.0), DType.F32, new Generator(5));
        SamplingConfig config = SamplingConfig.sample(8, tokenizer.eosId(), tokenizer.padId().orElse(tokenizer.eosId()), 99);
        List<String> prompts = task.prompts(3, 1);
        List<String> doubled = new ArrayList<>();
        for (String p : prompts) {
            doubled.add(p);
            doubled.add(p);
        }
        List<String> whole = new TextSampler(model, tokenizer, config).apply(doubled);
        List<String> inTwos = new TextSampler(model, tokenizer, config, 4).apply(doubled);
        assertEquals(whole, inTwos);
        assertEquals(6, whole.size());
        assertFalse(whole.get(0).equals(whole.get(1)) && whole.get(2).equals(whole.get(3)),
                "a prompt listed twice should get independent samples");

        List<PreferencePair> pairs = SyntheticSentiment.preferencePairs(prompts, model, tokenizer, config);
        int next = 0;
        for (int i = 0; i < prompts.size(); i++) {
            String a = whole.get(2 * i), b = whole.get(2 * i + 1);
            if (task.reward(a) == task.reward(b)) continue;
            PreferencePair pair = pairs.get(next++);
            assertEquals(prompts.get(i), pair.prompt());
            assertEquals(task.reward(a) > task.reward(b) ? a : b, pair.chosen());
        }
        assertEquals(next, pairs.size());
    }

    @Test
    void negativeCountsFail() {
        assertThrows(IllegalArgumentException.class, () -> task.prompts(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> task.sftCorpus(-1, 0));
        assertEquals(List.of(), task.prompts(0, 0));
    }
}
