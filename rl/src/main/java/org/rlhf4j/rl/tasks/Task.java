package org.rlhf4j.rl.tasks;

import java.util.List;

/**
 * A built-in task with a ground-truth reward, so that every algorithm can show that it learns without a learned
 * reward model: prompts for RL, a supervised corpus to start from, and the reward of a completion.
 */
public interface Task {

    /** {@code n} prompts, the same for the same seed. */
    List<String> prompts(int n, long seed);

    /** {@code n} {prompt, completion} pairs for supervised fine-tuning, the same for the same seed. */
    List<String[]> sftCorpus(int n, long seed);

    /** The ground-truth reward of {@code completion} (the generated text only) as an answer to {@code prompt}. */
    double reward(String prompt, String completion);
}
