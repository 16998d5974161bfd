package org.rlhf4j.kernels.attention;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.rlhf4j.kernels.Cuda;
import org.rlhf4j.kernels.CudaContext;
import org.rlhf4j.kernels.CudaScope;
import org.rlhf4j.kernels.CudaTimer;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Tensor;

/**
 * Attention throughput on the GPU, causal, in TFLOP/s of the causal count: forward = 4 B H T^2 D / 2, backward =
 * 2.5x the forward; decoding (one query per sequence against T cached keys) in GB/s of K and V read. Timed with
 * CUDA events (CudaTimer: 3 warm-ups, median of 10). Inputs random normal, never zeros. One line per case, in the
 * format that {@code scripts/gpu/torch_attention_peer.py} prints for PyTorch's scaled_dot_product_attention:
 * <pre>BENCH | attention bf16 fwd (rlhf4j)  | B=4 H=16 T=2048 D=128 |     0.412 ms | 333.6 TFLOP/s</pre>
 * Runs only from the GPU script (tag gpu-benchmark).
 */
@Tag("gpu-benchmark")
class AttentionGpuBenchmark {
    /** B, H, T, D: 16k tokens per batch, as FlashAttention's benchmarks. */
    static final int[][] SHAPES = {
            {16, 16, 1024, 64}, {8, 16, 2048, 64}, {4, 16, 4096, 64},
            {16, 16, 1024, 128}, {8, 16, 2048, 128}, {4, 16, 4096, 128}};
    static final int DECODE_BATCH = 64;

    static void row(String what, int[] s, double ms, String rate) {
        System.out.printf("BENCH | %-30s | B=%d H=%d T=%d D=%d | %9.3f ms | %s%n", what + " (rlhf4j)", s[0], s[1], s[2],
                s[3], ms, rate);
    }

    static String tflops(double flops, double ms) {
        return String.format("%.1f TFLOP/s", flops / (ms * 1e-3) * 1e-12);
    }

    /** Normal values made on the device (Philox), so that large inputs cost no host time. */
    static Tensor randn(SplittableRandom rnd, DType dtype, Device gpu, int... shape) {
        Tensor t = Tensor.empty(DType.F32, gpu, shape);
        Cuda.backend(gpu).normal(t, rnd.nextLong(), 0, 0.0, 1.0);
        return dtype == DType.F32 ? t : t.to(dtype);
    }

    @Test
    void attentionThroughput() {
        assumeTrue(Cuda.isAvailable(), () -> "no GPU here: " + Cuda.unavailableReason());
        Device gpu = Device.cuda(0);
        CudaContext ctx = Cuda.backend(gpu).context();
        CudaAttention attn = new CudaAttention(ctx);
        SplittableRandom rnd = new SplittableRandom(1);
        System.out.println("BENCH | device " + ctx.name() + ", sm_" + ctx.computeCapability() + ", "
                + ctx.multiprocessors() + " SMs");
        try (CudaTimer timer = new CudaTimer(ctx)) {
            for (int[] s : SHAPES) {
                try (CudaScope shape = CudaScope.open()) {
                    shapeRows(attn, timer, rnd, gpu, s);
                }
            }
        }
    }

    private static void shapeRows(CudaAttention attn, CudaTimer timer, SplittableRandom rnd, Device gpu, int[] s) {
        int b = s[0], h = s[1], t = s[2], d = s[3];
        double fwd = 4.0 * b * h * (double) t * t * d / 2;
        double scale = 1.0 / Math.sqrt(d);
        {
            Tensor q = randn(rnd, DType.BF16, gpu, b, h, t, d), k = randn(rnd, DType.BF16, gpu, b, h, t, d),
                    v = randn(rnd, DType.BF16, gpu, b, h, t, d), dout = randn(rnd, DType.BF16, gpu, b, h, t, d);
            Tensor out = Tensor.empty(DType.BF16, gpu, b, h, t, d), lse = Tensor.empty(DType.F32, gpu, b, h, t);
            Tensor dq = Tensor.empty(DType.BF16, gpu, b, h, t, d), dk = Tensor.empty(DType.BF16, gpu, b, h, t, d),
                    dv = Tensor.empty(DType.BF16, gpu, b, h, t, d);
            double ms = timer.median(3, 10, () -> attn.attention(out, lse, q, k, v, null, scale));
            row("attention bf16 fwd", s, ms, tflops(fwd, ms));
            ms = timer.median(3, 10, () -> attn.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, null, scale));
            row("attention bf16 bwd", s, ms, tflops(2.5 * fwd, ms));
        }
        if (t <= 2048) { // the F32 path is the exactness path; its rate at two lengths is enough
            Tensor q = randn(rnd, DType.F32, gpu, b, h, t, d), k = randn(rnd, DType.F32, gpu, b, h, t, d),
                    v = randn(rnd, DType.F32, gpu, b, h, t, d), dout = randn(rnd, DType.F32, gpu, b, h, t, d);
            Tensor out = Tensor.empty(DType.F32, gpu, b, h, t, d), lse = Tensor.empty(DType.F32, gpu, b, h, t);
            Tensor dq = Tensor.empty(DType.F32, gpu, b, h, t, d), dk = Tensor.empty(DType.F32, gpu, b, h, t, d),
                    dv = Tensor.empty(DType.F32, gpu, b, h, t, d);
            double ms = timer.median(2, 5, () -> attn.attention(out, lse, q, k, v, null, scale));
            row("attention f32 fwd", s, ms, tflops(fwd, ms));
            ms = timer.median(2, 5, () -> attn.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, null, scale));
            row("attention f32 bwd", s, ms, tflops(2.5 * fwd, ms));
        }
        {
            int bd = DECODE_BATCH;
            Tensor kc = randn(rnd, DType.BF16, gpu, bd, h, t, d), vc = randn(rnd, DType.BF16, gpu, bd, h, t, d);
            Tensor q = randn(rnd, DType.BF16, gpu, bd, h, 1, d);
            Tensor out = Tensor.empty(DType.BF16, gpu, bd, h, 1, d);
            double ms = timer.median(3, 10, () -> attn.attentionCached(out, null, q, kc, vc, null, scale));
            row("attention bf16 decode", new int[] {bd, h, t, d}, ms,
                    String.format("%.0f GB/s", 2.0 * bd * h * t * d * 2 / (ms * 1e-3) * 1e-9));
        }
    }
}
