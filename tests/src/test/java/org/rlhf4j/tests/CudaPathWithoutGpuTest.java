package org.rlhf4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.rlhf4j.autograd.Autocast;
import org.rlhf4j.autograd.Loss;
import org.rlhf4j.autograd.Precision;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.kernels.CachingAllocator;
import org.rlhf4j.kernels.Cuda;
import org.rlhf4j.kernels.TestDevices;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.optim.AdamW;
import org.rlhf4j.transformer.optim.GradClip;

/**
 * The whole training step through the real CUDA backend without a GPU: on the emulated device (every PTX kernel
 * on the interpreter, GEMM by cuBLAS's definition of the planned call) a tiny model's SFT step gives the CPU's
 * loss and updated weights; on the recording device (launches and GEMM calls checked, not run) GPT-2 124M's SFT
 * and DPO steps at the sizes launch only valid kernels, and the caching allocator's peak is what the
 * step would need on a GPU.
 */
class CudaPathWithoutGpuTest {
    private static final double GIB = 1024.0 * 1024 * 1024;

    /** One SFT step; returns the loss and leaves the updated weights in the model. */
    private static double sftStep(Gpt model, Tensor inputs, Tensor targets, Precision precision) {
        // eps 1e-3: the key bias's gradient is zero up to rounding (softmax ignores a shift shared by all keys),
        // and with eps 1e-8 Adam would turn that noise into updates of up to lr, different on every device
        AdamW optimizer = new AdamW(model.namedParameters(),
                AdamW.Config.defaults().withLearningRate(1e-2).withWeightDecay(0.01).withEps(1e-3));
        Variable loss;
        try (var p = Autocast.with(precision)) {
            loss = Loss.crossEntropy(model.forward(inputs), targets);
        }
        loss.backward();
        GradClip.clipGlobalNormOrThrow(model.namedParameters(), 1.0);
        optimizer.step();
        return loss.data().item();
    }

    @Test
    void aTinySftStepOnTheEmulatedDeviceMatchesTheCpu() {
        Device emulated = TestDevices.emulated();
        // head width 8 (the F32 attention kernels; BF16 falls back to them below 64)
        Gpt.Config config = new Gpt.Config(32, 8, 1, 2, 16, 1e-5, 0.0);
        int[] ids = new int[2 * 8], next = new int[2 * 8];
        java.util.Random r = new java.util.Random(3);
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(32);
            next[i] = r.nextInt(32);
        }
        Tensor inputs = Tensor.ofInts(ids, 2, 8), targets = Tensor.ofInts(next, 2, 8);
        for (Precision precision : Precision.values()) {
            Gpt cpu = new Gpt(config, DType.F32, new Generator(4)), gpu = new Gpt(config, DType.F32, new Generator(4)).to(emulated);
            double cpuLoss = sftStep(cpu, inputs, targets, precision), gpuLoss = sftStep(gpu, inputs, targets, precision);
            assertEquals(cpuLoss, gpuLoss, 1e-5 * cpuLoss, precision + " loss");
            for (var e : cpu.namedParameters().entrySet()) {
                float[] expected = e.getValue().data().toFloatArray();
                float[] found = gpu.namedParameters().get(e.getKey()).data().toFloatArray();
                for (int i = 0; i < expected.length; i++) {
                    // lr 1e-2: an update differs by rounding of the gradient only
                    assertEquals(expected[i], found[i], 1e-5, precision + " " + e.getKey() + "[" + i + "] after the step");
                }
            }
        }
    }

    @Test
    void tinyDpoAndPpoStepsRunOnTheEmulatedDevice() {
        Device emulated = TestDevices.emulated();
        // the recording device reads back zeros, which a rollout's masks cannot take: PPO needs real values
        Gpt2Workloads.Shapes s = new Gpt2Workloads.Shapes(new Gpt.Config(32, 16, 1, 2, 16, 1e-5, 0.0), 2, 8, 1, 4, 4, 2, 4, 4);
        Gpt2Workloads w = new Gpt2Workloads(s, emulated, Precision.BF16, () -> {},
                () -> Cuda.memoryStats(emulated).peakBytesInUse(), () -> Cuda.resetPeakMemory(emulated), CudaSteps.MEMORY);
        Gpt2Workloads.Timing dpo = w.dpoStep(1, 1);
        assertEquals(Math.log(2), dpo.loss(), 1e-4); // policy = reference at the first step
        Gpt2Workloads.Timing ppo = w.ppoIteration(1, 1);
        assertTrue(Double.isFinite(ppo.loss()) && ppo.phases().containsKey("generation_s"), ppo.phases().toString());
    }

    @Test
    void gpt2SmallStepsLaunchValidKernelsAndFitInMemoryOnTheRecordingDevice() {
        Device recording = TestDevices.recording();
        Gpt2Workloads.Shapes s = Gpt2Workloads.Shapes.gpt2Small();
        Gpt2Workloads w = new Gpt2Workloads(s, recording, Precision.BF16, () -> {},
                () -> Cuda.memoryStats(recording).peakBytesInUse(), () -> Cuda.resetPeakMemory(recording), CudaSteps.MEMORY);
        // two steps each: the second reuses what the first kept (the optimizer's moments) and would fail on a
        // buffer its step scope had freed
        Gpt2Workloads.Timing sft = w.sftStep(1, 1);
        Gpt2Workloads.Timing dpo = w.dpoStep(1, 1);
        CachingAllocator.Stats stats = Cuda.memoryStats(recording);
        System.out.printf("E2E | peak device memory, recording device | sft 124M bf16 b8x1024 %.1f GiB, dpo 124M bf16 "
                + "4x2x1024 %.1f GiB | allocator blocks of one step in a CudaScope (nothing is freed inside a step), weights and "
                + "AdamW state included%n", sft.peakBytes() / GIB,
                dpo.peakBytes() / GIB);
        // an H200 has 141 GB: the DPO step (policy, reference, optimizer, activations of 8 x 1024 tokens) must fit
        // with room to spare
        assertTrue(dpo.peakBytes() < 60 * GIB, "DPO peak " + dpo.peakBytes() / GIB + " GiB");
        assertTrue(sft.peakBytes() > 124e6 * 4 * 4, "the peak holds at least weights, gradients and two moments");
        assertTrue(stats.requests() > 0);
    }
}
