package org.rlhf4j.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.rlhf4j.autograd.Precision;
import org.rlhf4j.kernels.Cuda;
import org.rlhf4j.kernels.CudaContext;
import org.rlhf4j.kernels.CudaTimer;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Tensor;

/**
 * GPT-2 124M end to end on one GPU in BF16 mixed precision: the BF16 GEMM rate (cuBLAS, 8192^3, CUDA events), then
 * an SFT step (batch 8 x 1024) with tokens/s and model FLOP utilisation against that rate, a DPO step (4 pairs of
 * 512 + 512 tokens, reference forward included) and a PPO iteration (64 prompts, 128 new tokens) split by phase,
 * each with its peak device memory. The PyTorch peer is {@code scripts/gpu/torch_gpt2_peer.py}. One line per
 * result: {@code E2E | what | value | details}. Runs only from the GPU script (tag gpu-benchmark).
 */
@Tag("gpu-benchmark")
class Gpt2GpuBenchmark {
    private static final double GIB = 1024.0 * 1024 * 1024;

    private static void row(String what, String value, String details) {
        System.out.printf("E2E | %-40s | %-14s | %s%n", what, value, details);
    }

    /** TFLOP/s of an n^3 BF16 x BF16 -> F32 product, the one our linear layers run. */
    private static double bf16GemmTflops(CudaContext ctx, Device gpu, int n) {
        Tensor a = Tensor.empty(DType.F32, gpu, n, n), b = Tensor.empty(DType.F32, gpu, n, n);
        Cuda.backend(gpu).uniform(a, 1, 0, -1, 1);
        Cuda.backend(gpu).uniform(b, 2, 0, -1, 1);
        Tensor a16 = a.to(DType.BF16), b16 = b.to(DType.BF16), c = Tensor.empty(DType.F32, gpu, n, n);
        try (CudaTimer timer = new CudaTimer(ctx)) {
            double ms = timer.median(3, 10, () -> Tensor.gemm(c, a16, b16, 1.0, 0.0));
            return 2.0 * n * n * (double) n / (ms * 1e-3) / 1e12;
        }
    }

    private static String phases(Map<String, Double> phases) {
        StringBuilder sb = new StringBuilder();
        for (var e : phases.entrySet()) {
            if (sb.length() > 0) sb.append(", ");
            sb.append(e.getKey()).append(String.format(" %.1f ms", e.getValue() * 1e3));
        }
        return sb.toString();
    }

    @Test
    void gpt2SmallSftDpoAndPpoInBf16() {
        Device gpu = GpuAvailability.gpu();
        CudaContext ctx = Cuda.backend(gpu).context();
        double tflops = bf16GemmTflops(ctx, gpu, 8192);
        row("bf16 gemm 8192^3 (bf16 x bf16 -> f32)", String.format("%.0f TFLOP/s", tflops), ctx.name() + ", cuBLAS, median of 10");

        Gpt2Workloads.Shapes s = Gpt2Workloads.Shapes.gpt2Small();
        Gpt2Workloads w = new Gpt2Workloads(s, gpu, Precision.BF16, ctx::synchronize,
                () -> Cuda.memoryStats(gpu).peakBytesInUse(), () -> Cuda.resetPeakMemory(gpu), CudaSteps.MEMORY);

        Gpt2Workloads.Timing sft = w.sftStep(2, 5);
        long n = Gpt2Workloads.parameterCount(s.model());
        long tokens = (long) s.sftBatch() * s.sftTokens();
        double flops = Gpt2Workloads.sftFlops(s.model(), n, s.sftTokens(), tokens);
        double mfu = flops / sft.medianSeconds() / (tflops * 1e12);
        row("sft step 124M bf16 b8x1024", String.format("%.0f tok/s", tokens / sft.medianSeconds()),
                String.format("step %.1f ms, MFU %.1f%% of %.0f TFLOP/s bf16 gemm (6N+12LTC, N %d), peak %.1f GiB, "
                        + "loss at init %.4f (ln V %.4f), median of 5", sft.medianSeconds() * 1e3, 100 * mfu, tflops, n,
                        sft.peakBytes() / GIB, sft.loss(), Math.log(s.model().vocabSize())));

        Gpt2Workloads.Timing dpo = w.dpoStep(1, 3);
        row("dpo step 124M bf16 4x2x1024", String.format("%.1f ms", dpo.medianSeconds() * 1e3),
                phases(dpo.phases()) + String.format(", peak %.1f GiB, loss at init %.4f (ln 2 %.4f), median of 3",
                        dpo.peakBytes() / GIB, dpo.loss(), Math.log(2)));

        Gpt2Workloads.Timing ppo = w.ppoIteration(0, 1);
        row("ppo iteration 124M bf16 64x(64+128)", String.format("%.2f s", ppo.medianSeconds()),
                phases(ppo.phases()) + String.format(", peak %.1f GiB, one iteration", ppo.peakBytes() / GIB));
        assertTrue(Double.isFinite(sft.loss()) && Double.isFinite(dpo.loss()), "losses " + sft.loss() + ", " + dpo.loss());
    }
}
