package org.rlhf4j.kernels;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.BinaryOp;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.ReduceOp;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.tensor.UnaryOp;

/**
 * cuBLAS GEMM rates and the bandwidth of the PTX elementwise and reduction kernels on 1 GiB operands, against a
 * device-to-device copy measured in the same run. Timed with CUDA events on the device's stream (CudaTimer: 3
 * warm-ups, median of 15 runs): JMH times the host thread, which returns as soon as the work is enqueued.
 * Inputs are random, never zeros. Bandwidth counts bytes read plus bytes written. Each result is one line:
 * <pre>BENCH | what | size | ms | rate | vs copy</pre>
 * Runs only from the GPU script (tag gpu-benchmark).
 */
@Tag("gpu-benchmark")
class RuntimeGpuBenchmark {
    private static final long GIB = 1L << 30;

    private static void row(String what, String size, double ms, String rate, String vsCopy) {
        System.out.printf("BENCH | %-34s | %-16s | %9.3f ms | %-16s | %s%n", what, size, ms, rate, vsCopy);
    }

    /** A device tensor of uniform values in [lo, hi), made on the device (Philox). */
    private static Tensor random(CudaBackend cuda, Device gpu, long seed, double lo, double hi, int... shape) {
        Tensor t = Tensor.empty(DType.F32, gpu, shape);
        cuda.uniform(t, seed, 0, lo, hi);
        return t;
    }

    @Test
    void gemmAndBandwidth() {
        Device gpu = GpuChecks.gpu();
        CudaBackend cuda = Cuda.backend(gpu);
        CudaContext ctx = cuda.context();
        System.out.println("BENCH | device " + ctx.name() + ", sm_" + ctx.computeCapability() + ", "
                + ctx.multiprocessors() + " SMs");
        try (CudaTimer timer = new CudaTimer(ctx)) {
            int n = (int) (GIB / 4); // 2^28 F32 = 1 GiB
            Tensor a = random(cuda, gpu, 1, -1, 1, n), b = random(cuda, gpu, 2, 0.5, 2, n);
            Tensor y = Tensor.empty(DType.F32, gpu, n);
            double copyMs = timer.median(3, 15, () -> cuda.copy(y, a));
            double copyGbs = 2.0 * GIB / (copyMs * 1e-3) / 1e9;
            row("device-to-device copy (cuMemcpy)", "1 GiB", copyMs, String.format("%.0f GB/s", copyGbs), "100%");
            bandwidth(timer, "copy_convert kernel F32 -> F32", 2.0 * GIB, copyGbs, () -> cuda.copyKernel(y, a));
            bandwidth(timer, "binary ADD y = a + b", 3.0 * GIB, copyGbs, () -> cuda.binary(BinaryOp.ADD, y, a, b));
            bandwidth(timer, "binaryScalar MUL y = 2 a", 2.0 * GIB, copyGbs, () -> cuda.binaryScalar(BinaryOp.MUL, y, a, 2));
            bandwidth(timer, "unary EXP", 2.0 * GIB, copyGbs, () -> cuda.unary(UnaryOp.EXP, y, a));
            bandwidth(timer, "unary GELU", 2.0 * GIB, copyGbs, () -> cuda.unary(UnaryOp.GELU, y, a));
            Tensor bias = random(cuda, gpu, 3, -1, 1, 1 << 14);
            Tensor a2 = a.view(1 << 14, 1 << 14), y2 = y.view(1 << 14, 1 << 14);
            bandwidth(timer, "binary ADD row-broadcast bias", 2.0 * GIB, copyGbs,
                    () -> cuda.binary(BinaryOp.ADD, y2, a2, bias.expand(1 << 14, 1 << 14)));
            Tensor rowsOut = Tensor.empty(DType.F32, gpu, 1 << 14, 1);
            bandwidth(timer, "reduce SUM last axis [16384,16384]", 1.0 * GIB, copyGbs,
                    () -> cuda.reduce(ReduceOp.SUM, rowsOut, a2, 1));
            bandwidth(timer, "reduce MAX last axis [16384,16384]", 1.0 * GIB, copyGbs,
                    () -> cuda.reduce(ReduceOp.MAX, rowsOut, a2, 1));
            Tensor colsOut = Tensor.empty(DType.F32, gpu, 1, 1 << 14);
            bandwidth(timer, "reduce SUM axis 0 [16384,16384]", 1.0 * GIB, copyGbs,
                    () -> cuda.reduce(ReduceOp.SUM, colsOut, a2, 0));
            Tensor arg = Tensor.empty(DType.I32, gpu, 1 << 14, 1);
            bandwidth(timer, "argmax last axis [16384,16384]", 1.0 * GIB, copyGbs, () -> cuda.argmax(arg, a2, 1));
            bandwidth(timer, "Philox uniform (write only)", 1.0 * GIB, copyGbs, () -> cuda.uniform(y, 7, 1, 0, 1));
            bandwidth(timer, "Philox normal (write only)", 1.0 * GIB, copyGbs, () -> cuda.normal(y, 7, 1, 0, 1));
            a.storage().close();
            b.storage().close();
            y.storage().close();

            for (int size : new int[] {4096, 8192}) {
                Tensor ga = random(cuda, gpu, 4, -1, 1, 1, size, size), gb = random(cuda, gpu, 5, -1, 1, 1, size, size);
                Tensor gc = Tensor.empty(DType.F32, gpu, 1, size, size);
                double flops = 2.0 * size * size * (double) size;
                gemm(timer, "GEMM F32 (SGEMM)", size, flops, () -> cuda.gemm(gc, ga, gb, 1, 0));
                cuda.setTf32(true);
                gemm(timer, "GEMM TF32 (F32 in/out)", size, flops, () -> cuda.gemm(gc, ga, gb, 1, 0));
                cuda.setTf32(false);
                Tensor ha = ga.to(DType.BF16), hb = gb.to(DType.BF16);
                Tensor hc = Tensor.empty(DType.BF16, gpu, 1, size, size);
                gemm(timer, "GEMM BF16 in, F32 accumulate, BF16 out", size, flops, () -> cuda.gemm(hc, ha, hb, 1, 0));
                gemm(timer, "GEMM BF16 in, F32 out", size, flops, () -> cuda.gemm(gc, ha, hb, 1, 0));
                for (Tensor t : new Tensor[] {ga, gb, gc, ha, hb, hc}) t.storage().close();
            }
        }
        ctx.synchronize();
    }

    private static void bandwidth(CudaTimer timer, String what, double bytes, double copyGbs, Runnable work) {
        double ms;
        try {
            ms = timer.median(3, 15, work);
        } catch (RuntimeException e) { // one failing row must not hide the others
            System.out.printf("BENCH | %-34s | FAILED: %s%n", what, e);
            return;
        }
        double gbs = bytes / (ms * 1e-3) / 1e9;
        row(what, "1 GiB", ms, String.format("%.0f GB/s", gbs), String.format("%.0f%%", 100 * gbs / copyGbs));
    }

    private static void gemm(CudaTimer timer, String what, int size, double flops, Runnable work) {
        double ms;
        try {
            ms = timer.median(3, 10, work);
        } catch (RuntimeException e) {
            System.out.printf("BENCH | %-34s | %-16s | FAILED: %s%n", what, size + "^3", e);
            return;
        }
        row(what, size + "^3", ms, String.format("%.1f TFLOP/s", flops / (ms * 1e-3) / 1e12), "");
    }

}
