package org.rlhf4j.transformer.sft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhf4j.autograd.Precision;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.tensor.cpu.StandInBackend;
import org.rlhf4j.transformer.gpt.Generation;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.gpt.SamplingConfig;
import org.rlhf4j.transformer.io.ModelDirectory;
import org.rlhf4j.transformer.tokenizer.ByteTokenizer;

/**
 * The model and SFT off the CPU, on the stand-in device (the CPU's arithmetic under a CUDA name: every tensor
 * left on the host would fail with "devices differ"), and in BF16 mixed precision.
 */
class DeviceAndPrecisionTest {
    private static final ByteTokenizer TOK = new ByteTokenizer();
    private static final Device DEVICE = StandInBackend.install(5);
    // dropout on, so the generator's stream is part of what must match
    private static final Gpt.Config CONFIG = new Gpt.Config(TOK.vocabSize(), 64, 2, 2, 32, 1e-5, 0.1);

    private static List<Double> losses(Device device, Precision precision, int steps) {
        List<SftExample> data = SftTrainerTest.corpus().subList(0, 24);
        Gpt model = new Gpt(CONFIG, DType.F32, new Generator(5)).to(device);
        SftConfig config = SftConfig.defaults().withLearningRate(3e-3).withBatchSize(6).withMaxSteps(steps)
                .withLogging(1, 0).withPrecision(precision);
        SftTrainer trainer = new SftTrainer(model, config, data, data, TOK.padId().orElse(TOK.eosId()), TOK.eosId());
        List<Double> out = new ArrayList<>();
        trainer.train(m -> out.add((Double) m.get("loss")));
        out.add(trainer.evaluate());
        assertEquals(device, model.device());
        return out;
    }

    /**
     * Same losses up to summation order: off the CPU the gradient norm for clipping is summed on the device (one host
     * wait per step) instead of in F64 chunks, so once clipping is active the updates differ in the last bits.
     */
    private static void assertSameCurve(List<Double> expected, List<Double> actual, double rtol) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i), actual.get(i), rtol * Math.abs(expected.get(i)), "step " + i);
        }
    }

    @Test
    void sftOnAnotherDeviceGivesTheCpuLosses() {
        List<Double> cpu = losses(Device.CPU, Precision.F32, 12), device = losses(DEVICE, Precision.F32, 12);
        assertEquals(cpu.get(0), device.get(0)); // before any update: the same arithmetic, bit for bit
        assertSameCurve(cpu, device, 1e-5);
    }

    @Test
    void bf16SftLearnsTracksF32AndIsTheSameOnEitherDevice() {
        List<Double> f32 = losses(Device.CPU, Precision.F32, 30), bf16 = losses(Device.CPU, Precision.BF16, 30);
        // the first loss is the initial model's: BF16 products move it by rounding only
        assertEquals(f32.get(0), bf16.get(0), 2e-2 * f32.get(0));
        assertNotEquals(f32.get(0), bf16.get(0), "BF16 should round somewhere");
        double start = bf16.get(0), end = bf16.get(bf16.size() - 1);
        assertTrue(end < 0.75 * start, "bf16 loss went from " + start + " to " + end);
        assertEquals(f32.get(f32.size() - 1), end, 0.1 * f32.get(f32.size() - 1), "bf16 " + bf16 + " f32 " + f32);
        // a last-bit difference in F32 can flip a BF16 rounding, so BF16 curves drift apart a little faster
        assertSameCurve(bf16, losses(DEVICE, Precision.BF16, 30), 1e-3);
    }

    @Test
    void aTrainingCheckpointWrittenOnTheDeviceResumesOnTheCpu(@TempDir Path dir) throws Exception {
        List<SftExample> data = SftTrainerTest.corpus().subList(0, 24);
        SftConfig config = SftConfig.defaults().withLearningRate(3e-3).withBatchSize(6).withMaxSteps(8).withLogging(1, 0);
        int pad = TOK.padId().orElse(TOK.eosId());
        List<Double> straight = new ArrayList<>();
        new SftTrainer(new Gpt(CONFIG, DType.F32, new Generator(8)), config, data, List.of(), pad, TOK.eosId())
                .train(m -> straight.add((Double) m.get("loss")));

        List<Double> resumed = new ArrayList<>();
        SftTrainer onDevice = new SftTrainer(new Gpt(CONFIG, DType.F32, new Generator(8)).to(DEVICE), config, data,
                List.of(), pad, TOK.eosId());
        for (int i = 0; i < 4; i++) resumed.add((Double) onDevice.trainStep().get("loss"));
        Path file = dir.resolve("step4.safetensors");
        onDevice.saveCheckpoint(file);
        SftTrainer onCpu = new SftTrainer(new Gpt(CONFIG, DType.F32, new Generator(99)), config, data, List.of(), pad,
                TOK.eosId());
        onCpu.loadCheckpoint(file); // optimizer moments, step, dropout generator and data position, onto the CPU
        onCpu.train(m -> resumed.add((Double) m.get("loss")));
        assertSameCurve(straight, resumed, 1e-5);
    }

    @Test
    void aModelTrainedOnTheDeviceSavesAndScoresTheSameOnTheCpu(@TempDir Path dir) throws Exception {
        Gpt model = new Gpt(CONFIG, DType.F32, new Generator(6)).to(DEVICE);
        model.eval();
        Tensor ids = Tensor.ofInts(TOK.encode("hello there, device"), 1, 19);
        float[] onDevice = model.forward(ids).data().toFloatArray();
        ModelDirectory.save(model, dir);
        Gpt back = ModelDirectory.load(dir, DType.F32);
        back.eval();
        assertEquals(Device.CPU, back.device());
        assertArrayEquals(onDevice, back.forward(ids).data().toFloatArray());
        // and the CPU copy moves to the device and generates the same tokens there, with the cache on the device
        int[][] prompts = {TOK.encode("ab"), TOK.encode("hello")};
        SamplingConfig sampling = SamplingConfig.sample(8, -1, 0, 17).withTopK(20);
        int[][] cpuTokens = Generation.generate(back, prompts, sampling).completions();
        int[][] deviceTokens = Generation.generate(back.to(DEVICE), prompts, sampling).completions();
        assertArrayEquals(cpuTokens, deviceTokens);
    }
}
