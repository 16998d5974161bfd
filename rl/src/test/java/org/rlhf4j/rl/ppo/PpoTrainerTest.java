package org.rlhf4j.rl.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rlhf4j.rl.reward.RewardModel;
import org.rlhf4j.rl.rollout.Rollout;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.gpt.SamplingConfig;

/** PPO trainer invariants on a tiny random model. */
class PpoTrainerTest {
    private static final Gpt.Config TINY = new Gpt.Config(16, 32, 1, 2, 8, 1e-5, 0.0);
    private static final int EOS = 3;

    private static int[][] prompts() {
        return new int[][] {{1, 2}, {4, 5, 6}, {7}, {8, 9}};
    }

    @Test
    void firstMinibatchIsOnPolicy() {
        // one epoch, one mini-batch: the update sees exactly the rollout's policy, so ratio 1, approxkl 0, clipfrac 0
        Gpt policy = new Gpt(TINY, DType.F64, new Generator(1));
        Gpt reference = new Gpt(TINY, DType.F64, new Generator(1));
        RewardModel value = RewardModel.withNewHead(new Gpt(TINY, DType.F64, new Generator(2)), new Generator(3));
        PpoConfig config = PpoConfig.defaults().with(1e-3, 4, 1, 6).withEpochs(1);
        PpoTrainer trainer = new PpoTrainer(policy, reference, value, r -> new double[] {1, -1, 0.5, 0}, config, EOS, EOS);
        Map<String, Object> m = trainer.trainStep(prompts());
        assertEquals(1.0, (Double) m.get("val/ratio"), 1e-12);
        assertEquals(0.0, (Double) m.get("policy/approxkl_avg"), 1e-24);
        assertEquals(0.0, (Double) m.get("policy/clipfrac_avg"), 0.0);
        // the reference is the same network: the sampled tokens' KL is exactly zero, so the scores are the reward
        assertEquals(0.0, (Double) m.get("objective/kl"), 1e-12);
        assertEquals(0.125, (Double) m.get("objective/scores"), 1e-12);
    }

    @Test
    void earlyEndingCompletionsAreMaskedEvenWhenPadEqualsEos() {
        Gpt policy = new Gpt(TINY, DType.F64, new Generator(4));
        // pad == EOS: a row that stopped early is padded with EOS ids, and only its own tokens count
        SamplingConfig sampling = SamplingConfig.sample(8, EOS, EOS, 9);
        Rollout r = Rollout.sample(policy, policy, prompts(), sampling, new long[] {1, 2, 3, 4});
        double[] mask = r.batch().completionMask().toDoubleArray();
        int width = r.batch().ids().size(1) - 1;
        for (int b = 0; b < r.size(); b++) {
            double counted = 0;
            for (int j = 0; j < width; j++) counted += mask[b * width + j];
            assertEquals(r.completions()[b].length, counted, 0.0, "row " + b);
            int last = r.lastTokenIndex()[b];
            assertEquals(1.0, mask[b * width + last], 0.0);
            if (last + 1 < width) assertEquals(0.0, mask[b * width + last + 1], 0.0);
            // a completion stops at its first EOS
            for (int i = 0; i < r.completions()[b].length - 1; i++) assertTrue(r.completions()[b][i] != EOS);
        }
        // log-probs are zero outside the mask
        double[] logp = r.policyLogProbs().toDoubleArray();
        for (int i = 0; i < logp.length; i++) if (mask[i] == 0) assertEquals(0.0, logp[i], 0.0);
    }
}
