package org.rlhf4j.rl.grpo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rlhf4j.rl.tasks.Arithmetic;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.transformer.gpt.Generation;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.gpt.SamplingConfig;
import org.rlhf4j.transformer.sft.SftConfig;
import org.rlhf4j.transformer.sft.SftExample;
import org.rlhf4j.transformer.sft.SftTrainer;
import org.rlhf4j.transformer.tokenizer.ByteTokenizer;

/**
 * GRPO learns: on single-digit addition, an SFT model taught the format from a corpus where only 40% of the
 * answers are right gets some answers right; GRPO with the exact-match reward raises its sampled accuracy by at
 * least 20 points. (The full task, operands up to 49, runs in the demo and the long profile.)
 */
class GrpoLearningTest {
    private static final ByteTokenizer TOK = new ByteTokenizer();
    private static final Arithmetic TASK = new Arithmetic(9, false);
    private static final int STEPS = 250;

    static Gpt sftModel() {
        List<SftExample> data = new ArrayList<>();
        for (String[] pair : TASK.sftCorpus(600, 1, 0.4)) data.add(new SftExample(TOK.encode(pair[0]), TOK.encode(pair[1])));
        Gpt model = new Gpt(new Gpt.Config(TOK.vocabSize(), 16, 2, 4, 64, 1e-5, 0.0), DType.F32, new Generator(7));
        SftConfig config = SftConfig.defaults().withLearningRate(3e-3).withBatchSize(32).withMaxSteps(400)
                .withLrScheduler("cosine").withLogging(50, 0);
        new SftTrainer(model, config, data, List.of(), TOK.padId().getAsInt(), TOK.eosId()).train(m -> { });
        return model;
    }

    /** Mean exact-match reward of 4 samples (temperature 1) for each of the 100 prompts. */
    static double sampledAccuracy(Gpt model, long seed) {
        List<String> prompts = new ArrayList<>();
        for (int a = 0; a <= 9; a++) for (int b = 0; b <= 9; b++) prompts.add(a + "+" + b + "=");
        int[][] ids = new int[prompts.size() * 4][];
        for (int i = 0; i < ids.length; i++) ids[i] = TOK.encode(prompts.get(i / 4));
        model.eval();
        var r = Generation.generate(model, ids, SamplingConfig.sample(4, TOK.eosId(), TOK.padId().getAsInt(), seed));
        double correct = 0;
        for (int i = 0; i < ids.length; i++) {
            correct += TASK.reward(prompts.get(i / 4), TOK.decode(r.completions()[i]));
        }
        return correct / ids.length;
    }

    @Test
    void grpoRaisesArithmeticAccuracyByTwentyPoints() {
        Gpt model = sftModel();
        double before = sampledAccuracy(model, 1000);
        GrpoConfig config = GrpoConfig.defaults().with(5e-4, 16, 8, 4);
        GrpoTrainer trainer = new GrpoTrainer(model, null,
                (p, c) -> TASK.reward(TOK.decode(p), TOK.decode(c)), config, TOK.eosId(), TOK.padId().getAsInt());
        List<String> prompts = TASK.prompts(16 * STEPS, 3);
        List<Map<String, Object>> log = new ArrayList<>();
        for (int s = 0; s < STEPS; s++) {
            int[][] batch = new int[16][];
            for (int i = 0; i < 16; i++) batch[i] = TOK.encode(prompts.get(s * 16 + i));
            log.add(trainer.trainStep(batch));
        }
        double after = sampledAccuracy(model, 2000);
        System.out.println("GRPO: sampled accuracy " + before + " -> " + after);
        assertTrue(before > 0.05, "the SFT model should get some answers right; accuracy " + before);
        assertTrue(after - before >= 0.20, "accuracy " + before + " -> " + after + "; last metrics " + log.get(log.size() - 1));
    }
}
