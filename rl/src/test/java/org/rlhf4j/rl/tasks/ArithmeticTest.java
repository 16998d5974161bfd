package org.rlhf4j.rl.tasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ArithmeticTest {
    private static final Pattern PROMPT = Pattern.compile("(\\d+)([+-])(\\d+)=");
    private final Arithmetic task = new Arithmetic();

    @Test
    void answersByHand() {
        assertEquals(42, task.answer("17+25="));
        assertEquals(27, task.answer("40-13="));
        assertEquals(-4, task.answer("5-9="));
        assertEquals(7, task.answer(" 3 + 4 = "));
        assertEquals(0, task.answer("0+0="));
        for (String bad : List.of("17*25=", "17+25", "abc", "+25=", "17+25=42", "", "1234567890+1=")) {
            assertThrows(IllegalArgumentException.class, () -> task.answer(bad), bad);
        }
    }

    @Test
    void rewardReadsTheLeadingNumberOfTheCompletion() {
        // 17+25 = 42
        for (String right : List.of("42", " 42\n", "42 is it", "42.", "42<|endoftext|>", "\t42")) {
            assertEquals(1.0, task.reward("17+25=", right), right);
        }
        for (String wrong : List.of("", "041", "042", "4 2", "41", "420", "forty-two", "-42", "x42", " ")) {
            assertEquals(0.0, task.reward("17+25=", wrong), wrong);
        }
        // a negative answer needs its sign
        assertEquals(1.0, task.reward("5-9=", "-4"));
        assertEquals(0.0, task.reward("5-9=", "4"));
        assertEquals(0.0, task.reward("5-9=", "- 4"));
    }

    @Test
    void promptsAreAdditionsOfOperandsUpToTheMaximumByDefault() {
        List<String> prompts = task.prompts(500, 4);
        int max = 0;
        for (String p : prompts) {
            Matcher m = PROMPT.matcher(p);
            assertTrue(m.matches(), p);
            assertEquals("+", m.group(2));
            max = Math.max(max, Math.max(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(3))));
            assertTrue(p.length() <= 6, p);
        }
        assertEquals(49, max);
        assertEquals(prompts, task.prompts(500, 4));
        assertNotEquals(prompts, task.prompts(500, 5));
    }

    @Test
    void subtractionPromptsKeepAnswersNonNegative() {
        Arithmetic both = new Arithmetic(9, true);
        int minus = 0;
        for (String p : both.prompts(400, 2)) {
            Matcher m = PROMPT.matcher(p);
            assertTrue(m.matches(), p);
            assertTrue(Integer.parseInt(m.group(1)) <= 9 && Integer.parseInt(m.group(3)) <= 9, p);
            if (m.group(2).equals("-")) minus++;
            assertTrue(both.answer(p) >= 0, p);
        }
        assertTrue(minus > 150 && minus < 250, "subtractions: " + minus);
        assertThrows(IllegalArgumentException.class, () -> new Arithmetic(0, false));
    }

    @Test
    void sftCorpusHasTheRequestedFractionOfRightAnswersAndNearMissesOtherwise() {
        List<String[]> corpus = task.sftCorpus(200, 9, 0.3);
        int right = 0;
        for (String[] pair : corpus) {
            String completion = pair[1];
            assertTrue(completion.matches("0|[1-9]\\d*"), "canonical digits: " + completion);
            int diff = Integer.parseInt(completion) - task.answer(pair[0]);
            if (diff == 0) {
                right++;
                assertEquals(1.0, task.reward(pair[0], completion));
            } else {
                assertTrue(List.of(1, 2, 10).contains(Math.abs(diff)), pair[0] + completion);
                assertEquals(0.0, task.reward(pair[0], completion));
            }
        }
        assertEquals(60, right);
        assertEquals(0, countRight(task.sftCorpus(50, 1, 0.0)));
        assertEquals(50, countRight(task.sftCorpus(50, 1, 1.0)));
        assertEquals(25, countRight(task.sftCorpus(50, 1)));
        assertThrows(IllegalArgumentException.class, () -> task.sftCorpus(10, 1, 1.5));
        assertThrows(IllegalArgumentException.class, () -> task.sftCorpus(10, 1, Double.NaN));
    }

    private int countRight(List<String[]> corpus) {
        int right = 0;
        for (String[] pair : corpus) right += (int) task.reward(pair[0], pair[1]);
        return right;
    }

    @Test
    void sftCorpusIsDeterministicPerSeed() {
        List<String[]> a = task.sftCorpus(100, 3, 0.5), b = task.sftCorpus(100, 3, 0.5);
        for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i), b.get(i));
        List<String[]> c = task.sftCorpus(100, 4, 0.5);
        boolean differs = false;
        for (int i = 0; i < a.size(); i++) differs |= !a.get(i)[0].equals(c.get(i)[0]);
        assertTrue(differs);
    }
}
