package org.rlhf4j.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.tensor.UnaryOp;

/**
 * The fused NN kernels of {@link CpuNn}, forward and backward:
 * <ul>
 *   <li>F64 against the unfused composition of Tensor ops (softmax, log-softmax, token log-probs, layer norm,
 *       GELU backward), or against plain double loops written here (embedding backward, AdamW), to 1e-10;</li>
 *   <li>every backward against central finite differences of its forward in F64 (eps 1e-6, atol 1e-5,
 *       rtol 1e-3, as PyTorch's gradcheck);</li>
 *   <li>F32 against the F64 kernel run on the same (F32-representable) inputs, with F32 tolerances.</li>
 * </ul>
 * The build runs this class twice, with the Vector API twin and with -Drlhf4j.simd=false; when the Vector API is
 * active, one test also compares the two twins directly.
 */
class CpuNnTest {
    private static final double F64_TOL = 1e-10;
    private static final double FD_EPS = 1e-6, FD_ATOL = 1e-5, FD_RTOL = 1e-3;

    private int savedThreads;

    @BeforeEach
    void saveThreads() {
        savedThreads = Parallel.threads();
    }

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(savedThreads);
    }

    // =====================================================================================================
    // helpers
    // =====================================================================================================

    private static Tensor randn(long seed, DType dtype, double scale, int... shape) {
        return Tensor.randn(new Generator(seed), DType.F64, shape).mul(scale).to(dtype);
    }

    /** An F64 tensor whose values are exactly representable in F32, so F32 and F64 runs see the same inputs. */
    private static Tensor randn32(long seed, double scale, int... shape) {
        return randn(seed, DType.F32, scale, shape).to(DType.F64);
    }

    private static Tensor randomIds(long seed, int bound, int... shape) {
        SplittableRandom random = new SplittableRandom(seed);
        int n = 1;
        for (int s : shape) n *= s;
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = random.nextInt(bound);
        return Tensor.ofInts(ids, shape);
    }

    /** Fails naming the worst element unless |actual - expected| <= atol + rtol |expected| everywhere. */
    private static void assertClose(String what, Tensor actual, Tensor expected, double rtol, double atol) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        double[] a = actual.toDoubleArray(), e = expected.toDoubleArray();
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < a.length; i++) {
            double excess = Math.abs(a[i] - e[i]) - (atol + rtol * Math.abs(e[i]));
            if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
                worst = i;
                worstExcess = excess;
            }
        }
        if (worst >= 0) {
            fail(what + ": element " + worst + " is " + a[worst] + ", expected " + e[worst] + " (rtol " + rtol
                    + ", atol " + atol + ")");
        }
    }

    private static void assertClose(String what, Tensor actual, Tensor expected) {
        assertClose(what, actual, expected, 0, F64_TOL);
    }

    private static void assertFinite(String what, Tensor t) {
        for (double v : t.toDoubleArray()) assertTrue(Double.isFinite(v), what + ": found " + v);
    }

    /** A scalar function of one input's elements, for finite differences. */
    private interface Loss {
        double at(double[] x);
    }

    /** Central differences of {@code loss} at {@code x} (x is perturbed in place and restored). */
    private static double[] numericGradient(double[] x, Loss loss) {
        double[] g = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double saved = x[i];
            x[i] = saved + FD_EPS;
            double plus = loss.at(x);
            x[i] = saved - FD_EPS;
            double minus = loss.at(x);
            x[i] = saved;
            g[i] = (plus - minus) / (2 * FD_EPS);
        }
        return g;
    }

    private static void assertGradient(String what, Tensor analytic, double[] numeric) {
        assertClose(what + " vs finite differences", analytic.reshape(-1), Tensor.of(numeric), FD_RTOL, FD_ATOL);
    }

    private static double dot(Tensor a, Tensor b) {
        return a.mul(b).sum().item();
    }

    // =====================================================================================================
    // softmax and log-softmax
    // =====================================================================================================

    private static Tensor softmax(Tensor x, boolean log) {
        Tensor y = Tensor.empty(x.dtype(), x.shape());
        CpuNn.softmax(y, x, log);
        return y;
    }

    /** The unfused composition: z = x - max; softmax = e^z / sum e^z; log-softmax = z - log sum e^z. */
    private static Tensor softmaxReference(Tensor x, boolean log) {
        Tensor z = x.sub(x.max(-1, true));
        Tensor sum = z.exp().sum(-1, true);
        return log ? z.sub(sum.log()) : z.exp().div(sum);
    }

    private static Tensor softmaxBackward(Tensor dy, Tensor y, boolean log) {
        Tensor dx = Tensor.empty(y.dtype(), y.shape());
        CpuNn.softmaxBackward(dx, dy, y, log);
        return dx;
    }

    /** softmax: y (dy - sum(dy y)); log-softmax: dy - e^y sum(dy). */
    private static Tensor softmaxBackwardReference(Tensor dy, Tensor y, boolean log) {
        return log ? dy.sub(y.exp().mul(dy.sum(-1, true))) : y.mul(dy.sub(dy.mul(y).sum(-1, true)));
    }

    private static Tensor[] softmaxInputs() {
        return new Tensor[] {
            randn(1, DType.F64, 3, 2, 3, 7),                         // leading dims flattened to R = 6
            randn(2, DType.F64, 2, 9, 5).t(),                        // transposed: [5, 9], strided
            randn(3, DType.F64, 2, 4, 12).narrow(1, 3, 8),           // narrowed: rows with a gap between them
            randn(4, DType.F64, 1, 1, 37),                           // R = 1
            randn(5, DType.F64, 1, 6, 1),                            // V = 1
            randn(6, DType.F64, 1e4, 3, 20),                         // |x| ~ 1e4: exp must not overflow
        };
    }

    @Test
    void softmaxAndLogSoftmaxMatchTheirCompositionInF64() {
        for (boolean log : new boolean[] {false, true}) {
            for (Tensor x : softmaxInputs()) {
                String what = (log ? "logSoftmax " : "softmax ") + x;
                Tensor y = softmax(x, log);
                assertClose(what, y, softmaxReference(x, log));
                assertFinite(what, y);
            }
        }
    }

    @Test
    void softmaxBackwardMatchesItsCompositionInF64() {
        for (boolean log : new boolean[] {false, true}) {
            int seed = 100;
            for (Tensor x : softmaxInputs()) {
                Tensor y = softmax(x, log);
                Tensor dy = randn(seed++, DType.F64, 1, x.shape());
                assertClose((log ? "logSoftmaxBackward " : "softmaxBackward ") + x,
                        softmaxBackward(dy, y, log),
                        softmaxBackwardReference(dy, y, log));
            }
        }
    }

    @Test
    void softmaxBackwardMatchesFiniteDifferences() {
        for (boolean log : new boolean[] {false, true}) {
            int[] shape = {3, 5};
            double[] x = randn(10, DType.F64, 2, shape).toDoubleArray();
            Tensor dy = randn(11, DType.F64, 1, shape);
            Tensor y = softmax(Tensor.of(x, shape), log);
            double[] numeric = numericGradient(x, xs -> dot(dy, softmax(Tensor.of(xs, shape), log)));
            assertGradient(log ? "logSoftmaxBackward" : "softmaxBackward", softmaxBackward(dy, y, log), numeric);
        }
    }

    @Test
    void softmaxInF32MatchesF64() {
        for (boolean log : new boolean[] {false, true}) {
            for (int[] shape : new int[][] {{4, 1000}, {3, 7}, {1, 1}, {5, 1}, {2, 33}}) {
                Tensor x = randn32(20 + shape[1], 3, shape);
                Tensor dy = randn32(40 + shape[1], 1, shape);
                Tensor y64 = softmax(x, log);
                Tensor y32 = softmax(x.to(DType.F32), log);
                String what = (log ? "logSoftmax F32 " : "softmax F32 ") + Arrays.toString(shape);
                assertClose(what, y32, y64, 1e-5, 1e-6);
                // Backward from the F32 forward output, against F64 from the same output.
                Tensor dx32 = softmaxBackward(dy.to(DType.F32), y32, log);
                Tensor dx64 = softmaxBackward(dy, y32.to(DType.F64), log);
                assertClose(what + " backward", dx32, dx64, 1e-4, 1e-5);
            }
        }
        Tensor big = randn32(60, 1e4, 3, 50);
        for (boolean log : new boolean[] {false, true}) {
            Tensor y32 = softmax(big.to(DType.F32), log);
            assertFinite("large-logit softmax F32", y32);
            assertClose("large-logit softmax F32", y32, softmax(big, log), 1e-5, 1e-5);
        }
    }

    // =====================================================================================================
    // token log-probs
    // =====================================================================================================

    /** {logp, lse}, each shaped like targets. */
    private static Tensor[] tokenLogProbs(Tensor logits, Tensor targets, double temperature) {
        Tensor logp = Tensor.empty(logits.dtype(), targets.shape());
        Tensor lse = Tensor.empty(logits.dtype(), targets.shape());
        CpuNn.tokenLogProbs(logp, lse, logits, targets, temperature);
        return new Tensor[] {logp, lse};
    }

    /** The composition: z = logits / T; lse = max + log sum e^(z - max); logp = gather(z, target) - lse. */
    private static Tensor[] tokenLogProbsReference(Tensor logits, Tensor targets, double temperature) {
        Tensor z = logits.div(temperature);
        Tensor max = z.max(-1, true);
        Tensor lse = max.add(z.sub(max).exp().sum(-1, true).log());
        Tensor picked = z.gather(-1, targets.unsqueeze(-1));
        return new Tensor[] {picked.sub(lse).squeeze(-1), lse.squeeze(-1)};
    }

    private static Tensor tokenLogProbsBackward(Tensor g, Tensor logits, Tensor targets, Tensor lse, double t) {
        Tensor dlogits = Tensor.empty(logits.dtype(), logits.shape());
        CpuNn.tokenLogProbsBackward(dlogits, g, logits, targets, lse, t);
        return dlogits;
    }

    /** g (onehot(target) - e^(z - lse)) / T, with the one-hot built by scatter-add. */
    private static Tensor tokenLogProbsBackwardReference(Tensor g, Tensor logits, Tensor targets, Tensor lse,
                                                         double temperature) {
        Tensor index = targets.unsqueeze(-1);
        int[] oneShape = index.shape();
        Tensor oneHot = Tensor.zeros(logits.dtype(), logits.shape())
                .scatterAdd(-1, index, Tensor.ones(logits.dtype(), oneShape));
        Tensor p = logits.div(temperature).sub(lse.unsqueeze(-1)).exp();
        return oneHot.sub(p).mul(g.unsqueeze(-1)).div(temperature);
    }

    private record TokenCase(String name, Tensor logits, Tensor targets, double temperature) {}

    private static TokenCase[] tokenCases() {
        Tensor strided = randn(7, DType.F64, 2, 9, 4).t();                      // [4, 9] transposed
        Tensor stridedTargets = randomIds(8, 9, 4, 2).narrow(1, 1, 1).reshape(4); // a strided column
        return new TokenCase[] {
            new TokenCase("leading dims", randn(1, DType.F64, 2, 2, 3, 11), randomIds(2, 11, 2, 3), 1.0),
            new TokenCase("temperature 0.7", randn(3, DType.F64, 2, 5, 13), randomIds(4, 13, 5), 0.7),
            new TokenCase("temperature 1.9", randn(5, DType.F64, 2, 5, 13), randomIds(6, 13, 5), 1.9),
            new TokenCase("strided logits and targets", strided, stridedTargets, 1.3),
            new TokenCase("narrowed logits", randn(9, DType.F64, 1, 3, 20).narrow(1, 2, 15),
                    randomIds(10, 15, 3), 1.0),
            new TokenCase("R = 1", randn(11, DType.F64, 1, 1, 30), randomIds(12, 30, 1), 0.9),
            new TokenCase("V = 1", randn(13, DType.F64, 1, 4, 1), randomIds(14, 1, 4), 1.1),
            new TokenCase("|logits| ~ 1e4", randn(15, DType.F64, 1e4, 3, 40), randomIds(16, 40, 3), 0.8),
            new TokenCase("V = 50257", randn(17, DType.F64, 3, 3, 50257), randomIds(18, 50257, 3), 0.85),
        };
    }

    @Test
    void tokenLogProbsMatchesLogSoftmaxGatherInF64() {
        for (TokenCase c : tokenCases()) {
            Tensor[] got = tokenLogProbs(c.logits, c.targets, c.temperature);
            Tensor[] want = tokenLogProbsReference(c.logits, c.targets, c.temperature);
            double scale = c.name.contains("1e4") ? 1e4 : 1;
            assertClose("logp " + c.name, got[0], want[0], 0, F64_TOL * scale);
            assertClose("lse " + c.name, got[1], want[1], 0, F64_TOL * scale);
            assertFinite("logp " + c.name, got[0]);
        }
    }

    @Test
    void tokenLogProbsBackwardMatchesItsCompositionInF64() {
        int seed = 200;
        for (TokenCase c : tokenCases()) {
            Tensor lse = tokenLogProbs(c.logits, c.targets, c.temperature)[1];
            Tensor g = randn(seed++, DType.F64, 1, c.targets.shape());
            Tensor got = tokenLogProbsBackward(g, c.logits, c.targets, lse, c.temperature);
            assertClose("dlogits " + c.name, got,
                    tokenLogProbsBackwardReference(g, c.logits, c.targets, lse, c.temperature));
        }
    }

    @Test
    void tokenLogProbsBackwardMatchesFiniteDifferences() {
        int[] shape = {4, 6};
        Tensor targets = Tensor.ofInts(new int[] {0, 5, 2, 2}, 4);
        for (double t : new double[] {1.0, 0.6}) {
            double[] x = randn(30, DType.F64, 2, shape).toDoubleArray();
            Tensor g = Tensor.of(new double[] {0.7, -1.3, 0.0, 2.1}, 4); // a masked row (g = 0) among them
            Tensor lse = tokenLogProbs(Tensor.of(x, shape), targets, t)[1];
            double[] numeric = numericGradient(x, xs -> dot(g, tokenLogProbs(Tensor.of(xs, shape), targets, t)[0]));
            Tensor analytic = tokenLogProbsBackward(g, Tensor.of(x, shape), targets, lse, t);
            assertGradient("tokenLogProbsBackward T=" + t, analytic, numeric);
            for (int v = 0; v < 6; v++) assertEquals(0.0, analytic.get(2, v), 0.0, "masked row gets exact zeros");
        }
    }

    @Test
    void tokenLogProbsInF32MatchesF64() {
        for (TokenCase c : tokenCases()) {
            Tensor logits = c.logits.to(DType.F32).to(DType.F64);
            Tensor[] want = tokenLogProbs(logits, c.targets, c.temperature);
            Tensor[] got = tokenLogProbs(logits.to(DType.F32), c.targets, c.temperature);
            boolean large = c.name.contains("1e4");
            // x / T rounds to F32 at |x| ~ 1e4 (ulp ~ 1e-3); elsewhere only the sums' rounding shows.
            double atol = large ? 1e-2 : 2e-5;
            assertClose("logp F32 " + c.name, got[0], want[0], 1e-6, atol);
            assertClose("lse F32 " + c.name, got[1], want[1], 1e-6, atol);
            assertFinite("logp F32 " + c.name, got[0]);

            Tensor g = randn32(300, 1, c.targets.shape());
            Tensor lse32 = got[1];
            Tensor dl32 = tokenLogProbsBackward(g.to(DType.F32), logits.to(DType.F32), c.targets, lse32, c.temperature);
            Tensor dl64 = tokenLogProbsBackward(g, logits, c.targets, lse32.to(DType.F64), c.temperature);
            // p = e^(z - lse): an error d in z - lse is a relative error d in p.
            assertClose("dlogits F32 " + c.name, dl32, dl64, large ? 1e-2 : 1e-5, large ? 1e-4 : 1e-6);
            assertFinite("dlogits F32 " + c.name, dl32);
        }
    }

    @Test
    void tokenLogProbsHandlesMaskedVocabularyAndPropagatesNaN() {
        // Row 0: the first two blocks of the row are -inf (a masked vocabulary), so the online sum starts late.
        // Row 1: a single finite logit. Row 2: a NaN, which must reach logp and lse rather than vanish.
        int v = 5000;
        double[] x = randn32(140, 2, 3, v).toDoubleArray();
        for (int i = 0; i < 4200; i++) x[i] = Double.NEGATIVE_INFINITY;
        for (int i = v; i < 2 * v; i++) x[i] = i == v + 4321 ? 1.5 : Double.NEGATIVE_INFINITY;
        x[2 * v + 17] = Double.NaN;
        Tensor logits = Tensor.of(x, 3, v), targets = Tensor.ofInts(new int[] {4500, 4321, 3}, 3);
        Tensor g = Tensor.of(new double[] {0.5, -1, 1}, 3);
        for (DType dtype : new DType[] {DType.F64, DType.F32}) {
            Tensor[] got = tokenLogProbs(logits.to(dtype), targets, 0.9);
            Tensor[] want = tokenLogProbsReference(logits.narrow(0, 0, 2), targets.narrow(0, 0, 2), 0.9);
            double tol = dtype == DType.F64 ? F64_TOL : 2e-5;
            assertClose(dtype + " logp of masked rows", got[0].narrow(0, 0, 2), want[0], tol, tol);
            assertClose(dtype + " lse of masked rows", got[1].narrow(0, 0, 2), want[1], tol, tol);
            assertEquals(0.0, got[0].get(1), 0.0, dtype + ": the only finite logit has probability 1");
            assertTrue(Double.isNaN(got[0].get(2)) && Double.isNaN(got[1].get(2)), dtype + ": NaN row");
            Tensor dl = tokenLogProbsBackward(g.to(dtype), logits.to(dtype), targets, got[1], 0.9);
            Tensor wantDl = tokenLogProbsBackwardReference(g.narrow(0, 0, 2), logits.narrow(0, 0, 2),
                    targets.narrow(0, 0, 2), want[1], 0.9);
            assertClose(dtype + " dlogits of masked rows", dl.narrow(0, 0, 2), wantDl, tol, tol);
            assertEquals(0.0, dl.get(0, 7), 0.0, dtype + ": a masked logit gets no gradient");
        }
    }

    @Test
    void tokenLogProbsRejectsTargetsOutOfRange() {
        Tensor logits = randn(1, DType.F64, 1, 2, 5);
        assertThrows(IndexOutOfBoundsException.class,
                () -> tokenLogProbs(logits, Tensor.ofInts(new int[] {1, 5}, 2), 1.0));
        assertThrows(IllegalArgumentException.class,
                () -> tokenLogProbs(logits, Tensor.ofInts(new int[] {1, 2}, 2), 0.0));
    }

    // =====================================================================================================
    // layer norm
    // =====================================================================================================

    private static final double LN_EPS = 1e-5;

    /** {y, mean, rstd}. */
    private static Tensor[] layerNorm(Tensor x, Tensor w, Tensor b) {
        int[] rowShape = Arrays.copyOf(x.shape(), x.dim() - 1);
        Tensor y = Tensor.empty(x.dtype(), x.shape());
        Tensor mean = Tensor.empty(x.dtype(), rowShape), rstd = Tensor.empty(x.dtype(), rowShape);
        CpuNn.layerNorm(y, mean, rstd, x, w, b, LN_EPS);
        return new Tensor[] {y, mean, rstd};
    }

    /** The composition: mean, biased variance, (x - mean) / sqrt(var + eps) w + b. */
    private static Tensor[] layerNormReference(Tensor x, Tensor w, Tensor b) {
        Tensor mean = x.mean(-1, true);
        Tensor centered = x.sub(mean);
        Tensor rstd = centered.square().mean(-1, true).add(LN_EPS).rsqrt();
        Tensor y = centered.mul(rstd);
        if (w != null) y = y.mul(w);
        if (b != null) y = y.add(b);
        return new Tensor[] {y, mean.squeeze(-1), rstd.squeeze(-1)};
    }

    /** {dx, dweight, dbias}; dweight and dbias are null when the flags say so. */
    private static Tensor[] layerNormBackward(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd,
                                              boolean wantWeight, boolean wantBias) {
        int c = x.size(-1);
        Tensor dx = Tensor.empty(x.dtype(), x.shape());
        // Filled with garbage: the kernel must overwrite, not accumulate.
        Tensor dw = wantWeight ? Tensor.full(123, x.dtype(), c) : null;
        Tensor db = wantBias ? Tensor.full(-7, x.dtype(), c) : null;
        CpuNn.layerNormBackward(dx, dw, db, dy, x, w, mean, rstd);
        return new Tensor[] {dx, dw, db};
    }

    /** dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)); dw = sum_r dy xhat; db = sum_r dy. */
    private static Tensor[] layerNormBackwardReference(Tensor dy, Tensor x, Tensor w) {
        Tensor[] fwd = layerNormReference(x, null, null);
        Tensor rstd = fwd[2].unsqueeze(-1);
        Tensor xhat = fwd[0];
        Tensor dxhat = w == null ? dy : dy.mul(w);
        Tensor dx = dxhat.sub(dxhat.mean(-1, true)).sub(xhat.mul(dxhat.mul(xhat).mean(-1, true))).mul(rstd);
        int c = x.size(-1);
        Tensor dw = dy.mul(xhat).reshape(-1, c).sum(0, false);
        Tensor db = dy.reshape(-1, c).sum(0, false);
        return new Tensor[] {dx, dw, db};
    }

    private static Tensor[] layerNormInputs() {
        return new Tensor[] {
            randn(1, DType.F64, 2, 2, 3, 16).add(0.5),
            randn(2, DType.F64, 1, 8, 5).t(),                          // [5, 8] strided
            randn(3, DType.F64, 1, 1, 40).add(3),                       // R = 1
            randn(4, DType.F64, 1, 3, 1),                               // C = 1: xhat = 0
        };
    }

    @Test
    void layerNormMatchesItsCompositionWithAndWithoutAffine() {
        for (Tensor x : layerNormInputs()) {
            int c = x.size(-1);
            Tensor w = randn(50, DType.F64, 1, c).add(1), b = randn(51, DType.F64, 1, c);
            for (int mode = 0; mode < 4; mode++) {
                Tensor wm = (mode & 1) != 0 ? w : null, bm = (mode & 2) != 0 ? b : null;
                String what = "layerNorm " + x + " weight=" + (wm != null) + " bias=" + (bm != null);
                Tensor[] got = layerNorm(x, wm, bm), want = layerNormReference(x, wm, bm);
                assertClose(what + " y", got[0], want[0]);
                assertClose(what + " mean", got[1], want[1]);
                assertClose(what + " rstd", got[2], want[2], F64_TOL, F64_TOL);
            }
        }
    }

    @Test
    void layerNormBackwardMatchesItsComposition() {
        int seed = 400;
        for (Tensor x : layerNormInputs()) {
            int c = x.size(-1);
            Tensor w = randn(seed++, DType.F64, 1, c).add(1);
            Tensor dy = randn(seed++, DType.F64, 1, x.shape());
            for (Tensor wm : new Tensor[] {w, null}) {
                Tensor[] fwd = layerNorm(x, wm, null);
                Tensor[] got = layerNormBackward(dy, x, wm, fwd[1], fwd[2], true, true);
                Tensor[] want = layerNormBackwardReference(dy, x, wm);
                String what = "layerNormBackward " + x + " weight=" + (wm != null);
                assertClose(what + " dx", got[0], want[0]);
                assertClose(what + " dweight", got[1], want[1]);
                assertClose(what + " dbias", got[2], want[2]);
                Tensor[] dxOnly = layerNormBackward(dy, x, wm, fwd[1], fwd[2], false, false);
                assertClose(what + " dx without param grads", dxOnly[0], want[0]);
                Tensor[] biasOnly = layerNormBackward(dy, x, wm, fwd[1], fwd[2], false, true);
                assertClose(what + " dbias alone", biasOnly[2], want[2]);
            }
        }
    }

    @Test
    void layerNormBackwardMatchesFiniteDifferences() {
        int[] shape = {3, 6};
        int c = shape[1];
        double[] x = randn(60, DType.F64, 1.5, shape).toDoubleArray();
        double[] w = randn(61, DType.F64, 0.5, c).add(1).toDoubleArray();
        double[] b = randn(62, DType.F64, 1, c).toDoubleArray();
        Tensor dy = randn(63, DType.F64, 1, shape);
        Tensor[] fwd = layerNorm(Tensor.of(x, shape), Tensor.of(w), Tensor.of(b));
        Tensor[] got = layerNormBackward(dy, Tensor.of(x, shape), Tensor.of(w), fwd[1], fwd[2], true, true);
        assertGradient("layerNorm dx", got[0],
                numericGradient(x, xs -> dot(dy, layerNorm(Tensor.of(xs, shape), Tensor.of(w), Tensor.of(b))[0])));
        assertGradient("layerNorm dweight", got[1],
                numericGradient(w, ws -> dot(dy, layerNorm(Tensor.of(x, shape), Tensor.of(ws), Tensor.of(b))[0])));
        assertGradient("layerNorm dbias", got[2],
                numericGradient(b, bs -> dot(dy, layerNorm(Tensor.of(x, shape), Tensor.of(w), Tensor.of(bs))[0])));
        Tensor[] plain = layerNormBackward(dy, Tensor.of(x, shape), null, fwd[1], fwd[2], false, false);
        assertGradient("layerNorm dx without affine", plain[0],
                numericGradient(x, xs -> dot(dy, layerNorm(Tensor.of(xs, shape), null, null)[0])));
    }

    @Test
    void layerNormInF32MatchesF64() {
        for (int[] shape : new int[][] {{64, 768}, {5, 7}, {1, 1}, {3, 33}}) {
            int c = shape[1];
            Tensor x = randn32(70 + c, 2, shape).add(1).to(DType.F32).to(DType.F64);
            Tensor w = randn32(71, 0.5, c).add(1).to(DType.F32).to(DType.F64);
            Tensor b = randn32(72, 1, c);
            Tensor dy = randn32(73, 1, shape);
            String what = "layerNorm F32 " + Arrays.toString(shape);
            Tensor[] got = layerNorm(x.to(DType.F32), w.to(DType.F32), b.to(DType.F32));
            Tensor[] want = layerNorm(x, w, b);
            assertClose(what + " y", got[0], want[0], 1e-4, 1e-5);
            assertClose(what + " mean", got[1], want[1], 1e-5, 1e-6);
            assertClose(what + " rstd", got[2], want[2], 1e-5, 1e-6);
            // Backward from the F32 statistics, against F64 from the same statistics.
            Tensor[] gb = layerNormBackward(dy.to(DType.F32), x.to(DType.F32), w.to(DType.F32), got[1], got[2],
                    true, true);
            Tensor[] wb = layerNormBackward(dy, x, w, got[1].to(DType.F64), got[2].to(DType.F64), true, true);
            assertClose(what + " dx", gb[0], wb[0], 1e-3, 1e-4);
            assertClose(what + " dweight", gb[1], wb[1], 1e-4, 1e-4);
            assertClose(what + " dbias", gb[2], wb[2], 1e-4, 1e-4);
        }
    }

    @Test
    void layerNormParameterGradientsDoNotDependOnThreadCount() {
        int[] shape = {300, 96};
        Tensor x = randn(80, DType.F32, 1, shape), dy = randn(81, DType.F32, 1, shape);
        Tensor w = randn(82, DType.F32, 1, 96);
        Tensor[] fwd = layerNorm(x, w, null);
        float[][] first = null;
        for (int threads = 1; threads <= 3; threads++) {
            Parallel.setThreads(threads);
            Tensor[] got = layerNormBackward(dy, x, w, fwd[1], fwd[2], true, true);
            float[][] now = {got[0].toFloatArray(), got[1].toFloatArray(), got[2].toFloatArray()};
            if (first == null) first = now;
            for (int k = 0; k < 3; k++) assertArrayEquals(first[k], now[k], "threads=" + threads + " output " + k);
        }
    }

    // =====================================================================================================
    // GELU backward
    // =====================================================================================================

    private static Tensor geluBackward(Tensor dy, Tensor x) {
        Tensor dx = Tensor.empty(x.dtype(), x.shape());
        CpuNn.geluBackward(dx, dy, x);
        return dx;
    }

    /** dy (0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 k x^2)), t = tanh(c (x + k x^3)), composed from Tensor ops. */
    private static Tensor geluBackwardReference(Tensor dy, Tensor x) {
        double c = UnaryOp.GELU_C, k = 0.044715;
        Tensor x2 = x.square();
        Tensor t = x.add(x2.mul(x).mul(k)).mul(c).tanh();
        Tensor left = t.add(1).mul(0.5);
        Tensor right = x.mul(t.square().neg().add(1)).mul(x2.mul(3 * k).add(1)).mul(0.5 * c);
        return dy.mul(left.add(right));
    }

    @Test
    void geluBackwardMatchesItsComposition() {
        Tensor[] inputs = {randn(90, DType.F64, 3, 4, 37), randn(91, DType.F64, 2, 9, 6).t(),
            Tensor.of(new double[] {-40, -6, -1e-3, 0, 1e-3, 6, 40}), Tensor.of(new double[] {0.3})};
        for (Tensor x : inputs) {
            Tensor dy = randn(92, DType.F64, 1, x.shape());
            assertClose("geluBackward " + x, geluBackward(dy, x), geluBackwardReference(dy, x));
        }
    }

    @Test
    void geluBackwardMatchesFiniteDifferences() {
        int[] shape = {4, 5};
        double[] x = randn(93, DType.F64, 2, shape).toDoubleArray();
        Tensor dy = randn(94, DType.F64, 1, shape);
        assertGradient("geluBackward", geluBackward(dy, Tensor.of(x, shape)),
                numericGradient(x, xs -> dot(dy, Tensor.of(xs, shape).gelu())));
    }

    @Test
    void geluBackwardInF32MatchesF64() {
        // Where x < -3, 0.5 (1 + t) and 1 - t^2 cancel in F32 (t ~ -1): absolute errors ~1e-6 |dy|, as in
        // PyTorch's F32 tanh-GELU backward, so the absolute tolerance is a few F32 epsilons of |dy|.
        for (int n : new int[] {1, 7, 16, 1001, 70000}) {
            Tensor x = randn32(95 + n, 3, n), dy = randn32(96 + n, 1, n);
            assertClose("geluBackward F32 n=" + n, geluBackward(dy.to(DType.F32), x.to(DType.F32)),
                    geluBackward(dy, x), 1e-5, 5e-6);
        }
    }

    // =====================================================================================================
    // embedding backward
    // =====================================================================================================

    /** dweight[ids[n]] += dout[n], as a plain loop. */
    private static double[] embeddingBackwardReference(double[] dweight, int[] ids, double[] dout, int c) {
        double[] out = dweight.clone();
        for (int n = 0; n < ids.length; n++) {
            for (int j = 0; j < c; j++) out[ids[n] * c + j] += dout[n * c + j];
        }
        return out;
    }

    @Test
    void embeddingBackwardAddsEachRowIntoItsIdWithDuplicates() {
        int v = 10, c = 7;
        Tensor ids = Tensor.ofInts(new int[] {3, 1, 3, 3, 9, 0, 1, 3}, 2, 4); // any shape; 3 appears 4 times
        Tensor dout = randn(100, DType.F64, 1, 8, 2 * c).narrow(1, 3, c);       // strided rows
        Tensor dweight = randn(101, DType.F64, 1, v, c);                       // an existing gradient
        double[] want = embeddingBackwardReference(dweight.toDoubleArray(), ids.toIntArray(),
                dout.toDoubleArray(), c);
        CpuNn.embeddingBackward(dweight, ids, dout);
        assertClose("embeddingBackward", dweight, Tensor.of(want, v, c));

        Tensor dweight32 = Tensor.zeros(DType.F32, v, c);
        CpuNn.embeddingBackward(dweight32, ids, dout.to(DType.F32));
        double[] want32 = embeddingBackwardReference(new double[v * c], ids.toIntArray(),
                dout.to(DType.F32).toDoubleArray(), c);
        assertClose("embeddingBackward F32", dweight32, Tensor.of(want32, v, c), 1e-6, 1e-6);
    }

    @Test
    void embeddingBackwardMatchesFiniteDifferencesOfTheGather() {
        int v = 5, c = 3;
        Tensor ids = Tensor.ofInts(new int[] {4, 0, 4, 2}, 4);
        double[] weight = randn(102, DType.F64, 1, v, c).toDoubleArray();
        Tensor dout = randn(103, DType.F64, 1, 4, c);
        Tensor dweight = Tensor.zeros(DType.F64, v, c);
        CpuNn.embeddingBackward(dweight, ids, dout);
        assertGradient("embeddingBackward", dweight,
                numericGradient(weight, ws -> dot(dout, Tensor.of(ws, v, c).indexSelect(0, ids))));
    }

    @Test
    void embeddingBackwardDoesNotDependOnThreadCount() {
        int v = 300, c = 64, n = 4096;
        Tensor ids = randomIds(104, 40, 64, 64); // ids in [0, 40): about 100 duplicates of each
        Tensor dout = randn(105, DType.F32, 1, n, c);
        float[] first = null;
        for (int threads = 1; threads <= 3; threads++) {
            Parallel.setThreads(threads);
            Tensor dweight = Tensor.zeros(DType.F32, v, c);
            CpuNn.embeddingBackward(dweight, ids, dout);
            float[] now = dweight.toFloatArray();
            if (first == null) first = now;
            assertArrayEquals(first, now, "threads=" + threads);
        }
        double[] want = embeddingBackwardReference(new double[v * c], ids.toIntArray(), dout.toDoubleArray(), c);
        assertClose("embeddingBackward F32, many duplicates", Tensor.wrap(first, v, c), Tensor.of(want, v, c),
                1e-5, 1e-5);
    }

    @Test
    void embeddingBackwardRejectsIdsOutOfRange() {
        Tensor dweight = Tensor.zeros(DType.F64, 4, 2);
        assertThrows(IndexOutOfBoundsException.class, () -> CpuNn.embeddingBackward(dweight,
                Tensor.ofInts(new int[] {0, 4}, 2), Tensor.zeros(DType.F64, 2, 2)));
        assertEquals(0.0, dweight.abs().sum().item(), "nothing written before the check");
    }

    // =====================================================================================================
    // AdamW
    // =====================================================================================================

    /** The PyTorch AdamW step, written out: decoupled decay, moments, bias corrections. */
    private static void adamwReference(double[] p, double[] g, double[] m, double[] v, double lr, double b1,
                                       double b2, double eps, double wd, long step) {
        for (int i = 0; i < p.length; i++) {
            p[i] -= lr * wd * p[i];
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            double mhat = m[i] / (1 - Math.pow(b1, step));
            double vhat = v[i] / (1 - Math.pow(b2, step));
            p[i] -= lr * mhat / (Math.sqrt(vhat) + eps);
        }
    }

    @Test
    void adamwMatchesTheReferenceOverSeveralSteps() {
        int n = 1037;
        double lr = 3e-3, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
        double[] p = randn32(110, 1, n).toDoubleArray();
        double[] m = new double[n], v = new double[n];
        // Parameters and state as views at an offset into larger buffers, as a flat optimizer buffer would hold.
        Tensor p64 = Tensor.zeros(DType.F64, n + 5).narrow(0, 5, n).copyFrom(Tensor.of(p));
        Tensor m64 = Tensor.zeros(DType.F64, n), v64 = Tensor.zeros(DType.F64, n);
        Tensor p32 = Tensor.zeros(DType.F32, n + 3).narrow(0, 3, n).copyFrom(Tensor.of(p).to(DType.F32));
        Tensor m32 = Tensor.zeros(DType.F32, n), v32 = Tensor.zeros(DType.F32, n);
        for (long step = 1; step <= 6; step++) {
            Tensor g = randn32(120 + step, step == 3 ? 1e-3 : 1, n); // one step with tiny gradients
            adamwReference(p, g.toDoubleArray(), m, v, lr, b1, b2, eps, wd, step);
            CpuNn.adamw(p64, g, m64, v64, lr, b1, b2, eps, wd, step);
            CpuNn.adamw(p32, g.to(DType.F32), m32, v32, lr, b1, b2, eps, wd, step);
            assertClose("adamw param step " + step, p64, Tensor.of(p), 0, F64_TOL);
            assertClose("adamw m step " + step, m64, Tensor.of(m), 0, F64_TOL);
            assertClose("adamw v step " + step, v64, Tensor.of(v), 0, F64_TOL);
            assertClose("adamw F32 param step " + step, p32, Tensor.of(p), 1e-5, 1e-6);
            assertClose("adamw F32 m step " + step, m32, Tensor.of(m), 1e-5, 1e-7);
            assertClose("adamw F32 v step " + step, v32, Tensor.of(v), 1e-5, 1e-9);
        }
        assertThrows(IllegalArgumentException.class,
                () -> CpuNn.adamw(p64, p64, m64, v64, lr, b1, b2, eps, wd, 0));
    }

    @Test
    void adamwOverSeveralParametersIsEachParametersOwnUpdate() {
        // The multi-tensor form against one single-tensor call per parameter (itself checked above against the
        // written-out PyTorch step): same bits, for parameters of different sizes, one of them a strided view.
        double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
        int[] sizes = {1, 17, 1000};
        java.util.List<Tensor> ps = new java.util.ArrayList<>(), gs = new java.util.ArrayList<>(),
                ms = new java.util.ArrayList<>(), vs = new java.util.ArrayList<>();
        java.util.List<Tensor> qs = new java.util.ArrayList<>(), ns = new java.util.ArrayList<>(),
                ws = new java.util.ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            Tensor init = randn32(140 + i, 1, sizes[i]).to(DType.F32);
            ps.add(Tensor.zeros(DType.F32, sizes[i] + 2).narrow(0, 2, sizes[i]).copyFrom(init));
            qs.add(init.contiguous().mul(1.0));
            gs.add(randn32(150 + i, 1, sizes[i]).to(DType.F32));
            ms.add(Tensor.zeros(DType.F32, sizes[i]));
            vs.add(Tensor.zeros(DType.F32, sizes[i]));
            ns.add(Tensor.zeros(DType.F32, sizes[i]));
            ws.add(Tensor.zeros(DType.F32, sizes[i]));
        }
        for (long step = 1; step <= 3; step++) {
            org.rlhf4j.tensor.NnOps.adamw(ps, gs, ms, vs, lr, b1, b2, eps, wd, step);
            for (int i = 0; i < sizes.length; i++) {
                org.rlhf4j.tensor.NnOps.adamw(qs.get(i), gs.get(i), ns.get(i), ws.get(i), lr, b1, b2, eps, wd, step);
            }
            for (int i = 0; i < sizes.length; i++) {
                assertArrayEquals(qs.get(i).toFloatArray(), ps.get(i).toFloatArray(), "param " + i + " step " + step);
                assertArrayEquals(ns.get(i).toFloatArray(), ms.get(i).toFloatArray(), "m " + i + " step " + step);
                assertArrayEquals(ws.get(i).toFloatArray(), vs.get(i).toFloatArray(), "v " + i + " step " + step);
            }
        }
        // Bad input is refused before any parameter is written.
        float[] before = ps.get(0).toFloatArray();
        var badShape = java.util.List.of(ps.get(0), ps.get(1));
        var wrongGrads = java.util.List.of(gs.get(0), gs.get(2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> org.rlhf4j.tensor.NnOps.adamw(
                badShape, wrongGrads, java.util.List.of(ms.get(0), ms.get(1)), java.util.List.of(vs.get(0), vs.get(1)),
                lr, b1, b2, eps, wd, 4));
        assertTrue(e.getMessage().contains("adamw"), e.getMessage());
        assertArrayEquals(before, ps.get(0).toFloatArray(), "nothing written after a refused call");
        assertThrows(IllegalArgumentException.class, () -> org.rlhf4j.tensor.NnOps.adamw(ps, gs.subList(0, 2), ms, vs,
                lr, b1, b2, eps, wd, 4));
    }

    // =====================================================================================================
    // the two F32 twins, side by side (only when the Vector API is active)
    // =====================================================================================================

    @Test
    void vectorAndScalarTwinsAgree() {
        NnKernels active = NnKernels.get();
        if (!Simd.ENABLED || active instanceof ScalarNnKernels) return; // the plain-Java run tests the other twin
        NnKernels plain = new ScalarNnKernels();
        for (int n : new int[] {1, 3, 8, 15, 16, 17, 64, 129, 1000}) {
            float[] x = randn(130 + n, DType.F32, 2, n + 3).toFloatArray();
            float[] y = randn(131 + n, DType.F32, 1, n + 3).toFloatArray();
            float[] w = randn(132 + n, DType.F32, 1, n + 3).toFloatArray();
            int o = 3; // an offset, so misplaced offsets show
            String at = "n=" + n;
            assertEquals(plain.max(x, o, n), active.max(x, o, n), 0f, "max " + at);
            assertEquals(plain.sum(x, o, n), active.sum(x, o, n), 1e-5 * n, "sum " + at);
            assertEquals(plain.dot(x, o, y, o, n), active.dot(x, o, y, o, n), 1e-5 * n, "dot " + at);
            float sp = plain.sumExp(x, o, n, 0.7f, 1f), sa = active.sumExp(x, o, n, 0.7f, 1f);
            assertEquals(sp, sa, 1e-5 * Math.abs(sp), "sumExp " + at);
            float[] a = new float[n + 3], b = new float[n + 3];
            plain.scaledExp(x, o, a, o, n, 0.7f, 1f, -0.3f);
            active.scaledExp(x, o, b, o, n, 0.7f, 1f, -0.3f);
            assertRunClose("scaledExp " + at, a, b, 1e-6);
            plain.geluBackward(a, o, y, o, x, o, n);
            active.geluBackward(b, o, y, o, x, o, n);
            assertRunClose("geluBackward " + at, a, b, 1e-5);
            plain.layerNorm(x, o, a, o, n, 0.1f, 1.3f, w, o, y, o);
            active.layerNorm(x, o, b, o, n, 0.1f, 1.3f, w, o, y, o);
            assertRunClose("layerNorm " + at, a, b, 1e-6);
        }
    }

    private static void assertRunClose(String what, float[] a, float[] b, double tol) {
        for (int i = 0; i < a.length; i++) {
            assertEquals(a[i], b[i], tol * (1 + Math.abs(a[i])), what + " element " + i);
        }
    }
}
