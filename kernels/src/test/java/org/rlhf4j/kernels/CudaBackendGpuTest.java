package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhf4j.kernels.GpuChecks.assertClose;
import static org.rlhf4j.kernels.GpuChecks.assertNormwise;
import static org.rlhf4j.kernels.GpuChecks.normal;
import static org.rlhf4j.kernels.GpuChecks.poisoned;
import static org.rlhf4j.kernels.GpuChecks.uniform;

import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.Backend;
import org.rlhf4j.tensor.Backends;
import org.rlhf4j.tensor.BinaryOp;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Philox;
import org.rlhf4j.tensor.ReduceOp;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.tensor.TernaryOp;
import org.rlhf4j.tensor.UnaryOp;

/**
 * Every CudaBackend op against the CPU backend on fresh random inputs (a new seed per run, printed), contiguous,
 * transposed, stepped and broadcast operands, outputs poisoned with NaN before each run. F32 elementwise ops
 * within 1e-6 relative (POW 2e-6: its F64 exp and log are not the JDK's; GELU also 2.5e-7 |x| absolute, see
 * assertGelu); sums and means within 1e-6 of
 * sum |x| (the summation order differs); max, min, argmax, copies, conversions, indexing and uniform random
 * numbers exact; normal random numbers within one float ulp; F32 GEMM normwise 1e-5, TF32 1e-3, BF16 1e-2
 * against the F32 product of the unrounded inputs.
 */
@Tag("gpu")
class CudaBackendGpuTest {
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);
    private final Backend cpu = Backends.cpu();
    private Device gpu;
    /** The backend under test: CudaBackend, or the CPU backend in a dry run (GpuChecks.DRY_RUN). */
    private Backend cuda;

    @BeforeEach
    void open() {
        gpu = GpuChecks.gpu();
        cuda = GpuChecks.DRY_RUN ? Backends.cpu() : Cuda.backend(gpu);
        System.out.println("CudaBackendGpuTest seed " + seed);
    }

    /** Views of one base: contiguous, transposed, stepped; each paired with its GPU twin. */
    private Tensor[] layouts(Tensor base2d, int which) {
        Tensor g = base2d.to(gpu);
        switch (which) {
            case 0: return new Tensor[] {base2d, g};
            case 1: return new Tensor[] {base2d.transpose(0, 1), g.transpose(0, 1)};
            default: return new Tensor[] {base2d.slice(1, 1, base2d.size(1), 2), g.slice(1, 1, g.size(1), 2)};
        }
    }

    /** Integer-valued F32 in [lo, hi]. */
    private Tensor integers(int lo, int hi, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = lo + rnd.nextInt(hi - lo + 1);
        return Tensor.wrap(v, shape);
    }

    private static final String[] LAYOUT = {"contiguous", "transposed", "stepped"};

    @Test
    void hostRoundTripsKeepEveryDtypeAndLayout() {
        for (DType t : new DType[] {DType.F32, DType.F64, DType.I32, DType.BF16}) {
            Tensor x = normal(rnd, 100, 37, 53).to(t);
            for (int l = 0; l < 3; l++) {
                Tensor[] v = layouts(x, l);
                assertClose(t + " " + LAYOUT[l] + " to(gpu).to(cpu)", v[0], v[1].to(Device.CPU), 0, 0);
            }
            // upload into a view of a poisoned device tensor, download into a view of a host tensor
            Tensor dst = poisoned(t, gpu, 53, 37).transpose(0, 1);
            cuda.copyFromHost(dst, x);
            assertClose(t + " copyFromHost into a transposed view", x, dst, 0, 0);
            Tensor host = Tensor.empty(t, 53, 37).transpose(0, 1);
            cuda.copyToHost(host, x.to(gpu));
            assertClose(t + " copyToHost into a transposed view", x, host, 0, 0);
        }
    }

    @Test
    void copyConvertsBetweenEveryPairOfDtypes() {
        DType[] all = {DType.F32, DType.F64, DType.I32, DType.BF16};
        for (DType from : all) {
            for (DType to : all) {
                Tensor x = normal(rnd, 1000, 41, 29).to(from);
                for (int l = 0; l < 3; l++) {
                    Tensor[] v = layouts(x, l);
                    Tensor expected = Tensor.empty(to, v[0].shape());
                    cpu.copy(expected, v[0]);
                    Tensor found = poisoned(to, gpu, v[1].shape());
                    cuda.copy(found, v[1]);
                    assertClose(from + " -> " + to + " " + LAYOUT[l], expected, found, 0, 0);
                }
            }
        }
    }

    @Test
    void fillWritesEveryElementOfEveryDtypeAndView() {
        for (DType t : new DType[] {DType.F32, DType.F64, DType.I32, DType.BF16}) {
            Tensor base = poisoned(t, gpu, 30, 40);
            Tensor view = base.slice(1, 0, 40, 3);
            cuda.fill(view, -2.375);
            Tensor host = base.to(Device.CPU);
            for (int i = 0; i < 30; i++) {
                for (int j = 0; j < 40; j++) {
                    double v = host.get(i, j);
                    if (j % 3 == 0) assertEquals(t == DType.I32 ? -2 : -2.375, v, 0, t + " at " + i + "," + j);
                    else assertTrue(t == DType.I32 ? v == -7 : Double.isNaN(v), t + " wrote outside the view at " + i + "," + j);
                }
            }
            Tensor whole = poisoned(t, gpu, 1001);
            cuda.fill(whole, 3);
            assertClose(t + " contiguous fill", Tensor.full(3, t, Device.CPU, 1001), whole, 0, 0);
        }
    }

    /** Inputs where op is defined and well conditioned. */
    private Tensor inputFor(UnaryOp op, int... shape) {
        switch (op) {
            case LOG: case SQRT: case RSQRT: return uniform(rnd, 1e-3, 50, shape);
            case RECIPROCAL: return uniform(rnd, 0.1, 10, shape).mul(rnd.nextBoolean() ? 1 : -1);
            case EXP: return uniform(rnd, -87, 88, shape);
            default: return normal(rnd, 4, shape);
        }
    }

    @Test
    void everyUnaryOpMatchesTheCpu() {
        for (UnaryOp op : UnaryOp.values()) {
            for (int l = 0; l < 3; l++) {
                Tensor[] v = layouts(inputFor(op, 123, 77), l);
                Tensor expected = Tensor.empty(DType.F32, v[0].shape());
                cpu.unary(op, expected, v[0]);
                Tensor found = poisoned(DType.F32, gpu, v[1].shape());
                cuda.unary(op, found, v[1]);
                if (op == UnaryOp.GELU) {
                    assertGelu(LAYOUT[l], v[0], expected, found);
                } else {
                    assertClose(op + " " + LAYOUT[l], expected, found, 1e-6, 1e-37);
                }
            }
        }
        // special values: the CPU's rules for NaN, infinities and signed zeros
        float[] special = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, 1f, -1f, 1e-40f, 100f, -100f};
        Tensor s = Tensor.wrap(special, special.length);
        for (UnaryOp op : UnaryOp.values()) {
            Tensor expected = Tensor.empty(DType.F32, special.length);
            cpu.unary(op, expected, s);
            Tensor found = poisoned(DType.F32, gpu, special.length);
            cuda.unary(op, found, s.to(gpu));
            assertClose(op + " of special values", expected, found, 1e-6, 1e-44);
        }
    }

    /**
     * GELU's tolerance: 1e-6 relative, or 2.5e-7 |x| absolute. The GPU computes 0.5 x (1 + tanh t) as the CPU's
     * Vector API path does (bit for bit on contiguous tensors), and for x well below 0 the float sum 1 + tanh t
     * keeps only the absolute accuracy of tanh t (2 ulp of 1, times 0.5 |x|), while the CPU's strided path
     * evaluates in F64.
     */
    private static void assertGelu(String layout, Tensor x, Tensor expected, Tensor found) {
        float[] xs = x.contiguous().toFloatArray(), e = expected.toFloatArray(), f = found.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            double tol = Math.max(1e-6 * Math.abs(e[i]), 2.5e-7 * Math.abs(xs[i])) + 1e-37;
            assertTrue(Math.abs(e[i] - f[i]) <= tol, "GELU " + layout + " at flat " + i + " x=" + xs[i]
                    + ": expected " + e[i] + ", found " + f[i]);
        }
    }

    private Tensor operandFor(BinaryOp op, boolean second, int... shape) {
        if (op == BinaryOp.POW) return second ? uniform(rnd, -3, 3, shape) : uniform(rnd, 0.5, 2, shape);
        if (op == BinaryOp.DIV && second) return uniform(rnd, 0.5, 4, shape);
        if (op.isComparison()) return integers(-3, 3, shape); // many equal pairs
        return normal(rnd, 3, shape);
    }

    @Test
    void everyBinaryOpMatchesTheCpuWithBroadcasting() {
        int[][][] shapes = {{{40, 30}, {40, 30}}, {{40, 30}, {1, 30}}, {{40, 30}, {40, 1}}, {{40, 30}, {1, 1}}};
        for (BinaryOp op : BinaryOp.values()) {
            double rtol = op == BinaryOp.POW ? 2e-6 : 1e-6;
            for (int[][] sh : shapes) {
                for (int l = 0; l < 3; l++) {
                    int rows = sh[0][0], cols = sh[0][1];
                    Tensor base = l == 0 ? operandFor(op, false, rows, cols) : l == 1 ? operandFor(op, false, cols, rows)
                            : operandFor(op, false, rows, 2 * cols);
                    Tensor[] a = layouts(base, l); // [rows, cols] in each layout
                    Tensor[] b = layouts(operandFor(op, true, sh[1][1], sh[1][0]), 1); // transposed
                    int[] out = a[0].shape();
                    Tensor bc = b[0].expand(out), bg = b[1].expand(out);
                    Tensor expected = Tensor.empty(DType.F32, out);
                    cpu.binary(op, expected, a[0], bc);
                    Tensor found = poisoned(DType.F32, gpu, out);
                    cuda.binary(op, found, a[1], bg);
                    assertClose(op + " " + java.util.Arrays.deepToString(sh) + " " + LAYOUT[l], expected, found, rtol, 1e-37);
                }
            }
            Tensor x = operandFor(op, false, 57, 31);
            double scalar = op == BinaryOp.POW ? 1.7 : op == BinaryOp.DIV ? -2.5 : op.isComparison() ? 0.0 : 0.37;
            Tensor expected = Tensor.empty(DType.F32, 57, 31);
            cpu.binaryScalar(op, expected, x, scalar);
            Tensor found = poisoned(DType.F32, gpu, 57, 31);
            cuda.binaryScalar(op, found, x.to(gpu), scalar);
            assertClose(op + " scalar", expected, found, rtol, 1e-37);
        }
    }

    @Test
    void everyTernaryOpAndClampMatchTheCpu() {
        for (TernaryOp op : TernaryOp.values()) {
            Tensor a = op == TernaryOp.WHERE ? normal(rnd, 1, 33, 44).gt(0.3) : normal(rnd, 2, 33, 44);
            Tensor b = normal(rnd, 2, 44), c = normal(rnd, 2, 33, 1);
            int[] out = {33, 44};
            Tensor expected = Tensor.empty(DType.F32, out);
            cpu.ternary(op, expected, a, b.expand(out), c.expand(out));
            Tensor found = poisoned(DType.F32, gpu, out);
            cuda.ternary(op, found, a.to(gpu).transpose(0, 1).transpose(0, 1), b.to(gpu).expand(out), c.to(gpu).expand(out));
            assertClose(op.toString(), expected, found, 1e-6, 1e-37);
        }
        Tensor x = normal(rnd, 3, 61, 17);
        for (double[] bounds : new double[][] {{-1, 2}, {Double.NEGATIVE_INFINITY, 0.5}, {-0.25, Double.POSITIVE_INFINITY}}) {
            Tensor expected = Tensor.empty(DType.F32, 17, 61);
            cpu.clamp(expected, x.transpose(0, 1), bounds[0], bounds[1]);
            Tensor found = poisoned(DType.F32, gpu, 17, 61);
            cuda.clamp(found, x.to(gpu).transpose(0, 1), bounds[0], bounds[1]);
            assertClose("clamp " + bounds[0] + ".." + bounds[1], expected, found, 0, 0);
        }
    }

    @Test
    void reductionsAlongEveryAxisMatchTheCpu() {
        // [2, 2^17] and [2049, 5] axis 0 take the two-pass path (long axis, few outputs); [3, 100003] cannot split
        int[][] shapes = {{7, 300, 33}, {3, 100_003}, {2049, 5}, {1, 1, 4097}, {2, 1 << 17}};
        for (int[] shape : shapes) {
            Tensor x = normal(rnd, 1, shape);
            Tensor xg = x.to(gpu);
            for (int axis = 0; axis < shape.length; axis++) {
                int[] kept = shape.clone();
                kept[axis] = 1;
                Tensor absSum = Tensor.empty(DType.F32, kept);
                cpu.reduce(ReduceOp.SUM, absSum, x.abs(), axis);
                for (ReduceOp op : ReduceOp.values()) {
                    Tensor expected = Tensor.empty(DType.F32, kept);
                    cpu.reduce(op, expected, x, axis);
                    Tensor found = poisoned(DType.F32, gpu, kept);
                    cuda.reduce(op, found, xg, axis);
                    String what = op + " axis " + axis + " of " + java.util.Arrays.toString(shape);
                    if (op == ReduceOp.MAX || op == ReduceOp.MIN) {
                        assertClose(what, expected, found, 0, 0);
                    } else {
                        double[] e = expected.toDoubleArray(), f = found.to(Device.CPU).toDoubleArray();
                        double[] bound = absSum.toDoubleArray();
                        double scale = op == ReduceOp.MEAN ? 1.0 / shape[axis] : 1.0;
                        for (int i = 0; i < e.length; i++) {
                            double tol = 1e-6 * bound[i] * scale + 1e-30;
                            assertTrue(Math.abs(e[i] - f[i]) <= tol, what + " at " + i + ": expected " + e[i]
                                    + ", found " + f[i] + " (tolerance " + tol + ")");
                        }
                    }
                }
                Tensor expectedArg = Tensor.empty(DType.I32, kept);
                Tensor ties = integers(-4, 4, shape); // many equal values: the first maximum must win
                cpu.argmax(expectedArg, ties, axis);
                Tensor foundArg = poisoned(DType.I32, gpu, kept);
                cuda.argmax(foundArg, ties.to(gpu), axis);
                assertArrayEquals(expectedArg.toIntArray(), foundArg.toIntArray(), "argmax axis " + axis);
            }
        }
        // a strided source and a strided destination
        Tensor x = normal(rnd, 1, 50, 60);
        Tensor expected = Tensor.empty(DType.F32, 60, 1);
        cpu.reduce(ReduceOp.MAX, expected, x.transpose(0, 1), 1);
        Tensor found = poisoned(DType.F32, gpu, 1, 60).transpose(0, 1);
        cuda.reduce(ReduceOp.MAX, found, x.to(gpu).transpose(0, 1), 1);
        assertClose("max of a transposed view into a transposed view", expected, found, 0, 0);
        // NaN propagates through max and wins argmax
        Tensor withNan = Tensor.wrap(new float[] {1, 5, Float.NaN, 5, Float.NaN}, 1, 5);
        Tensor am = poisoned(DType.I32, gpu, 1, 1);
        cuda.argmax(am, withNan.to(gpu), 1);
        assertEquals(2, am.toIntArray()[0]);
    }

    private void checkGemm(String what, int batch, int m, int n, int k, boolean ta, boolean tb, boolean broadcastB,
                           double alpha, double beta) {
        Tensor a = normal(rnd, 1, batch, ta ? k : m, ta ? m : k);
        Tensor b = normal(rnd, 1, broadcastB ? 1 : batch, tb ? n : k, tb ? k : n);
        Tensor c = normal(rnd, 1, batch, m, n);
        Tensor av = ta ? a.transpose(1, 2) : a, bv = tb ? b.transpose(1, 2) : b;
        if (broadcastB) bv = bv.expand(batch, k, n);
        Tensor expected = c.copy();
        cpu.gemm(expected, av, bv, alpha, beta);
        Tensor ag = a.to(gpu), bg = b.to(gpu);
        Tensor agv = ta ? ag.transpose(1, 2) : ag, bgv = tb ? bg.transpose(1, 2) : bg;
        if (broadcastB) bgv = bgv.expand(batch, k, n);
        Tensor found = beta == 0 ? poisoned(DType.F32, gpu, batch, m, n) : c.to(gpu);
        cuda.gemm(found, agv, bgv, alpha, beta);
        assertNormwise(what, expected, found, 1e-5);
    }

    @Test
    void gemmMatchesTheCpuForBothTransposesBatchesAndScalars() {
        checkGemm("plain", 1, 64, 48, 96, false, false, false, 1, 0);
        checkGemm("A transposed", 3, 33, 65, 17, true, false, false, 1, 0);
        checkGemm("B transposed", 2, 128, 31, 200, false, true, false, 0.5, 0);
        checkGemm("both transposed, beta", 4, 17, 19, 23, true, true, false, -1.5, 0.75);
        checkGemm("broadcast B", 5, 40, 24, 32, false, false, true, 1, 1);
        checkGemm("matrix-vector", 2, 1, 77, 300, false, false, false, 1, 0);
        // a non-contiguous output goes through a temporary
        Tensor a = normal(rnd, 1, 1, 20, 30), b = normal(rnd, 1, 1, 30, 10);
        Tensor expected = Tensor.empty(DType.F32, 1, 20, 10);
        cpu.gemm(expected, a, b, 1, 0);
        Tensor out = poisoned(DType.F32, gpu, 1, 10, 20).transpose(1, 2);
        cuda.gemm(out, a.to(gpu), b.to(gpu), 1, 0);
        assertNormwise("into a transposed output", expected, out, 1e-5);
    }

    @Test
    void tf32AndBf16GemmStayWithinTheirTolerances() {
        Tensor a = normal(rnd, 1, 2, 256, 512), b = normal(rnd, 1, 2, 512, 192);
        Tensor expected = Tensor.empty(DType.F32, 2, 256, 192);
        cpu.gemm(expected, a, b, 1, 0);
        Tensor ag = a.to(gpu), bg = b.to(gpu);
        if (cuda instanceof CudaBackend c) {
            c.setTf32(true);
            try {
                Tensor found = poisoned(DType.F32, gpu, 2, 256, 192);
                cuda.gemm(found, ag, bg, 1, 0);
                assertNormwise("TF32", expected, found, 1e-3);
            } finally {
                c.setTf32(false);
            }
        }
        if (GpuChecks.DRY_RUN) return; // the CPU does not compute in BF16
        Tensor found = poisoned(DType.F32, gpu, 2, 256, 192);
        cuda.gemm(found, ag.to(DType.BF16), bg.to(DType.BF16).transpose(1, 2).contiguous().transpose(1, 2), 1, 0);
        assertNormwise("BF16 x BF16 -> F32", expected, found, 1e-2);
        Tensor foundBf16 = poisoned(DType.BF16, gpu, 2, 256, 192);
        cuda.gemm(foundBf16, ag.to(DType.BF16), bg.to(DType.BF16), 1, 0);
        assertNormwise("BF16 x BF16 -> BF16", expected, foundBf16.to(DType.F32), 1e-2);
    }

    @Test
    void gatherScatterAddAndIndexSelectMatchTheCpu() {
        Tensor src = normal(rnd, 1, 9, 13);
        int[] idx = new int[9 * 20];
        for (int i = 0; i < idx.length; i++) idx[i] = rnd.nextInt(13);
        Tensor index = Tensor.ofInts(idx, 9, 20);
        Tensor expected = Tensor.empty(DType.F32, 9, 20);
        cpu.gather(expected, src, 1, index);
        Tensor found = poisoned(DType.F32, gpu, 9, 20);
        cuda.gather(found, src.to(gpu), 1, index.to(gpu));
        assertClose("gather axis 1", expected, found, 0, 0);
        // along axis 0 of a transposed source
        int[] idx0 = new int[4 * 9];
        for (int i = 0; i < idx0.length; i++) idx0[i] = rnd.nextInt(13);
        Tensor index0 = Tensor.ofInts(idx0, 4, 9);
        Tensor e0 = Tensor.empty(DType.F32, 4, 9);
        cpu.gather(e0, src.transpose(0, 1), 0, index0);
        Tensor f0 = poisoned(DType.F32, gpu, 4, 9);
        cuda.gather(f0, src.to(gpu).transpose(0, 1), 0, index0.to(gpu));
        assertClose("gather axis 0 of a transposed view", e0, f0, 0, 0);

        Tensor updates = normal(rnd, 1, 9, 20);
        Tensor dst = normal(rnd, 1, 9, 13);
        Tensor expectedSum = dst.copy();
        cpu.scatterAdd(expectedSum, 1, index, updates);
        Tensor foundSum = dst.to(gpu);
        cuda.scatterAdd(foundSum, 1, index.to(gpu), updates.to(gpu));
        assertClose("scatterAdd (atomic order may differ)", expectedSum, foundSum, 1e-5, 1e-5);

        Tensor sel = Tensor.ofInts(new int[] {12, 0, 5, 5, 7}, 5);
        Tensor es = Tensor.empty(DType.F32, 9, 5);
        cpu.indexSelect(es, src, 1, sel);
        Tensor fs = poisoned(DType.F32, gpu, 9, 5);
        cuda.indexSelect(fs, src.to(gpu), 1, sel.to(gpu));
        assertClose("indexSelect axis 1", es, fs, 0, 0);
        Tensor rows = Tensor.ofInts(new int[] {8, 1, 1}, 3);
        Tensor er = Tensor.empty(DType.BF16, 3, 13);
        cpu.indexSelect(er, src.to(DType.BF16), 0, rows);
        Tensor fr = poisoned(DType.BF16, gpu, 3, 13);
        cuda.indexSelect(fr, src.to(DType.BF16).to(gpu), 0, rows.to(gpu));
        assertClose("indexSelect axis 0 of BF16 rows", er, fr, 0, 0);
    }

    @Test
    void anOutOfRangeIndexIsReportedAtTheNextSynchronize() {
        org.junit.jupiter.api.Assumptions.assumeFalse(GpuChecks.DRY_RUN, "the CPU backend leaves index checks to Tensor");
        Tensor src = normal(rnd, 1, 4, 5).to(gpu);
        Tensor bad = Tensor.ofInts(new int[] {0, 5, 1}, 1, 3).to(gpu);
        Tensor out = poisoned(DType.F32, gpu, 1, 3);
        cuda.gather(out, src.narrow(0, 0, 1), 1, bad);
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, out::toFloatArray);
        assertTrue(e.getMessage().contains("gather"), e.getMessage());
        // the error is cleared: the device keeps working
        assertEquals(4 * 5, src.toFloatArray().length);
    }

    @Test
    void philoxUniformIsBitForBitTheCpusAndNormalWithinOneUlp() {
        long s = rnd.nextLong(), offset = rnd.nextInt(1000);
        for (int n : new int[] {1, 3, 4, 1001, 1 << 20}) {
            Tensor expected = Tensor.empty(DType.F32, n);
            cpu.uniform(expected, s, offset, -2, 3);
            Tensor found = poisoned(DType.F32, gpu, n);
            cuda.uniform(found, s, offset, -2, 3);
            assertClose("uniform n=" + n, expected, found, 0, 0);
            Tensor en = Tensor.empty(DType.F32, n);
            cpu.normal(en, s, offset, 0.5, 2);
            Tensor fn = poisoned(DType.F32, gpu, n);
            cuda.normal(fn, s, offset, 0.5, 2);
            float[] e = en.toFloatArray(), f = fn.toFloatArray();
            int exact = 0;
            for (int i = 0; i < n; i++) {
                assertTrue(Math.abs(e[i] - f[i]) <= Math.ulp(e[i]), "normal n=" + n + " at " + i + ": " + e[i] + " vs " + f[i]);
                if (e[i] == f[i]) exact++;
            }
            assertTrue(exact >= n - Math.max(1, n / 100_000), "normal n=" + n + ": only " + exact + " exact");
        }
        // a strided destination takes the numbers in logical row-major order
        Tensor expected = Tensor.empty(DType.F32, 7, 5);
        cpu.uniform(expected, 42, 7, 0, 1);
        Tensor found = poisoned(DType.F32, gpu, 5, 7).transpose(0, 1);
        cuda.uniform(found, 42, 7, 0, 1);
        assertClose("uniform into a transposed view", expected, found, 0, 0);
        assertEquals(Philox.F32_PER_BLOCK, 4);
    }
}
