package org.rlhf4j.kernels.nn;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.rlhf4j.kernels.Cuda;
import org.rlhf4j.kernels.CudaBackend;
import org.rlhf4j.kernels.CudaContext;
import org.rlhf4j.kernels.CudaTimer;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Tensor;

/**
 * Bandwidth of the fused kernels against a device-to-device copy measured in the same run, on random inputs
 * several times the L2. Bytes are the fewest each op must move (every input read once, every output written
 * once); rates are those bytes over the median of 15 event-timed runs after 3 warm-ups (CudaTimer). The same
 * shapes run through PyTorch in scripts/gpu/torch_fused_peer.py. Each result is one line:
 * <pre>FUSED | what | shape | ms | GB/s | vs copy</pre>
 * Runs only from the GPU script (tag gpu-benchmark).
 */
@Tag("gpu-benchmark")
class FusedGpuBenchmark {
    private static final long GIB = 1L << 30;
    /** B T rows of GPT-2 logits: 8 sequences of 1024 tokens, V = 50257. */
    private static final int LM_ROWS = 8 * 1024, VOCAB = 50257;

    private CudaBackend cuda;
    private Device gpu;
    private CudaTimer timer;
    private double copyGbs;
    private long seed = 1;

    private Tensor random(double lo, double hi, int... shape) {
        Tensor t = Tensor.empty(DType.F32, gpu, shape);
        cuda.uniform(t, seed++, 0, lo, hi);
        return t;
    }

    private void row(String what, int[] shape, double bytes, Runnable work) {
        double ms = timer.median(3, 15, work);
        double gbs = bytes / (ms * 1e-3) / 1e9;
        System.out.printf("FUSED | %-30s | %-14s | %8.3f ms | %6.0f GB/s | %3.0f%% of copy%n", what,
                Arrays.toString(shape).replace(" ", ""), ms, gbs, 100 * gbs / copyGbs);
    }

    private static void free(Tensor... ts) {
        for (Tensor t : ts) t.storage().close();
    }

    @Test
    void fusedKernelBandwidth() {
        assumeTrue(Cuda.isAvailable(), () -> "no GPU here: " + Cuda.unavailableReason());
        gpu = Device.cuda(0);
        cuda = Cuda.backend(gpu);
        CudaContext ctx = cuda.context();
        CudaFused fused = new CudaFused(ctx);
        try (CudaTimer t = new CudaTimer(ctx)) {
            timer = t;
            int n = (int) (GIB / 4);
            Tensor a = random(-1, 1, n), y = Tensor.empty(DType.F32, gpu, n);
            double copyMs = timer.median(3, 15, () -> cuda.copy(y, a));
            copyGbs = 2.0 * GIB / (copyMs * 1e-3) / 1e9;
            System.out.printf("FUSED | %-30s | %-14s | %8.3f ms | %6.0f GB/s | 100%% of copy%n",
                    "device-to-device copy", "1GiB", copyMs, copyGbs);

            // GELU over 1 GiB: read x (and dy), write y (dx)
            Tensor dy = random(-1, 1, n);
            row("gelu fwd", new int[] {n}, 2.0 * GIB, () -> fused.gelu(y, a));
            row("gelu bwd", new int[] {n}, 3.0 * GIB, () -> fused.geluBackward(y, dy, a));
            free(a, y, dy);

            // softmax / log-softmax: rows of 4096 and GPT-2's vocabulary
            for (int[] shape : new int[][] {{16384, 4096}, {2048, VOCAB}}) {
                double bytes = 4.0 * shape[0] * shape[1];
                Tensor x = random(-4, 4, shape), out = Tensor.empty(DType.F32, gpu, shape);
                Tensor g = random(-1, 1, shape), dx = Tensor.empty(DType.F32, gpu, shape);
                row("softmax fwd", shape, 2 * bytes, () -> fused.softmax(out, x, false));
                row("log_softmax fwd", shape, 2 * bytes, () -> fused.softmax(out, x, true));
                fused.softmax(out, x, true);
                row("log_softmax bwd", shape, 3 * bytes, () -> fused.softmaxBackward(dx, g, out, true));
                fused.softmax(out, x, false);
                row("softmax bwd", shape, 3 * bytes, () -> fused.softmaxBackward(dx, g, out, false));
                free(x, out, g, dx);
            }

            // token log-probs and cross-entropy: the logits of 8 x 1024 tokens
            for (int[] shape : new int[][] {{LM_ROWS, VOCAB}, {16384, 4096}}) {
                int rows = shape[0], v = shape[1];
                double bytes = 4.0 * rows * v;
                Tensor logits = random(-4, 4, shape), dl = Tensor.empty(DType.F32, gpu, shape);
                int[] ids = new int[rows];
                for (int i = 0; i < rows; i++) ids[i] = (int) ((i * 2654435761L) % v);
                Tensor tg = Tensor.ofInts(ids, rows).to(gpu);
                Tensor logp = Tensor.empty(DType.F32, gpu, rows), lse = Tensor.empty(DType.F32, gpu, rows);
                Tensor g = random(-1, 1, rows);
                row("token logprobs fwd T=0.7", shape, bytes, () -> fused.tokenLogProbs(logp, lse, logits, tg, 0.7));
                fused.tokenLogProbs(logp, lse, logits, tg, 0.7);
                row("token logprobs bwd T=0.7", shape, 2 * bytes,
                        () -> fused.tokenLogProbsBackward(dl, g, logits, tg, lse, 0.7));
                row("token logprobs fwd+bwd T=0.7", shape, 3 * bytes, () -> {
                    fused.tokenLogProbs(logp, lse, logits, tg, 0.7);
                    fused.tokenLogProbsBackward(dl, g, logits, tg, lse, 0.7);
                });
                row("cross_entropy fwd", shape, bytes,
                        () -> free(fused.crossEntropy(logits, tg, null, -100)));
                Tensor[] ce = fused.crossEntropy(logits, tg, null, -100);
                Tensor one = Tensor.full(1.0, DType.F32, gpu);
                row("cross_entropy bwd", shape, 2 * bytes,
                        () -> free(fused.crossEntropyBackward(one, ce[1], logits, tg, null, ce[2], -100)));
                row("cross_entropy fwd+bwd", shape, 3 * bytes, () -> {
                    Tensor[] r = fused.crossEntropy(logits, tg, null, -100);
                    free(fused.crossEntropyBackward(one, r[1], logits, tg, null, r[2], -100));
                    free(r);
                });
                free(logits, dl, tg, logp, lse, g, one);
                free(ce);
            }

            // BF16 logits of GPT-2's vocabulary: half the bytes, F32 logp and lse
            {
                int[] shape = {LM_ROWS, VOCAB};
                double bytes = 2.0 * LM_ROWS * VOCAB;
                Tensor x32 = random(-4, 4, shape);
                Tensor logits = x32.to(DType.BF16), dl = Tensor.empty(DType.BF16, gpu, shape);
                free(x32);
                int[] ids = new int[LM_ROWS];
                for (int i = 0; i < LM_ROWS; i++) ids[i] = (int) ((i * 2654435761L) % VOCAB);
                Tensor tg = Tensor.ofInts(ids, LM_ROWS).to(gpu);
                Tensor logp = Tensor.empty(DType.F32, gpu, LM_ROWS), lse = Tensor.empty(DType.F32, gpu, LM_ROWS);
                Tensor g = random(-1, 1, LM_ROWS);
                row("token logprobs fwd BF16 T=0.7", shape, bytes, () -> fused.tokenLogProbs(logp, lse, logits, tg, 0.7));
                fused.tokenLogProbs(logp, lse, logits, tg, 0.7);
                row("token logprobs bwd BF16 T=0.7", shape, 2 * bytes,
                        () -> fused.tokenLogProbsBackward(dl, g, logits, tg, lse, 0.7));
                Tensor y16 = Tensor.empty(DType.BF16, gpu, shape);
                row("log_softmax fwd BF16", shape, 2 * bytes, () -> fused.softmax(y16, logits, true));
                free(logits, dl, tg, logp, lse, g, y16);
            }

            // layer norm: C = 768 (GPT-2) and 4096
            for (int[] shape : new int[][] {{65536, 768}, {16384, 4096}}) {
                int rows = shape[0], c = shape[1];
                double bytes = 4.0 * rows * c;
                Tensor x = random(-2, 2, shape), out = Tensor.empty(DType.F32, gpu, shape);
                Tensor w = random(0.5, 1.5, c), b = random(-0.5, 0.5, c);
                Tensor mean = Tensor.empty(DType.F32, gpu, rows), rstd = Tensor.empty(DType.F32, gpu, rows);
                Tensor g = random(-1, 1, shape), dx = Tensor.empty(DType.F32, gpu, shape);
                Tensor dw = Tensor.empty(DType.F32, gpu, c), db = Tensor.empty(DType.F32, gpu, c);
                row("layer_norm fwd", shape, 2 * bytes, () -> fused.layerNorm(out, mean, rstd, x, w, b, 1e-5));
                fused.layerNorm(out, mean, rstd, x, w, b, 1e-5);
                row("layer_norm bwd (dx, dw, db)", shape, 3 * bytes,
                        () -> fused.layerNormBackward(dx, dw, db, g, x, w, mean, rstd));
                row("layer_norm fwd+bwd", shape, 5 * bytes, () -> {
                    fused.layerNorm(out, mean, rstd, x, w, b, 1e-5);
                    fused.layerNormBackward(dx, dw, db, g, x, w, mean, rstd);
                });
                free(x, out, w, b, mean, rstd, g, dx, dw, db);
            }

            // AdamW over GPT-2 small's 124M parameters (148 tensors), one launch
            List<int[]> shapes = gpt2SmallShapes();
            List<Tensor> p = new ArrayList<>(), gr = new ArrayList<>(), m = new ArrayList<>(), v = new ArrayList<>();
            long params = 0;
            for (int[] s : shapes) {
                p.add(random(-0.1, 0.1, s));
                gr.add(random(-0.01, 0.01, s));
                m.add(random(-0.001, 0.001, s));
                v.add(random(0, 1e-6, s));
                params += p.get(p.size() - 1).numel();
            }
            long[] step = {1};
            row("adamw (" + shapes.size() + " tensors)", new int[] {(int) params}, 28.0 * params,
                    () -> fused.adamw(p, gr, m, v, 6e-4, 0.9, 0.95, 1e-8, 0.1, step[0]++));
            row("adamw per tensor (" + shapes.size() + " launches)", new int[] {(int) params}, 28.0 * params, () -> {
                for (int k = 0; k < p.size(); k++) {
                    fused.adamw(p.get(k), gr.get(k), m.get(k), v.get(k), 6e-4, 0.9, 0.95, 1e-8, 0.1, step[0]);
                }
                step[0]++;
            });
            for (List<Tensor> l : List.of(p, gr, m, v)) free(l.toArray(new Tensor[0]));
        }
    }

    /** The parameter shapes of GPT-2 small (n_layer 12, n_embd 768, vocab 50257, 1024 positions). */
    static List<int[]> gpt2SmallShapes() {
        List<int[]> s = new ArrayList<>();
        s.add(new int[] {50257, 768});
        s.add(new int[] {1024, 768});
        for (int l = 0; l < 12; l++) {
            s.add(new int[] {768});
            s.add(new int[] {768});
            s.add(new int[] {768, 2304});
            s.add(new int[] {2304});
            s.add(new int[] {768, 768});
            s.add(new int[] {768});
            s.add(new int[] {768});
            s.add(new int[] {768});
            s.add(new int[] {768, 3072});
            s.add(new int[] {3072});
            s.add(new int[] {3072, 768});
            s.add(new int[] {768});
        }
        s.add(new int[] {768});
        s.add(new int[] {768});
        return s;
    }
}
