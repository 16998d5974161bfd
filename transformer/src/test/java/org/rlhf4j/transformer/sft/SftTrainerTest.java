package org.rlhf4j.transformer.sft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.tokenizer.ByteTokenizer;

class SftTrainerTest {
    private static final ByteTokenizer TOK = new ByteTokenizer();

    static List<SftExample> corpus() {
        List<SftExample> out = new ArrayList<>();
        for (String[] pair : SftCorpus.builtIn()) out.add(new SftExample(TOK.encode(pair[0]), TOK.encode(pair[1])));
        return out;
    }

    static Gpt smallModel(long seed) {
        return new Gpt(new Gpt.Config(TOK.vocabSize(), 64, 2, 4, 64, 1e-5, 0.0), DType.F32, new Generator(seed));
    }

    @Test
    void batchMasksPromptAndPaddingByPosition() {
        // prompt {1, 2}, completion {3}, EOS 9 -> sequence 1 2 3 9: inputs 1 2 3, targets 2 3 9; only targets 3, 9 learned
        // second row: text {4, 5} -> 4 5 9: inputs 4 5 [pad], targets 5 9 [pad]; pad id 9 equals EOS on purpose
        SftBatch b = SftBatch.of(List.of(new SftExample(new int[] {1, 2}, new int[] {3}), SftExample.text(new int[] {4, 5})),
                100, 9, 9, true, DType.F32);
        assertArrayEquals(new int[] {1, 2, 3, 4, 5, 9}, b.inputs().toIntArray());
        assertArrayEquals(new int[] {2, 3, 9, 5, 9, 9}, b.targets().toIntArray());
        assertArrayEquals(new float[] {0, 1, 1, 1, 1, 0}, b.lossMask().toFloatArray());
        assertEquals(4, b.countedTokens());
    }

    @Test
    void lossFallsWellBelowItsStart() {
        List<SftExample> data = corpus();
        Gpt model = smallModel(1);
        SftConfig config = SftConfig.defaults().withLearningRate(3e-3).withBatchSize(8).withMaxSteps(120)
                .withLrScheduler("cosine").withLogging(20, 0);
        SftTrainer trainer = new SftTrainer(model, config, data, data, TOK.padId().orElse(TOK.eosId()), TOK.eosId());
        double start = trainer.evaluate();
        List<Map<String, Object>> logs = new ArrayList<>();
        long t0 = System.nanoTime();
        trainer.train(logs::add);
        double seconds = (System.nanoTime() - t0) / 1e9;
        double end = trainer.evaluate();
        // ln(258) = 5.55 for a uniform model; the answers are short and templated, so 120 steps learn most of them
        assertTrue(start > 4.5, "start loss " + start);
        assertTrue(end < 0.4 * start, "loss went from " + start + " to " + end + "; logs " + logs);
        assertTrue(seconds < 60, "training took " + seconds + " s");
        assertEquals(120, trainer.step());
        assertTrue(logs.get(logs.size() - 1).containsKey("eval_loss"));
    }

    @Test
    void resumingFromACheckpointGivesTheSameLossCurveBitForBit(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        List<SftExample> data = corpus().subList(0, 20);
        // dropout on, so the generator's state matters too
        Gpt.Config c = new Gpt.Config(TOK.vocabSize(), 64, 1, 2, 16, 1e-5, 0.1);
        SftConfig config = SftConfig.defaults().withLearningRate(1e-3).withBatchSize(6).withMaxSteps(8).withLogging(1, 0);
        int pad = TOK.padId().orElse(TOK.eosId());

        List<Object> straight = new ArrayList<>();
        SftTrainer a = new SftTrainer(new Gpt(c, DType.F32, new Generator(3)), config, data, List.of(), pad, TOK.eosId());
        a.train(m -> straight.add(m.get("loss")));

        List<Object> resumed = new ArrayList<>();
        SftTrainer first = new SftTrainer(new Gpt(c, DType.F32, new Generator(3)), config, data, List.of(), pad, TOK.eosId());
        for (int i = 0; i < 4; i++) resumed.add(first.trainStep().get("loss"));
        java.nio.file.Path file = dir.resolve("step4.safetensors");
        first.saveCheckpoint(file);
        // a different initialisation: everything that matters must come from the checkpoint
        SftTrainer second = new SftTrainer(new Gpt(c, DType.F32, new Generator(99)), config, data, List.of(), pad, TOK.eosId());
        second.loadCheckpoint(file);
        second.train(m -> resumed.add(m.get("loss")));

        assertEquals(straight, resumed); // Double.equals: bit for bit
        assertEquals(8, straight.size());
    }
}
