package org.rlhf4j.rl.tasks;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.gpt.SamplingConfig;
import org.rlhf4j.transformer.tokenizer.Tokenizer;

/**
 * Controlled sentiment generation, as in the DPO paper's IMDb experiment, with a ground truth instead of a
 * sentiment classifier: review openings ({@code "Review: the movie was"}) are continued by a policy, and the
 * continuation is scored by a fixed lexicon of sentiment words. The policy should learn to write positive
 * reviews; the SFT corpus is deliberately of mixed sentiment, so that the SFT model starts near neutral.
 *
 * <p>The reward of a text is {@code tanh(S / 2)}, in (-1, 1), where {@code S} is the sum of the lexicon weights
 * of its words. A word is a maximal run of letters and digits, compared case-insensitively; every occurrence
 * counts, words outside the lexicon weigh 0, and there is no negation ("not good" scores as "good"), so the
 * reward is a plain function of the words a policy chooses. {@code tanh(S / 2)}: one mild word gives 0.46, one
 * strong word 0.76, two strong words 0.96, so a reward near 1 needs several positive words and no negative one.
 *
 * <p>Texts fit a small byte-level model: prompts are at most {@value #MAX_PROMPT_BYTES} UTF-8 bytes and
 * completions at most {@value #MAX_COMPLETION_BYTES}; a completion starts with a space and ends with a period.
 */
public final class SyntheticSentiment implements Task {
    public static final int MAX_PROMPT_BYTES = 25;
    public static final int MAX_COMPLETION_BYTES = 40;

    private static final Map<String, Integer> LEXICON = new LinkedHashMap<>();
    private static final List<String> POSITIVE_ADJECTIVES = new ArrayList<>(), NEGATIVE_ADJECTIVES = new ArrayList<>();
    private static final List<String> POSITIVE_VERBS = List.of("loved", "enjoyed"), NEGATIVE_VERBS = List.of("hated", "disliked");

    static {
        for (String w : List.of("great", "wonderful", "amazing", "excellent", "brilliant", "superb", "fantastic",
                "perfect", "delightful")) positive(w, 2);
        for (String w : List.of("good", "nice", "fun", "enjoyable", "pleasant", "charming", "lovely", "solid",
                "clever")) positive(w, 1);
        for (String w : List.of("awful", "terrible", "horrible", "dreadful", "pathetic", "painful", "unbearable",
                "dismal", "disgusting")) negative(w, -2);
        for (String w : List.of("bad", "boring", "dull", "bland", "weak", "poor", "slow", "messy", "silly")) negative(w, -1);
        LEXICON.put("loved", 2);
        LEXICON.put("enjoyed", 1);
        LEXICON.put("hated", -2);
        LEXICON.put("disliked", -1);
    }

    private static void positive(String word, int weight) {
        LEXICON.put(word, weight);
        POSITIVE_ADJECTIVES.add(word);
    }

    private static void negative(String word, int weight) {
        LEXICON.put(word, weight);
        NEGATIVE_ADJECTIVES.add(word);
    }

    /** Subjects and the aspects a review of each talks about; none of these words is in the lexicon. */
    private static final String[] SUBJECTS = {"the movie", "the film", "the food", "the cafe", "this book",
            "the hotel", "the game", "the show", "the album"};
    private static final String[][] ASPECTS = {
            {"acting", "plot", "ending", "music", "cast"},
            {"acting", "plot", "ending", "music", "cast"},
            {"service", "soup", "bread", "staff", "dessert"},
            {"service", "coffee", "staff", "cake", "music"},
            {"story", "ending", "writing", "hero"},
            {"room", "staff", "view", "bed", "pool"},
            {"levels", "music", "story", "controls"},
            {"cast", "jokes", "music", "host"},
            {"songs", "lyrics", "vocals", "sound"}};
    private static final String[] LINKING_VERBS = {"was", "felt", "is"};
    private static final String[] INTENSIFIERS = {"really", "quite", "very", "so", "truly"};

    /** The lexicon: word to weight, +1/+2 positive, -1/-2 negative (a read-only view). */
    public static Map<String, Integer> lexicon() {
        return Collections.unmodifiableMap(LEXICON);
    }

    /** {@code S}: the sum of the lexicon weights of the words of {@code text}. */
    public static int lexiconScore(String text) {
        int sum = 0;
        int i = 0, n = text.length();
        while (i < n) {
            int c = text.codePointAt(i);
            if (!Character.isLetterOrDigit(c)) {
                i += Character.charCount(c);
                continue;
            }
            int start = i;
            while (i < n && Character.isLetterOrDigit(c = text.codePointAt(i))) i += Character.charCount(c);
            Integer weight = LEXICON.get(text.substring(start, i).toLowerCase(Locale.ROOT));
            if (weight != null) sum += weight;
        }
        return sum;
    }

    /** The ground truth: {@code tanh(lexiconScore(text) / 2)}. */
    public double reward(String text) {
        return groundTruth(text);
    }

    private static double groundTruth(String text) {
        return Math.tanh(lexiconScore(text) / 2.0);
    }

    /** Only the completion is scored. */
    @Override
    public double reward(String prompt, String completion) {
        return groundTruth(completion);
    }

    @Override
    public List<String> prompts(int n, long seed) {
        checkCount(n);
        Random random = new Random(seed);
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(prompt(random, random.nextInt(SUBJECTS.length)));
        return out;
    }

    /**
     * Review openings and continuations of mixed sentiment: the first sentiment word of each completion is
     * positive or negative with equal odds, and some templates turn ("..., but the plot was dull."), so the
     * rewards of the corpus spread over both signs.
     */
    @Override
    public List<String[]> sftCorpus(int n, long seed) {
        checkCount(n);
        Random random = new Random(seed);
        List<String[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int subject = random.nextInt(SUBJECTS.length);
            String prompt = prompt(random, subject);
            String completion;
            do {
                completion = completion(random, ASPECTS[subject]);
            } while (utf8Length(completion) > MAX_COMPLETION_BYTES);
            out.add(new String[] {prompt, completion});
        }
        return out;
    }

    private static String prompt(Random random, int subject) {
        return "Review: " + SUBJECTS[subject] + " " + pick(random, LINKING_VERBS);
    }

    private static String completion(Random random, String[] aspects) {
        boolean positive = random.nextBoolean();
        String x = adjective(random, positive);
        String aspect = pick(random, aspects);
        switch (random.nextInt(8)) {
            case 0: return " " + x + " and the " + aspect + " was " + adjective(random, positive) + ".";
            case 1: return " " + x + ", but the " + aspect + " was " + adjective(random, !positive) + ".";
            case 2: return " " + pick(random, INTENSIFIERS) + " " + x + ". I " + verb(random, positive) + " it.";
            case 3: return " " + x + ". I " + verb(random, positive) + " the " + aspect + ".";
            case 4: {
                String y;
                do y = adjective(random, positive); while (y.equals(x));
                return " " + x + " and " + y + " overall.";
            }
            case 5: return " just okay. The " + aspect + " was " + x + ".";
            case 6: return " " + pick(random, INTENSIFIERS) + " " + x + ", and the " + aspect + " felt "
                    + adjective(random, positive) + ".";
            default: return " " + x + "; the " + aspect + " was " + pick(random, INTENSIFIERS) + " "
                    + adjective(random, positive) + ".";
        }
    }

    private static String adjective(Random random, boolean positive) {
        List<String> words = positive ? POSITIVE_ADJECTIVES : NEGATIVE_ADJECTIVES;
        return words.get(random.nextInt(words.size()));
    }

    private static String verb(Random random, boolean positive) {
        List<String> words = positive ? POSITIVE_VERBS : NEGATIVE_VERBS;
        return words.get(random.nextInt(words.size()));
    }

    private static String pick(Random random, String[] words) {
        return words[random.nextInt(words.length)];
    }

    static int utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    private static void checkCount(int n) {
        if (n < 0) throw new IllegalArgumentException("SyntheticSentiment: n must be >= 0, found " + n);
    }

    /**
     * Preference pairs as in the DPO paper's controlled-sentiment setup: for each prompt, two completions are
     * sampled from the policy, scored with the ground truth, and the higher one is chosen; ties (equal rewards,
     * identical texts included) are skipped, so there may be fewer pairs than prompts. The sampler is called
     * once, with every prompt listed twice in a row ({@code p0, p0, p1, p1, ...}), and must return one completion
     * per entry, sampled independently.
     */
    public static List<PreferencePair> preferencePairs(List<String> prompts, Function<List<String>, List<String>> sampler) {
        List<String> doubled = new ArrayList<>(2 * prompts.size());
        for (String p : prompts) {
            doubled.add(p);
            doubled.add(p);
        }
        List<String> completions = sampler.apply(doubled);
        if (completions.size() != doubled.size()) {
            throw new IllegalStateException("preferencePairs: the sampler returned " + completions.size()
                    + " completions for " + doubled.size() + " prompts");
        }
        List<PreferencePair> out = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            String a = completions.get(2 * i), b = completions.get(2 * i + 1);
            double ra = groundTruth(a), rb = groundTruth(b);
            if (ra > rb) out.add(new PreferencePair(prompts.get(i), a, b, ra, rb));
            else if (rb > ra) out.add(new PreferencePair(prompts.get(i), b, a, rb, ra));
        }
        return out;
    }

    /** Preference pairs sampled from a model; see {@link TextSampler} for how rows are seeded. */
    public static List<PreferencePair> preferencePairs(List<String> prompts, Gpt model, Tokenizer tokenizer,
                                                       SamplingConfig config) {
        return preferencePairs(prompts, new TextSampler(model, tokenizer, config));
    }

    @Override
    public String toString() {
        return "SyntheticSentiment(lexicon=" + LEXICON.size() + " words, reward=tanh(sum/2))";
    }
}
