package org.rlhf4j.rl.data;

import java.util.Objects;

/**
 * One preference, in TRL's standard layout with an explicit prompt: {@code {"prompt", "chosen", "rejected"}}.
 * The chosen and rejected texts are completions of the prompt (they do not repeat it).
 */
public record PreferenceRecord(String prompt, String chosen, String rejected) {
    public PreferenceRecord {
        Objects.requireNonNull(prompt, "PreferenceRecord: prompt is null");
        Objects.requireNonNull(chosen, "PreferenceRecord: chosen is null");
        Objects.requireNonNull(rejected, "PreferenceRecord: rejected is null");
    }
}
