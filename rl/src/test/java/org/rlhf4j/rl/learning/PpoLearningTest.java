package org.rlhf4j.rl.learning;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rlhf4j.rl.ppo.PpoConfig;
import org.rlhf4j.rl.ppo.PpoTrainer;
import org.rlhf4j.rl.reward.RewardModel;
import org.rlhf4j.transformer.gpt.Gpt;

/**
 * PPO with the learned reward model raises the mean ground-truth sentiment reward of sampled completions clearly
 * over the SFT model's, while the mean sequence KL to the reference (the SFT model) stays bounded.
 */
class PpoLearningTest {
    static final int ITERATIONS = 30, BATCH = 32;

    @Test
    void ppoRaisesTheGroundTruthRewardWithBoundedKl() {
        Gpt sft = SentimentFixture.sftModel();
        RewardModel rm = SentimentFixture.rewardModel();
        Gpt policy = SentimentFixture.copy(sft);
        RewardModel value = rm.copy();
        PpoConfig config = PpoConfig.defaults().with(3e-4, BATCH, 2, SentimentFixture.MAX_NEW).withTemperature(1.0)
                .withKl(0.3, "k1", false);
        PpoTrainer trainer = new PpoTrainer(policy, sft, value, PpoTrainer.rewardModelScorer(rm), config,
                SentimentFixture.EOS, SentimentFixture.PAD);
        List<String> prompts = SentimentFixture.TASK.prompts(ITERATIONS * BATCH, 123);
        List<Map<String, Object>> log = new ArrayList<>();
        for (int it = 0; it < ITERATIONS; it++) {
            int[][] batch = new int[BATCH][];
            for (int i = 0; i < BATCH; i++) batch[i] = SentimentFixture.TOK.encode(prompts.get(it * BATCH + i));
            log.add(trainer.trainStep(batch));
        }
        List<String> evalPrompts = SentimentFixture.TASK.prompts(300, 999);
        double sftReward = SentimentFixture.meanGroundTruth(sft, evalPrompts, 4242);
        double ppoReward = SentimentFixture.meanGroundTruth(policy, evalPrompts, 4242);
        double[] kl = new double[log.size()];
        for (int i = 0; i < kl.length; i++) kl[i] = ((Number) log.get(i).get("objective/kl")).doubleValue();
        double middle = mean(kl, 10, 20), last = mean(kl, kl.length - 10, kl.length);
        System.out.println("PPO: mean ground-truth reward SFT " + sftReward + " -> PPO " + ppoReward + "; objective/kl by"
                + " iteration " + java.util.Arrays.toString(kl) + "; last metrics " + log.get(log.size() - 1));
        assertTrue(ppoReward > sftReward + 0.2, "mean ground-truth reward SFT " + sftReward + " -> PPO " + ppoReward
                + "; last metrics " + log.get(log.size() - 1));
        // bounded: the sequence KL to the reference levels off (the KL penalty balances the reward) instead of growing
        assertTrue(last < 12, "mean sequence KL over the last 10 iterations " + last);
        assertTrue(last < 1.5 * middle, "sequence KL still growing: " + middle + " at iterations 10-19, " + last + " at the end");
    }

    private static double mean(double[] x, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) s += x[i];
        return s / (to - from);
    }
}
