package org.rlhf4j.rl.data;

import java.util.Objects;

/** One prompt for online RL (PPO, GRPO), TRL's prompt-only layout {@code {"prompt"}}. Never empty. */
public record PromptRecord(String prompt) {
    public PromptRecord {
        Objects.requireNonNull(prompt, "PromptRecord: prompt is null");
        if (prompt.isEmpty()) throw new IllegalArgumentException("PromptRecord: prompt is empty");
    }
}
