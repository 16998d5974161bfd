package org.rlhf4j.rl.tasks;

import org.rlhf4j.rl.data.PreferenceRecord;

/** Two completions of one prompt, ordered by their ground-truth rewards: {@code chosenReward > rejectedReward}. */
public record PreferencePair(String prompt, String chosen, String rejected, double chosenReward, double rejectedReward) {
    public PreferencePair {
        if (!(chosenReward > rejectedReward)) {
            throw new IllegalArgumentException("PreferencePair: chosen reward " + chosenReward
                    + " must exceed rejected reward " + rejectedReward);
        }
    }

    /** The pair as a dataset record ({@code {"prompt", "chosen", "rejected"}}), without the rewards. */
    public PreferenceRecord toRecord() {
        return new PreferenceRecord(prompt, chosen, rejected);
    }
}
