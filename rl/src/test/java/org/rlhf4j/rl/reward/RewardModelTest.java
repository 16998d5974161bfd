package org.rlhf4j.rl.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhf4j.autograd.Grad;
import org.rlhf4j.rl.logprobs.SequenceBatch;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.io.SafeTensors;

class RewardModelTest {
    static final int VOCAB = 16, EOS = 15;

    @TempDir
    Path dir;

    static RewardModel tinyRewardModel(long seed, DType dtype) {
        Gpt trunk = new Gpt(new Gpt.Config(VOCAB, 32, 2, 2, 16, 1e-5, 0.0), dtype, new Generator(seed));
        return RewardModel.withNewHead(trunk, new Generator(seed + 1));
    }

    // rows of different prompt and completion lengths, one completion empty, EOS inside and at the end
    private static final int[][] PROMPTS = {{1, 2, 3, 4, 5}, {6}, {7, 8}};
    private static final int[][] COMPLETIONS = {{9, EOS}, {10, EOS, 12, EOS}, {}};

    /** The head at the last token of the row alone, from an unpadded forward with default positions. */
    private static double handScore(RewardModel model, int[] prompt, int[] completion) {
        int[] ids = new int[prompt.length + completion.length];
        System.arraycopy(prompt, 0, ids, 0, prompt.length);
        System.arraycopy(completion, 0, ids, prompt.length, completion.length);
        try (var g = Grad.disabled()) {
            double[] all = model.head().forward(model.trunk().hidden(Tensor.ofInts(ids, 1, ids.length), null, null))
                    .data().toDoubleArray(); // [1, L]
            return all[ids.length - 1];
        }
    }

    @Test
    void rewardIsReadAtTheLastRealTokenUnderLeftAndRightPadding() {
        RewardModel model = tinyRewardModel(1, DType.F64);
        for (int pad : new int[] {0, EOS}) { // pad may equal EOS: the last token is found by position
            double[] batched = model.scoreNoGrad(SequenceBatch.of(PROMPTS, COMPLETIONS, pad, DType.F64));
            for (int i = 0; i < PROMPTS.length; i++) {
                double alone = model.scoreNoGrad(SequenceBatch.of(new int[][] {PROMPTS[i]}, new int[][] {COMPLETIONS[i]}, pad, DType.F64))[0];
                assertEquals(alone, batched[i], 1e-10, "row " + i + ", pad " + pad);
                assertEquals(handScore(model, PROMPTS[i], COMPLETIONS[i]), batched[i], 1e-10, "row " + i + ", pad " + pad);
            }
        }
    }

    @Test
    void lastTokenIndexIsPromptWidthPlusCompletionLengthMinusOne() {
        // prompt width 5: rows end at 5 + 2 - 1, 5 + 4 - 1, 5 + 0 - 1 (the last prompt token)
        Tensor index = RewardModel.lastTokenIndex(SequenceBatch.of(PROMPTS, COMPLETIONS, 0, DType.F64));
        assertArrayEquals(new int[] {6, 8, 4}, index.toIntArray());
    }

    @Test
    void onlyTheLastRealTokensHiddenStateGetsGradient() {
        // the score's gradient reaches the head through one position per row: d score / d bias = 1 per row
        RewardModel model = tinyRewardModel(2, DType.F64);
        model.score(SequenceBatch.of(PROMPTS, COMPLETIONS, 0, DType.F64)).sum().backward();
        assertEquals(3.0, model.namedParameters().get("score.bias").grad().item(), 1e-12);
    }

    @Test
    void parametersCarryHuggingFaceNames() {
        RewardModel model = tinyRewardModel(3, DType.F64);
        List<String> names = List.copyOf(model.namedParameters().keySet());
        assertTrue(names.stream().limit(names.size() - 2).allMatch(n -> n.startsWith("transformer.")), names.toString());
        assertEquals(List.of("score.weight", "score.bias"), names.subList(names.size() - 2, names.size()));
        assertArrayEquals(new int[] {1, 16}, model.namedParameters().get("score.weight").shape());
        assertArrayEquals(new int[] {1}, model.namedParameters().get("score.bias").shape());
    }

    @Test
    void copyIsDeep() {
        RewardModel model = tinyRewardModel(4, DType.F64);
        RewardModel copy = model.copy();
        SequenceBatch batch = SequenceBatch.of(PROMPTS, COMPLETIONS, 0, DType.F64);
        double[] before = model.scoreNoGrad(batch);
        assertArrayEquals(before, copy.scoreNoGrad(batch), 0.0);
        copy.namedParameters().get("score.bias").data().addInPlace(1.0);
        copy.namedParameters().get("transformer.h.0.mlp.c_fc.weight").data().mulInPlace(2.0);
        assertArrayEquals(before, model.scoreNoGrad(batch), 0.0);
        assertNotEquals(before[0], copy.scoreNoGrad(batch)[0]);
    }

    @Test
    void saveAndLoadRoundTrip() throws IOException {
        RewardModel model = tinyRewardModel(5, DType.F32);
        model.namedParameters().get("score.bias").data().fill(0.25);
        Path out = dir.resolve("rm");
        model.save(out);
        assertTrue(Files.readString(out.resolve("config.json")).contains("GPT2ForSequenceClassification"));
        assertEquals(model.namedParameters().keySet(), SafeTensors.load(out.resolve("model.safetensors")).keySet());
        RewardModel loaded = RewardModel.load(out, DType.F32);
        SequenceBatch batch = SequenceBatch.of(PROMPTS, COMPLETIONS, 0, DType.F32);
        assertArrayEquals(model.scoreNoGrad(batch), loaded.scoreNoGrad(batch), 0.0);
    }

    @Test
    void anHfFileWithoutScoreBiasLoadsWithBiasZeroAndUnknownTensorsAreRefused() throws IOException {
        RewardModel model = tinyRewardModel(6, DType.F32);
        Path out = dir.resolve("hf");
        model.save(out);
        Map<String, Tensor> tensors = new LinkedHashMap<>(model.stateDict());
        tensors.remove("score.bias");
        SafeTensors.save(out.resolve("model.safetensors"), tensors);
        assertEquals(0.0, RewardModel.load(out, DType.F32).namedParameters().get("score.bias").data().item());
        tensors.put("v_head.weight", Tensor.zeros(DType.F32, 1, 16));
        SafeTensors.save(out.resolve("model.safetensors"), tensors);
        IOException e = assertThrows(IOException.class, () -> RewardModel.load(out, DType.F32));
        assertTrue(e.getMessage().contains("v_head.weight"), e.getMessage());
    }
}
