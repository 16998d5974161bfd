package org.rlhf4j.kernels.nn;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.rlhf4j.kernels.Cuda;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.NnOps;
import org.rlhf4j.tensor.Tensor;

/**
 * Every fused kernel against the CPU backend on fresh random inputs: odd sizes, rows longer than one pass of
 * the block (V = 50257: 1024 threads loop 13 times over the row's float4s), rows that start off a 16-byte
 * boundary (head and tail paths), outputs poisoned with NaN
 * before each run. F32 results within 1e-5 normwise relative error; AdamW and the embedding backward bit for
 * bit. Skipped without a GPU.
 *
 * <p>Inputs are unit normals: where a softmax row is nearly one-hot, 1 - p and dy - sum(dy y) cancel, and
 * both backends then carry a relative error of about ulp / (1 - p) in that element (inherent to F32; the
 * GPU's exponential is within 2^-22 relative, the CPU's correctly rounded).
 */
@Tag("gpu")
class FusedGpuTest {
    private static final double TOL = 1e-5;
    private static Device gpu;
    private static CudaFused fused;
    private final Random rnd = new Random(System.nanoTime());

    /** Each test skips, saying why, without a GPU. */
    @BeforeEach
    void device() {
        assumeTrue(Cuda.isAvailable(), () -> "no GPU here: " + Cuda.unavailableReason());
        if (fused == null) {
            gpu = Device.cuda(0);
            fused = new CudaFused(Cuda.backend(gpu).context());
        }
    }

    // ---- helpers ----

    private Tensor normal(double scale, int... shape) {
        int n = numel(shape);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (rnd.nextGaussian() * scale);
        return Tensor.wrap(v, shape);
    }

    private Tensor targets(int rows, int vocab) {
        int[] t = new int[rows];
        for (int i = 0; i < rows; i++) t[i] = rnd.nextInt(vocab);
        return Tensor.ofInts(t, rows);
    }

    private static int numel(int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        return n;
    }

    /** A NaN-filled GPU tensor; with skew > 0 it starts skew elements into its storage (off 16 bytes). */
    private static Tensor poisoned(int skew, int... shape) {
        int n = numel(shape);
        Tensor flat = Tensor.full(Double.NaN, DType.F32, gpu, n + skew);
        return flat.narrow(0, skew, n).reshape(shape);
    }

    /** The same values on the GPU, starting skew elements into their storage. */
    private static Tensor onGpu(Tensor cpu, int skew) {
        if (skew == 0) return cpu.to(gpu);
        int n = cpu.numel();
        Tensor flat = Tensor.zeros(cpu.dtype(), gpu, n + skew);
        Tensor view = flat.narrow(0, skew, n).reshape(cpu.shape());
        view.backend().copyFromHost(view, cpu.contiguous());
        return view;
    }

    private static void assertNormwise(String what, Tensor expected, Tensor found) {
        assertNormwise(what, expected, found, TOL);
    }

    private static void assertNormwise(String what, Tensor expected, Tensor found, double tol) {
        double[] e = expected.to(Device.CPU).toDoubleArray(), f = found.to(Device.CPU).toDoubleArray();
        assertEquals(e.length, f.length, what + ": element count");
        double num = 0, den = 0;
        for (int i = 0; i < e.length; i++) {
            if (Double.isNaN(e[i])) {
                assertTrue(Double.isNaN(f[i]), what + ": expected NaN at flat " + i + ", found " + f[i]);
                continue;
            }
            assertFalse(Double.isNaN(f[i]), () -> what + ": NaN (unwritten?) where " + "a value was expected");
            num += (f[i] - e[i]) * (f[i] - e[i]);
            den += e[i] * e[i];
        }
        double rel = den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
        assertTrue(rel <= tol, what + ": normwise relative error " + rel + " exceeds " + tol);
    }

    private static void assertBits(String what, Tensor expected, Tensor found) {
        float[] e = expected.to(Device.CPU).toFloatArray(), f = found.to(Device.CPU).toFloatArray();
        assertEquals(e.length, f.length, what);
        for (int i = 0; i < e.length; i++) {
            if (Float.floatToIntBits(e[i]) != Float.floatToIntBits(f[i])) {
                fail(what + ": at flat " + i + " the CPU has " + e[i] + ", the GPU " + f[i]);
            }
        }
    }

    private static final int[][] ROWS = {{1, 1}, {3, 7}, {33, 33}, {5, 1000}, {4, 4097}, {2, 5000}, {2, 50257},
            {2, 3, 129}};

    // ---- softmax ----

    @Test
    void softmaxAndLogSoftmaxMatchTheCpu() {
        for (int[] shape : ROWS) {
            for (boolean log : new boolean[] {false, true}) {
                for (int skew : new int[] {0, 1}) {
                    Tensor x = normal(1, shape);
                    Tensor y = poisoned(skew, shape);
                    fused.softmax(y, onGpu(x, skew), log);
                    assertNormwise((log ? "logSoftmax " : "softmax ") + java.util.Arrays.toString(shape) + " skew "
                            + skew, NnOps.softmax(x, log), y);

                    Tensor dy = normal(1, shape);
                    Tensor yCpu = NnOps.softmax(x, log);
                    Tensor dx = poisoned(skew, shape);
                    fused.softmaxBackward(dx, onGpu(dy, skew), onGpu(yCpu, skew), log);
                    assertNormwise((log ? "logSoftmaxBackward " : "softmaxBackward ")
                            + java.util.Arrays.toString(shape), NnOps.softmaxBackward(dy, yCpu, log), dx);
                }
            }
        }
    }

    @Test
    void bf16SoftmaxAndTokenLogProbsAccumulateInF32() {
        for (int[] shape : ROWS) {
            int vocab = shape[shape.length - 1];
            int rows = numel(shape) / vocab;
            int[] lead = java.util.Arrays.copyOf(shape, shape.length - 1);
            Tensor x16 = normal(1, shape).to(DType.BF16);
            Tensor x = x16.to(DType.F32); // the values the GPU sees, exactly
            String at = java.util.Arrays.toString(shape);
            for (boolean log : new boolean[] {false, true}) {
                Tensor y = Tensor.full(Double.NaN, DType.BF16, gpu, shape);
                fused.softmax(y, x16.to(gpu), log);
                assertNormwise("bf16 " + (log ? "logSoftmax " : "softmax ") + at, NnOps.softmax(x, log),
                        y.to(DType.F32), 1e-2);
                Tensor y32 = y.to(DType.F32).to(Device.CPU); // the bf16 forward output, exactly
                Tensor dy16 = normal(1, shape).to(DType.BF16);
                Tensor dx = Tensor.full(Double.NaN, DType.BF16, gpu, shape);
                fused.softmaxBackward(dx, dy16.to(gpu), y, log);
                assertNormwise("bf16 " + (log ? "logSoftmaxBackward " : "softmaxBackward ") + at,
                        NnOps.softmaxBackward(dy16.to(DType.F32), y32, log), dx.to(DType.F32), 1e-2);
            }
            Tensor tg = targets(rows, vocab).reshape(lead);
            Tensor[] cpu = NnOps.tokenLogProbs(x, tg, 0.7);
            Tensor logp = poisoned(0, lead), lse = poisoned(0, lead);
            Tensor g16 = x16.to(gpu), gTg = tg.to(gpu);
            fused.tokenLogProbs(logp, lse, g16, gTg, 0.7);
            assertNormwise("bf16 logits: F32 logp " + at, cpu[0], logp);
            assertNormwise("bf16 logits: F32 lse " + at, cpu[1], lse);
            Tensor g = normal(1, rows).reshape(lead);
            Tensor dl = Tensor.full(Double.NaN, DType.BF16, gpu, shape);
            fused.tokenLogProbsBackward(dl, g.to(gpu), g16, gTg, cpu[1].to(gpu), 0.7);
            assertEquals(DType.BF16, dl.dtype());
            assertNormwise("bf16 dlogits " + at, NnOps.tokenLogProbsBackward(g, x, tg, cpu[1], 0.7), dl.to(DType.F32),
                    1e-2);
        }
    }

    @Test
    void softmaxThroughTheBackendTakesStridedInputs() {
        Tensor x = normal(1, 300, 6);
        Tensor xt = x.transpose(0, 1); // [6, 300], not contiguous
        Tensor y = NnOps.softmax(x.to(gpu).transpose(0, 1), true);
        assertNormwise("logSoftmax of a transposed view", NnOps.softmax(xt, true), y);
    }

    // ---- token log-probs ----

    @Test
    void tokenLogProbsMatchTheCpuAtAnyTemperature() {
        for (int[] shape : ROWS) {
            int vocab = shape[shape.length - 1];
            int rows = numel(shape) / vocab;
            int[] lead = java.util.Arrays.copyOf(shape, shape.length - 1);
            for (double temperature : new double[] {1.0, 0.7}) {
                Tensor logits = normal(1, shape);
                Tensor tg = targets(rows, vocab).reshape(lead);
                Tensor[] cpu = NnOps.tokenLogProbs(logits, tg, temperature);
                Tensor logp = poisoned(0, lead), lse = poisoned(0, lead);
                Tensor gLogits = onGpu(logits, 1), gTg = tg.to(gpu);
                fused.tokenLogProbs(logp, lse, gLogits, gTg, temperature);
                String at = java.util.Arrays.toString(shape) + " T " + temperature;
                assertNormwise("logp " + at, cpu[0], logp);
                assertNormwise("lse " + at, cpu[1], lse);

                float[] gv = normal(1, rows).toFloatArray();
                gv[0] = 0; // a masked row: exact zeros
                Tensor g = Tensor.wrap(gv, rows).reshape(lead);
                Tensor dl = poisoned(1, shape);
                fused.tokenLogProbsBackward(dl, g.to(gpu), gLogits, gTg, cpu[1].to(gpu), temperature);
                assertNormwise("dlogits " + at, NnOps.tokenLogProbsBackward(g, logits, tg, cpu[1], temperature), dl);
                float[] first = dl.reshape(-1).narrow(0, 0, vocab).to(Device.CPU).toFloatArray();
                for (float f : first) assertEquals(0f, f, "a row with g = 0 has a zero gradient");
            }
        }
    }

    @Test
    void aTargetOutsideTheVocabularyGivesNaNInsteadOfAnOutOfBoundsRead() {
        Tensor logits = normal(1, 3, 100).to(gpu);
        Tensor tg = Tensor.ofInts(new int[] {5, 100, -1}, 3).to(gpu);
        Tensor logp = poisoned(0, 3), lse = poisoned(0, 3);
        fused.tokenLogProbs(logp, lse, logits, tg, 1.0);
        float[] lp = logp.to(Device.CPU).toFloatArray(), ls = lse.to(Device.CPU).toFloatArray();
        assertTrue(Float.isFinite(lp[0]));
        assertTrue(Float.isNaN(lp[1]) && Float.isNaN(lp[2]));
        for (float l : ls) assertTrue(Float.isFinite(l), "lse does not depend on the target");
    }

    // ---- cross-entropy ----

    @Test
    void maskedCrossEntropyMatchesTheUnfusedComposition() {
        int ignore = -100;
        for (int[] shape : new int[][] {{7, 13}, {64, 1000}, {5, 50257}}) {
            int rows = shape[0], vocab = shape[1];
            Tensor logits = normal(1, shape);
            int[] t = targets(rows, vocab).toIntArray();
            float[] mk = new float[rows];
            for (int r = 0; r < rows; r++) mk[r] = rnd.nextInt(4) == 0 ? 0f : 1f;
            mk[0] = 1f;
            t[rows - 1] = ignore;
            Tensor tg = Tensor.ofInts(t, rows), mask = Tensor.wrap(mk, rows);
            // the composition of autograd's Loss.crossEntropy, on the CPU
            float[] w = new float[rows];
            int[] safe = t.clone();
            double count = 0;
            for (int r = 0; r < rows; r++) {
                w[r] = t[r] == ignore ? 0f : mk[r];
                if (t[r] == ignore) safe[r] = 0;
                count += w[r];
            }
            Tensor weights = Tensor.wrap(w, rows);
            Tensor[] lp = NnOps.tokenLogProbs(logits, Tensor.ofInts(safe, rows), 1.0);
            double loss = lp[0].mul(weights).sum().div(-count).item();
            double gLoss = 0.37;
            Tensor dCpu = NnOps.tokenLogProbsBackward(weights.div(-count).mul(gLoss), logits, Tensor.ofInts(safe, rows),
                    lp[1], 1.0);

            Tensor[] out = fused.crossEntropy(logits.to(gpu), tg.to(gpu), mask.to(gpu), ignore);
            double found = out[0].to(Device.CPU).item();
            assertEquals(count, out[1].to(Device.CPU).item(), "count of positions");
            assertTrue(Math.abs(found - loss) <= TOL * Math.abs(loss), "loss " + found + " vs " + loss);
            Tensor dx = fused.crossEntropyBackward(Tensor.full(gLoss, DType.F32, gpu), out[1], logits.to(gpu),
                    tg.to(gpu), mask.to(gpu), out[2], ignore);
            assertNormwise("cross-entropy gradient " + java.util.Arrays.toString(shape), dCpu, dx);
            float[] last = dx.narrow(0, rows - 1, 1).to(Device.CPU).toFloatArray();
            for (float f : last) assertEquals(0f, f, "an ignored position has a zero gradient");
        }
        Tensor[] none = fused.crossEntropy(normal(1, 2, 5).to(gpu), Tensor.ofInts(new int[] {ignore, ignore}, 2).to(gpu),
                null, ignore);
        assertTrue(Double.isNaN(none[0].to(Device.CPU).item()), "no counted position: NaN, as PyTorch");
    }

    // ---- layer norm ----

    @Test
    void layerNormForwardAndBackwardMatchTheCpu() {
        int[][] shapes = {{4, 768}, {3, 1001}, {300, 64}, {2, 6144}, {1, 3}, {2, 5, 1600}};
        for (int[] shape : shapes) {
            int c = shape[shape.length - 1];
            for (boolean affine : new boolean[] {true, false}) {
                Tensor x = normal(2, shape).add(0.5);
                Tensor w = affine ? normal(1, c) : null, b = affine ? normal(1, c) : null;
                Tensor[] cpu = NnOps.layerNorm(x, w, b, 1e-5);
                int[] lead = java.util.Arrays.copyOf(shape, shape.length - 1);
                Tensor y = poisoned(0, shape), mean = poisoned(0, lead), rstd = poisoned(0, lead);
                Tensor gx = x.to(gpu), gw = affine ? w.to(gpu) : null;
                fused.layerNorm(y, mean, rstd, gx, gw, affine ? b.to(gpu) : null, 1e-5);
                String at = java.util.Arrays.toString(shape) + (affine ? " affine" : "");
                assertNormwise("y " + at, cpu[0], y);
                assertNormwise("mean " + at, cpu[1], mean);
                assertNormwise("rstd " + at, cpu[2], rstd);

                Tensor dy = normal(1, shape);
                Tensor[] back = NnOps.layerNormBackward(dy, x, w, cpu[1], cpu[2], true, true);
                Tensor dx = poisoned(0, shape), dw = poisoned(0, c), db = poisoned(0, c);
                Tensor gdy = dy.to(gpu), gm = cpu[1].to(gpu), gr = cpu[2].to(gpu);
                fused.layerNormBackward(dx, dw, db, gdy, gx, gw, gm, gr);
                assertNormwise("dx " + at, back[0], dx);
                assertNormwise("dweight " + at, back[1], dw);
                assertNormwise("dbias " + at, back[2], db);

                Tensor dw2 = poisoned(0, c), dx2 = poisoned(0, shape);
                fused.layerNormBackward(dx2, dw2, null, gdy, gx, gw, gm, gr);
                assertBits("dweight run to run " + at, dw, dw2);
                assertBits("dx with and without dbias " + at, dx, dx2);
            }
        }
    }

    // ---- GELU ----

    @Test
    void geluForwardAndBackwardMatchTheCpu() {
        for (int n : new int[] {1, 3, 1000, 4099, 1 << 20}) {
            for (int skew : new int[] {0, 1}) {
                Tensor x = normal(3, n);
                Tensor y = poisoned(skew, n);
                fused.gelu(y, onGpu(x, skew));
                assertNormwise("gelu n " + n, x.gelu(), y);
                Tensor dy = normal(1, n);
                Tensor dx = poisoned(skew, n);
                fused.geluBackward(dx, onGpu(dy, skew), onGpu(x, skew));
                assertNormwise("geluBackward n " + n, NnOps.geluBackward(dy, x), dx);
            }
        }
    }

    // ---- AdamW ----

    @Test
    void adamwOverManyTensorsInOneLaunchIsTheCpuUpdateBitForBit() {
        int[] sizes = {1, 7, AdamwTable.CHUNK, AdamwTable.CHUNK + 5, 100_003};
        List<Tensor> p = new ArrayList<>(), g = new ArrayList<>(), m = new ArrayList<>(), v = new ArrayList<>();
        List<Tensor[]> cpu = new ArrayList<>();
        for (int k = 0; k < sizes.length; k++) {
            int skew = k == 3 ? 1 : 0; // one tensor off 16 bytes: the scalar path
            Tensor[] t = {normal(1, sizes[k]), normal(0.1, sizes[k]), normal(0.01, sizes[k]), normal(0.01, sizes[k]).abs()};
            cpu.add(t);
            p.add(onGpu(t[0], skew));
            g.add(onGpu(t[1], skew));
            m.add(onGpu(t[2], skew));
            v.add(onGpu(t[3], skew));
        }
        for (long step = 1; step <= 3; step++) {
            fused.adamw(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.01, step);
            for (Tensor[] t : cpu) NnOps.adamw(t[0], t[1], t[2], t[3], 1e-3, 0.9, 0.999, 1e-8, 0.01, step);
        }
        for (int k = 0; k < sizes.length; k++) {
            assertBits("param " + sizes[k], cpu.get(k)[0], p.get(k));
            assertBits("m " + sizes[k], cpu.get(k)[2], m.get(k));
            assertBits("v " + sizes[k], cpu.get(k)[3], v.get(k));
        }
    }

    @Test
    void singleTensorAdamwIsTheCpuUpdateBitForBit() {
        for (int n : new int[] {1, 6, 4096, 1_000_003}) {
            for (int skew : new int[] {0, 1}) {
                Tensor[] t = {normal(1, n), normal(0.1, n), normal(0.01, n), normal(0.01, n).abs()};
                Tensor p = onGpu(t[0], skew), g = onGpu(t[1], skew), m = onGpu(t[2], skew), v = onGpu(t[3], skew);
                for (long step = 1; step <= 2; step++) {
                    fused.adamw(p, g, m, v, 3e-4, 0.9, 0.95, 1e-8, 0.1, step);
                    NnOps.adamw(t[0], t[1], t[2], t[3], 3e-4, 0.9, 0.95, 1e-8, 0.1, step);
                }
                assertBits("param n " + n + " skew " + skew, t[0], p);
                assertBits("m n " + n, t[2], m);
                assertBits("v n " + n, t[3], v);
            }
        }
    }

    // ---- embedding ----

    @Test
    void embeddingBackwardIsTheCpuSumBitForBit() {
        int vocab = 97, c = 130, n = 500;
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = rnd.nextInt(i < 100 ? 3 : vocab); // repeated ids add up
        Tensor dw = normal(1, vocab, c), dout = normal(1, n, c);
        Tensor gdw = dw.to(gpu);
        fused.embeddingBackward(gdw, Tensor.ofInts(ids, n).to(gpu), dout.to(gpu));
        Tensor cdw = dw.copy();
        NnOps.embeddingBackward(cdw, Tensor.ofInts(ids, n), dout);
        assertBits("dweight", cdw, gdw);
    }
}
