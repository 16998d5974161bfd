package org.rlhf4j.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhf4j.autograd.Precision;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.io.ModelDirectory;
import org.rlhf4j.transformer.sft.SftConfig;
import org.rlhf4j.transformer.sft.SftCorpus;
import org.rlhf4j.transformer.sft.SftExample;
import org.rlhf4j.transformer.sft.SftTrainer;
import org.rlhf4j.transformer.tokenizer.ByteTokenizer;

/**
 * Training on the GPU against the CPU: the first SFT steps in F32 agree within rounding, BF16 mixed precision
 * learns, and a model trained on the GPU scores the same on the CPU after a save and a load. Skips without a GPU.
 */
@Tag("gpu")
class GpuTrainingTest {
    private static final ByteTokenizer TOK = new ByteTokenizer();
    // head width 32: the F32 attention kernels (BF16 uses them too below 64)
    private static final Gpt.Config CONFIG = new Gpt.Config(TOK.vocabSize(), 64, 2, 2, 64, 1e-5, 0.0);

    private static List<SftExample> corpus() {
        List<SftExample> out = new ArrayList<>();
        for (String[] pair : SftCorpus.builtIn()) out.add(new SftExample(TOK.encode(pair[0]), TOK.encode(pair[1])));
        return out;
    }

    private static List<Double> sft(Device device, Precision precision, int steps, Gpt[] trained) {
        Gpt model = new Gpt(CONFIG, DType.F32, new Generator(21)).to(device);
        SftConfig config = SftConfig.defaults().withLearningRate(3e-3).withBatchSize(8).withMaxSteps(steps)
                .withLogging(1, 0).withPrecision(precision);
        List<SftExample> data = corpus();
        SftTrainer trainer = new SftTrainer(model, config, data, data, TOK.padId().orElse(TOK.eosId()), TOK.eosId());
        List<Double> losses = new ArrayList<>();
        trainer.train(m -> losses.add((Double) m.get("loss")));
        if (trained != null) trained[0] = model;
        return losses;
    }

    @Test
    void firstF32StepsMatchTheCpuWithinRoundingAndBf16Learns() {
        Device gpu = GpuAvailability.gpu();
        List<Double> cpu = sft(Device.CPU, Precision.F32, 5, null), onGpu = sft(gpu, Precision.F32, 5, null);
        for (int i = 0; i < cpu.size(); i++) {
            // F32 on both (no TF32): only the order of summation differs
            assertEquals(cpu.get(i), onGpu.get(i), 1e-4 * cpu.get(i), "step " + i + ": cpu " + cpu + ", gpu " + onGpu);
        }
        List<Double> bf16 = sft(gpu, Precision.BF16, 60, null);
        System.out.println("E2E | sft loss on the gpu, bf16, tiny | " + bf16.get(0) + " -> " + bf16.get(bf16.size() - 1)
                + " | cpu f32 first steps " + cpu + ", gpu f32 " + onGpu);
        assertEquals(cpu.get(0), bf16.get(0), 2e-2 * cpu.get(0));
        assertTrue(bf16.get(bf16.size() - 1) < 0.6 * bf16.get(0), "bf16 loss on the GPU: " + bf16);
    }

    @Test
    void aModelTrainedOnTheGpuScoresTheSameOnTheCpu(@TempDir Path dir) throws Exception {
        Device gpu = GpuAvailability.gpu();
        Gpt[] trained = new Gpt[1];
        sft(gpu, Precision.BF16, 10, trained);
        trained[0].eval();
        Tensor ids = Tensor.ofInts(TOK.encode("The quick brown fox"), 1, 19);
        float[] onGpu = trained[0].forward(ids).data().toFloatArray();
        ModelDirectory.save(trained[0], dir);
        Gpt onCpu = ModelDirectory.load(dir, DType.F32);
        onCpu.eval();
        float[] cpuLogits = onCpu.forward(ids).data().toFloatArray();
        assertArrayEquals(onGpu, cpuLogits, 1e-3f);
    }
}
