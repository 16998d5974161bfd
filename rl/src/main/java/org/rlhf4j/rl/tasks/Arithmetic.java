package org.rlhf4j.rl.tasks;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Two-operand arithmetic with an exact answer, for GRPO: prompts like {@code "17+25="}, completions like
 * {@code "42"} (the SFT trainer appends EOS). Operands are drawn uniformly from {@code [0, maxOperand]}; with
 * {@code subtraction}, half the prompts subtract, the larger operand first, so every answer is non-negative.
 *
 * <p>The reward is 1 when the completion's answer equals the exact answer written in canonical decimal, else 0.
 * The completion's answer is its leading number: leading whitespace is skipped, then an optional {@code '-'}
 * and the digits up to the first non-digit (a newline, a period, an end-of-text marker, the end).
 * {@code "42"}, {@code " 42\n"} and {@code "42 is it"} earn 1 for {@code "17+25="}; {@code "042"},
 * {@code "4 2"}, {@code "forty-two"} and {@code ""} earn 0.
 *
 * @param maxOperand  largest operand, 1 to 9999 (default 49)
 * @param subtraction also generate {@code a-b=} prompts (default false: only {@code +})
 */
public record Arithmetic(int maxOperand, boolean subtraction) implements Task {
    /** The fraction of right answers in {@link #sftCorpus(int, long)}. */
    public static final double DEFAULT_CORRECT_FRACTION = 0.5;

    private static final Pattern PROMPT = Pattern.compile("\\s*(\\d{1,9})\\s*([+-])\\s*(\\d{1,9})\\s*=\\s*");
    /** Offsets of a near miss from the right answer: off by one or two, or by ten (a carry error). */
    private static final int[] NEAR_MISSES = {-10, -2, -1, 1, 2, 10};

    public Arithmetic {
        if (maxOperand < 1 || maxOperand > 9999) {
            throw new IllegalArgumentException("Arithmetic: maxOperand must be in [1, 9999], found " + maxOperand);
        }
    }

    /** Operands 0..49, addition only. */
    public Arithmetic() {
        this(49, false);
    }

    /** The exact answer of a prompt {@code "a+b="} or {@code "a-b="} (spaces allowed around the parts). */
    public int answer(String prompt) {
        Matcher m = PROMPT.matcher(prompt);
        if (!m.matches()) {
            throw new IllegalArgumentException("Arithmetic: prompt \"" + prompt + "\" is not of the form a+b= or a-b=");
        }
        int a = Integer.parseInt(m.group(1)), b = Integer.parseInt(m.group(3));
        return m.group(2).equals("+") ? a + b : a - b;
    }

    /** 1.0 when the completion's leading number is the exact answer, else 0.0. */
    @Override
    public double reward(String prompt, String completion) {
        return leadingNumber(completion).equals(Integer.toString(answer(prompt))) ? 1.0 : 0.0;
    }

    /** Leading whitespace skipped, then an optional '-' and the digits up to the first non-digit; "" if none. */
    static String leadingNumber(String completion) {
        int n = completion.length(), i = 0;
        while (i < n && Character.isWhitespace(completion.charAt(i))) i++;
        int start = i;
        if (i < n && completion.charAt(i) == '-') i++;
        int digits = i;
        while (i < n && completion.charAt(i) >= '0' && completion.charAt(i) <= '9') i++;
        return i == digits ? "" : completion.substring(start, i);
    }

    @Override
    public List<String> prompts(int n, long seed) {
        checkCount(n);
        Random random = new Random(seed);
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(prompt(random));
        return out;
    }

    private String prompt(Random random) {
        int a = random.nextInt(maxOperand + 1), b = random.nextInt(maxOperand + 1);
        if (subtraction && random.nextBoolean()) return Math.max(a, b) + "-" + Math.min(a, b) + "=";
        return a + "+" + b + "=";
    }

    /** {@link #sftCorpus(int, long, double)} with {@link #DEFAULT_CORRECT_FRACTION}. */
    @Override
    public List<String[]> sftCorpus(int n, long seed) {
        return sftCorpus(n, seed, DEFAULT_CORRECT_FRACTION);
    }

    /**
     * {prompt, answer} pairs that teach the format; {@code round(n * correctFraction)} answers are right (at
     * places chosen by the seed) and the rest are near misses, non-negative and never right, so that a model
     * fine-tuned on them gets some answers right and leaves GRPO something to improve.
     */
    public List<String[]> sftCorpus(int n, long seed, double correctFraction) {
        checkCount(n);
        if (!(correctFraction >= 0 && correctFraction <= 1)) {
            throw new IllegalArgumentException("Arithmetic: correctFraction must be in [0, 1], found " + correctFraction);
        }
        Random random = new Random(seed);
        int correct = (int) Math.round(n * correctFraction);
        boolean[] right = new boolean[n];
        for (int i = 0; i < correct; i++) right[i] = true;
        for (int i = n - 1; i > 0; i--) { // Fisher-Yates: which examples are right
            int j = random.nextInt(i + 1);
            boolean t = right[i];
            right[i] = right[j];
            right[j] = t;
        }
        List<String[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String prompt = prompt(random);
            int answer = answer(prompt);
            if (!right[i]) {
                int wrong;
                do wrong = answer + NEAR_MISSES[random.nextInt(NEAR_MISSES.length)]; while (wrong < 0);
                answer = wrong;
            }
            out.add(new String[] {prompt, Integer.toString(answer)});
        }
        return out;
    }

    private static void checkCount(int n) {
        if (n < 0) throw new IllegalArgumentException("Arithmetic: n must be >= 0, found " + n);
    }
}
