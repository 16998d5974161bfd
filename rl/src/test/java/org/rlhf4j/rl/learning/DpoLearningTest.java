package org.rlhf4j.rl.learning;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rlhf4j.rl.dpo.DpoConfig;
import org.rlhf4j.rl.dpo.DpoTrainer;
import org.rlhf4j.transformer.gpt.Gpt;

/**
 * DPO from the SFT model on the sentiment pairs: rewards/accuracies reaches 0.9, and the mean ground-truth
 * reward of sampled completions rises clearly above the SFT model's.
 */
class DpoLearningTest {
    @Test
    void dpoLearnsThePreferences() {
        Gpt sft = SentimentFixture.sftModel();
        Gpt policy = SentimentFixture.copy(sft);
        DpoConfig config = DpoConfig.defaults().withLearningRate(5e-4).withBatchSize(32).withMaxSteps(300).withLoggingSteps(10);
        DpoTrainer trainer = new DpoTrainer(policy, sft, config, SentimentFixture.tokenized(SentimentFixture.pairs()),
                SentimentFixture.PAD);
        List<Map<String, Object>> log = new ArrayList<>();
        trainer.train(log::add);

        List<String> prompts = SentimentFixture.TASK.prompts(300, 999);
        double sftReward = SentimentFixture.meanGroundTruth(sft, prompts, 4242);
        double dpoReward = SentimentFixture.meanGroundTruth(policy, prompts, 4242);
        double accuracy = 0;
        int n = Math.min(5, log.size());
        for (int i = log.size() - n; i < log.size(); i++) accuracy += ((Number) log.get(i).get("rewards/accuracies")).doubleValue();
        accuracy /= n;
        System.out.println("DPO: rewards/accuracies " + accuracy + ", mean ground-truth reward SFT " + sftReward + " -> DPO " + dpoReward);
        assertTrue(accuracy >= 0.9, "rewards/accuracies over the last logs " + accuracy + "; last " + log.get(log.size() - 1));
        assertTrue(dpoReward > sftReward + 0.2, "mean ground-truth reward SFT " + sftReward + " -> DPO " + dpoReward);
    }
}
