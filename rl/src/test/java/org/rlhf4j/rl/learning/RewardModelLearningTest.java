package org.rlhf4j.rl.learning;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A Bradley-Terry reward model on the SFT trunk learns the sentiment preferences: held-out accuracy >= 0.9. */
class RewardModelLearningTest {
    @Test
    void heldOutAccuracyReachesNinetyPercent() {
        double accuracy = SentimentFixture.rewardModelHeldOutAccuracy();
        int pairs = SentimentFixture.pairs().size();
        System.out.println("reward model: held-out accuracy " + accuracy + " on " + (pairs - pairs * 4 / 5) + " of " + pairs + " pairs");
        assertTrue(accuracy >= 0.9, "held-out accuracy " + accuracy + " on " + (pairs - pairs * 4 / 5) + " pairs");
    }
}
