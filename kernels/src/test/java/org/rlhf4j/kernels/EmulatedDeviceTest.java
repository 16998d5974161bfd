package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.Backend;
import org.rlhf4j.tensor.Backends;
import org.rlhf4j.tensor.BinaryOp;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.DeviceUnavailableException;
import org.rlhf4j.tensor.ReduceOp;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.tensor.TernaryOp;
import org.rlhf4j.tensor.UnaryOp;

/**
 * CudaBackend end to end without a GPU: its host side, unchanged, on a device emulated by the PTX interpreter
 * (cuda:6, EmulatedDevice), against the CPU backend on small random inputs; GEMM runs CudaGemm's cuBLAS
 * arguments through cuBLAS's column-major definition, so the row-major mapping is tested for real. What a GPU
 * adds (the driver's JIT, cuBLAS itself, timing) is left to CudaBackendGpuTest. Skips without python3 and NumPy.
 */
class EmulatedDeviceTest {
    static {
        System.setProperty(RecordingBackendProvider.PROPERTY, "true");
    }

    private final Device dev = Device.of(Device.Kind.CUDA, RecordingBackendProvider.EMULATED);
    private final Backend cpu = Backends.cpu();
    private final Random rnd = new Random(17);
    private Backend cuda;

    @BeforeEach
    void open() {
        try {
            cuda = Backends.forDevice(dev);
        } catch (DeviceUnavailableException e) {
            assumeTrue(false, e.getMessage());
        }
    }

    private Tensor normal(double scale, int... shape) {
        return GpuChecks.normal(rnd, scale, shape);
    }

    private void close(String what, Tensor expected, Tensor found, double rtol) {
        GpuChecks.assertClose(what, expected, found, rtol, 1e-37);
    }

    @Test
    void transfersFillsAndConversionsRoundTrip() {
        Tensor x = normal(100, 5, 7);
        Tensor g = x.to(dev);
        close("upload and download", x, g.to(Device.CPU), 0);
        close("download of a transposed view", x.transpose(0, 1), g.transpose(0, 1).to(Device.CPU), 0);
        close("F32 -> BF16 -> F32", x.to(DType.BF16).to(DType.F32), g.to(DType.BF16).to(DType.F32), 0);
        close("F32 -> I32", x.to(DType.I32), g.to(DType.I32), 0);
        Tensor filled = Tensor.full(Double.NaN, DType.F32, dev, 4, 6);
        cuda.fill(filled.slice(1, 0, 6, 2), 2.5);
        float[] f = filled.toFloatArray();
        for (int i = 0; i < f.length; i++) assertTrue(i % 2 == 0 ? f[i] == 2.5f : Float.isNaN(f[i]), "fill at " + i);
        Tensor d = Tensor.full(-1.25, DType.F64, dev, 3);
        assertArrayEquals(new double[] {-1.25, -1.25, -1.25}, d.toDoubleArray());
    }

    @Test
    void elementwiseOpsMatchTheCpu() {
        Tensor a = normal(2, 6, 7), b = normal(2, 7);
        Tensor ag = a.to(dev), bg = b.to(dev);
        for (UnaryOp op : new UnaryOp[] {UnaryOp.EXP, UnaryOp.TANH, UnaryOp.GELU, UnaryOp.SIGMOID, UnaryOp.SIGN}) {
            close(op + " of a transposed view", a.transpose(0, 1).contiguous().map(op), ag.transpose(0, 1).map(op), 1e-6);
        }
        close("add with a row broadcast", a.add(b), ag.add(bg), 0);
        close("pow by a scalar", a.abs().add(0.5).pow(1.7), ag.abs().add(0.5).pow(1.7), 2e-6);
        close("comparison", a.gt(b), ag.gt(bg), 0);
        close("where", Tensor.where(a.gt(0.0), a, b.expand(6, 7)), Tensor.where(ag.gt(0.0), ag, bg.expand(6, 7)), 0);
        close("clamp", a.clamp(-0.5, 1), ag.clamp(-0.5, 1), 0);
        Tensor y = Tensor.empty(DType.F32, dev, 6, 7);
        cuda.ternary(TernaryOp.LERP, y, ag, bg.expand(6, 7), ag.abs());
        Tensor e = Tensor.empty(DType.F32, 6, 7);
        cpu.ternary(TernaryOp.LERP, e, a, b.expand(6, 7), a.abs());
        close("lerp", e, y, 0);
        cuda.binaryScalar(BinaryOp.MUL, y, y, 3); // in place
        cpu.binaryScalar(BinaryOp.MUL, e, e, 3);
        close("in-place scale", e, y, 0);
    }

    @Test
    void reductionsInOneAndTwoPassesMatchTheCpu() {
        Tensor x = normal(1, 2, 128, 3); // axis 1: few outputs over 128 -> two passes
        Tensor xg = x.to(dev);
        for (ReduceOp op : ReduceOp.values()) {
            for (int axis = 0; axis < 3; axis++) {
                int[] kept = x.shape();
                kept[axis] = 1;
                Tensor e = Tensor.empty(DType.F32, kept), f = Tensor.full(Double.NaN, DType.F32, dev, kept);
                cpu.reduce(op, e, x, axis);
                cuda.reduce(op, f, xg, axis);
                close(op + " axis " + axis, e, f, op == ReduceOp.MAX || op == ReduceOp.MIN ? 0 : 1e-5);
            }
        }
        Tensor ties = Tensor.wrap(new float[] {1, 3, 3, -1, 2, 2, Float.NaN, 2}, 2, 4);
        assertArrayEquals(new int[] {1, 2}, ties.to(dev).argmax(1, false).toIntArray());
    }

    @Test
    void indexingAndRandomNumbersMatchTheCpu() {
        Tensor src = normal(1, 4, 6);
        Tensor idx = Tensor.ofInts(new int[] {5, 0, 3, 3, 1, 2, 4, 0}, 4, 2);
        close("gather", src.gather(1, idx), src.to(dev).gather(1, idx.to(dev)), 0);
        Tensor sel = Tensor.ofInts(new int[] {3, 0, 3}, 3);
        Tensor es = Tensor.empty(DType.F32, 3, 6), fs = Tensor.empty(DType.F32, dev, 3, 6);
        cpu.indexSelect(es, src, 0, sel);
        cuda.indexSelect(fs, src.to(dev), 0, sel.to(dev));
        close("indexSelect", es, fs, 0);
        Tensor upd = normal(1, 4, 2);
        Tensor ed = src.copy(), fd = src.to(dev);
        cpu.scatterAdd(ed, 1, idx, upd);
        cuda.scatterAdd(fd, 1, idx.to(dev), upd.to(dev));
        close("scatterAdd", ed, fd, 1e-6);
        Tensor bad = Tensor.ofInts(new int[] {0, 9}, 1, 2).to(dev);
        Tensor out = Tensor.empty(DType.F32, dev, 1, 2);
        cuda.gather(out, src.to(dev).narrow(0, 0, 1), 1, bad);
        IndexOutOfBoundsException ex = assertThrows(IndexOutOfBoundsException.class, out::toFloatArray);
        assertTrue(ex.getMessage().contains("gather"), ex.getMessage());
        Tensor eu = Tensor.empty(DType.F32, 3, 5), fu = Tensor.empty(DType.F32, dev, 5, 3).transpose(0, 1);
        cpu.uniform(eu, 99, 4, -1, 2);
        cuda.uniform(fu, 99, 4, -1, 2);
        close("uniform into a view", eu, fu, 0);
        Tensor en = Tensor.empty(DType.F32, 9), fn = Tensor.empty(DType.F32, dev, 9);
        cpu.normal(en, 99, 5, 0, 1);
        cuda.normal(fn, 99, 5, 0, 1);
        float[] a = en.toFloatArray(), b = fn.toFloatArray();
        for (int i = 0; i < a.length; i++) assertTrue(Math.abs(a[i] - b[i]) <= Math.ulp(a[i]), "normal " + i);
        assertEquals(9, b.length);
    }

    /** c = alpha a b + beta c on cuda:6 (c starting as {@code c0}) against the CPU backend. */
    private void gemmCase(String what, Tensor a, Tensor b, Tensor c0, double alpha, double beta, double rtol) {
        Tensor expected = c0.copy();
        cpu.gemm(expected, a, b, alpha, beta);
        Tensor c = c0.to(dev);
        cuda.gemm(c, a.to(dev), b.to(dev), alpha, beta);
        GpuChecks.assertNormwise(what, expected, c, rtol);
    }

    private Tensor nanC(DType dtype, int... shape) {
        return Tensor.full(Double.NaN, dtype, Device.CPU, shape);
    }

    @Test
    void gemmRunsTheCublasMappingOfPlainTransposedAndBatchedOperands() {
        int m = 5, n = 3, k = 7;
        gemmCase("plain, beta = 0 over NaN", normal(1, 1, m, k), normal(1, 1, k, n), nanC(DType.F32, 1, m, n), 1, 0, 1e-6);
        gemmCase("alpha and beta", normal(1, 1, m, k), normal(1, 1, k, n), normal(1, 1, m, n), 0.5, -1.25, 1e-6);
        // transposed views go to cuBLAS with the transpose flag, uncopied
        Tensor at = normal(1, 2, k, m).transpose(1, 2), bt = normal(1, 2, n, k).transpose(1, 2);
        gemmCase("transposed A and B, batched", at, bt, nanC(DType.F32, 2, m, n), 1, 0, 1e-6);
        gemmCase("batched", normal(1, 3, m, k), normal(1, 3, k, n), normal(1, 3, m, n), 1, 1, 1e-6);
        // batch stride 0 for a broadcast operand; a stepped one is copied first
        gemmCase("broadcast A", normal(1, 1, m, k).expand(4, m, k), normal(1, 4, k, n), nanC(DType.F32, 4, m, n), 1, 0, 1e-6);
        gemmCase("broadcast B", normal(1, 4, m, k), normal(1, 1, k, n).expand(4, k, n), nanC(DType.F32, 4, m, n), 2, 0, 1e-6);
        gemmCase("stepped A", normal(1, 2, m, 2 * k).slice(2, 0, 2 * k, 2), normal(1, 2, k, n), nanC(DType.F32, 2, m, n),
                1, 0, 1e-6);
        // a transposed C is written through a temporary
        Tensor e = Tensor.empty(DType.F32, 2, m, n), a = normal(1, 2, m, k), b = normal(1, 2, k, n);
        cpu.gemm(e, a, b, 1, 0);
        Tensor c = Tensor.empty(DType.F32, dev, 2, n, m).transpose(1, 2);
        cuda.gemm(c, a.to(dev), b.to(dev), 1, 0);
        GpuChecks.assertNormwise("transposed C", e, c, 1e-6);
        gemmCase("F64", normal(1, 2, m, k).to(DType.F64), normal(1, 2, k, n).to(DType.F64), nanC(DType.F64, 2, m, n),
                1, 0, 1e-15);
    }

    @Test
    void bf16GemmAccumulatesInF32AndRoundsBf16OutputsOnce() {
        int m = 6, n = 5, k = 33;
        Tensor a = normal(1, 2, m, k).to(DType.BF16), b = normal(1, 2, k, n).to(DType.BF16);
        gemmCase("BF16 x BF16 -> F32", a, b, nanC(DType.F32, 2, m, n), 1, 0, 1e-6);
        gemmCase("BF16 x BF16 -> F32, transposed B", a, normal(1, 2, n, k).to(DType.BF16).transpose(1, 2),
                normal(1, 2, m, n), 1, 0.5, 1e-6);
        // BF16 output: one rounding of the F32 result, so within one BF16 ulp (2^-8 relative) of the CPU's
        Tensor expected = Tensor.empty(DType.BF16, 2, m, n);
        cpu.gemm(expected, a, b, 1, 0);
        Tensor c = Tensor.full(Double.NaN, DType.BF16, dev, 2, m, n);
        cuda.gemm(c, a.to(dev), b.to(dev), 1, 0);
        GpuChecks.assertClose("BF16 x BF16 -> BF16", expected.to(DType.F32), c.to(DType.F32), 1.0 / 128, 1e-6);
        Tensor wrongType = Tensor.empty(DType.F32, dev, 2, m, n);
        assertThrows(UnsupportedOperationException.class, () -> cuda.gemm(wrongType, a.to(DType.F32).to(dev), b.to(dev), 1, 0));
    }

    @Test
    void fusedNnOpsOfATrainingStepMatchTheCpu() {
        // layer norm [R, C] forward and backward (dweight, dbias summed over the rows)
        Tensor x = normal(1, 3, 12), w = normal(1, 12), bias = normal(1, 12), dy = normal(1, 3, 12);
        Tensor ey = Tensor.empty(DType.F32, 3, 12), em = Tensor.empty(DType.F32, 3), er = Tensor.empty(DType.F32, 3);
        Tensor fy = Tensor.empty(DType.F32, dev, 3, 12), fm = Tensor.empty(DType.F32, dev, 3), fr = Tensor.empty(DType.F32, dev, 3);
        cpu.layerNorm(ey, em, er, x, w, bias, 1e-5);
        cuda.layerNorm(fy, fm, fr, x.to(dev), w.to(dev), bias.to(dev), 1e-5);
        close("layerNorm y", ey, fy, 1e-5);
        close("layerNorm rstd", er, fr, 1e-5);
        Tensor edx = Tensor.empty(DType.F32, 3, 12), edw = Tensor.empty(DType.F32, 12), edb = Tensor.empty(DType.F32, 12);
        Tensor fdx = Tensor.empty(DType.F32, dev, 3, 12), fdw = Tensor.empty(DType.F32, dev, 12),
                fdb = Tensor.empty(DType.F32, dev, 12);
        cpu.layerNormBackward(edx, edw, edb, dy, x, w, em, er);
        cuda.layerNormBackward(fdx, fdw, fdb, dy.to(dev), x.to(dev), w.to(dev), fm, fr);
        GpuChecks.assertNormwise("layerNorm dx", edx, fdx, 1e-5);
        GpuChecks.assertNormwise("layerNorm dweight", edw, fdw, 1e-5);
        close("layerNorm dbias", edb, fdb, 1e-5);
        // token log-probs over a vocabulary of 9, forward and backward
        Tensor logits = normal(2, 4, 9), targets = Tensor.ofInts(new int[] {0, 8, 3, 3}, 4), g = normal(1, 4);
        Tensor elp = Tensor.empty(DType.F32, 4), els = Tensor.empty(DType.F32, 4);
        Tensor flp = Tensor.empty(DType.F32, dev, 4), fls = Tensor.empty(DType.F32, dev, 4);
        cpu.tokenLogProbs(elp, els, logits, targets, 0.8);
        cuda.tokenLogProbs(flp, fls, logits.to(dev), targets.to(dev), 0.8);
        close("tokenLogProbs", elp, flp, 1e-5);
        Tensor edl = Tensor.empty(DType.F32, 4, 9), fdl = Tensor.empty(DType.F32, dev, 4, 9);
        cpu.tokenLogProbsBackward(edl, g, logits, targets, els, 0.8);
        cuda.tokenLogProbsBackward(fdl, g.to(dev), logits.to(dev), targets.to(dev), fls, 0.8);
        GpuChecks.assertNormwise("tokenLogProbsBackward", edl, fdl, 1e-5);
        // softmax and log-softmax with their backward, in F32 and BF16
        for (boolean log : new boolean[] {false, true}) {
            Tensor es = Tensor.empty(DType.F32, 4, 9), fs = Tensor.empty(DType.F32, dev, 4, 9);
            cpu.softmax(es, logits, log);
            cuda.softmax(fs, logits.to(dev), log);
            close("softmax log=" + log, es, fs, 1e-5);
            Tensor eds = Tensor.empty(DType.F32, 4, 9), fds = Tensor.empty(DType.F32, dev, 4, 9);
            cpu.softmaxBackward(eds, edl, es, log);
            cuda.softmaxBackward(fds, edl.to(dev), fs, log);
            GpuChecks.assertNormwise("softmaxBackward log=" + log, eds, fds, 1e-5);
        }
        Tensor bs = Tensor.empty(DType.BF16, dev, 4, 9);
        cuda.softmax(bs, logits.to(DType.BF16).to(dev), true);
        Tensor ebs = Tensor.empty(DType.F32, 4, 9);
        cpu.softmax(ebs, logits.to(DType.BF16).to(DType.F32), true); // F32 of the BF16 values; one rounding apart
        GpuChecks.assertClose("BF16 log-softmax", ebs, bs.to(DType.F32), 1.0 / 128, 1e-6);
        // GELU backward
        Tensor gx = normal(2, 21), gdy = normal(1, 21);
        Tensor egx = Tensor.empty(DType.F32, 21), fgx = Tensor.empty(DType.F32, dev, 21);
        cpu.geluBackward(egx, gdy, gx);
        cuda.geluBackward(fgx, gdy.to(dev), gx.to(dev));
        GpuChecks.assertNormwise("geluBackward", egx, fgx, 1e-5); // the kernel's tanh is not the CPU's, operation for operation
    }

    @Test
    void embeddingBackwardAndMultiTensorAdamwMatchTheCpuBitForBit() {
        Tensor ids = Tensor.ofInts(new int[] {4, 1, 4, 0, 4}, 5), dout = normal(1, 5, 6);
        Tensor ew = normal(1, 6, 6), fw = ew.to(dev);
        cpu.embeddingBackward(ew, ids, dout);
        cuda.embeddingBackward(fw, ids.to(dev), dout.to(dev));
        close("embeddingBackward", ew, fw, 0);
        java.util.List<Tensor> ep = new java.util.ArrayList<>(), eg = new java.util.ArrayList<>(),
                em = new java.util.ArrayList<>(), ev = new java.util.ArrayList<>();
        java.util.List<Tensor> fp = new java.util.ArrayList<>(), fg = new java.util.ArrayList<>(),
                fm = new java.util.ArrayList<>(), fv = new java.util.ArrayList<>();
        for (int[] shape : new int[][] {{7}, {3, 5}}) {
            Tensor p = normal(1, shape), gr = normal(1, shape), m = normal(0.1, shape), v = normal(0.1, shape).abs();
            ep.add(p.copy());
            eg.add(gr);
            em.add(m.copy());
            ev.add(v.copy());
            fp.add(p.to(dev));
            fg.add(gr.to(dev));
            fm.add(m.to(dev));
            fv.add(v.to(dev));
        }
        for (long step = 1; step <= 2; step++) {
            cpu.adamw(ep, eg, em, ev, 1e-2, 0.9, 0.999, 1e-8, 0.1, step);
            cuda.adamw(fp, fg, fm, fv, 1e-2, 0.9, 0.999, 1e-8, 0.1, step); // the second step reuses the table
        }
        for (int i = 0; i < ep.size(); i++) {
            close("adamw param " + i, ep.get(i), fp.get(i), 0);
            close("adamw m " + i, em.get(i), fm.get(i), 0);
            close("adamw v " + i, ev.get(i), fv.get(i), 0);
        }
    }

    @Test
    void f32AttentionForwardAndBackwardMatchTheCpu() {
        int b = 1, h = 2, t = 5, d = 8;
        Tensor q = normal(1, b, h, t, d), k = normal(1, b, h, t, d), v = normal(1, b, h, t, d), dout = normal(1, b, h, t, d);
        Tensor mask = Tensor.wrap(new float[] {-1e30f, 0, 0, -0.5f, 0}, b, t);
        double scale = 1 / Math.sqrt(d);
        Tensor eo = Tensor.empty(DType.F32, b, h, t, d), el = Tensor.empty(DType.F32, b, h, t);
        Tensor fo = Tensor.empty(DType.F32, dev, b, h, t, d), fl = Tensor.empty(DType.F32, dev, b, h, t);
        cpu.attention(eo, el, q, k, v, mask, scale);
        cuda.attention(fo, fl, q.to(dev), k.to(dev), v.to(dev), mask.to(dev), scale);
        close("attention out", eo, fo, 1e-5);
        close("attention lse", el, fl, 1e-5);
        Tensor[] e = {Tensor.empty(DType.F32, b, h, t, d), Tensor.empty(DType.F32, b, h, t, d), Tensor.empty(DType.F32, b, h, t, d)};
        Tensor[] f = {Tensor.empty(DType.F32, dev, b, h, t, d), Tensor.empty(DType.F32, dev, b, h, t, d),
                Tensor.empty(DType.F32, dev, b, h, t, d)};
        cpu.attentionBackward(e[0], e[1], e[2], dout, q, k, v, eo, el, mask, scale);
        cuda.attentionBackward(f[0], f[1], f[2], dout.to(dev), q.to(dev), k.to(dev), v.to(dev), fo, fl, mask.to(dev), scale);
        for (int i = 0; i < 3; i++) GpuChecks.assertNormwise("attention d" + "qkv".charAt(i), e[i], f[i], 1e-5);
    }

    @Test
    void bf16AttentionAtHeadDim16RunsThroughF32AndRoundsItsOutputsOnce() {
        int b = 1, h = 2, t = 4, d = 16;
        Tensor q = normal(1, b, h, t, d).to(DType.BF16), k = normal(1, b, h, t, d).to(DType.BF16),
                v = normal(1, b, h, t, d).to(DType.BF16), dout = normal(1, b, h, t, d).to(DType.BF16);
        double scale = 1 / Math.sqrt(d);
        // the CPU's F32 attention of the BF16 values (widening is exact)
        Tensor eo = Tensor.empty(DType.F32, b, h, t, d), el = Tensor.empty(DType.F32, b, h, t);
        cpu.attention(eo, el, q.to(DType.F32), k.to(DType.F32), v.to(DType.F32), null, scale);
        Tensor fo = Tensor.full(Double.NaN, DType.BF16, dev, b, h, t, d), fl = Tensor.full(Double.NaN, DType.F32, dev, b, h, t);
        cuda.attention(fo, fl, q.to(dev), k.to(dev), v.to(dev), null, scale);
        double bf16Rounding = 1.0 / 128; // one rounding to BF16 (2^-9 relative) plus F32 summation-order noise
        GpuChecks.assertClose("BF16 attention out", eo, fo.to(DType.F32), bf16Rounding, 1e-5);
        close("BF16 attention lse (F32)", el, fl, 1e-5);
        Tensor[] e = {Tensor.empty(DType.F32, b, h, t, d), Tensor.empty(DType.F32, b, h, t, d), Tensor.empty(DType.F32, b, h, t, d)};
        cpu.attentionBackward(e[0], e[1], e[2], dout.to(DType.F32), q.to(DType.F32), k.to(DType.F32), v.to(DType.F32),
                fo.to(Device.CPU).to(DType.F32), el, null, scale);
        Tensor[] f = {Tensor.empty(DType.BF16, dev, b, h, t, d), Tensor.empty(DType.BF16, dev, b, h, t, d),
                Tensor.empty(DType.BF16, dev, b, h, t, d)};
        cuda.attentionBackward(f[0], f[1], f[2], dout.to(dev), q.to(dev), k.to(dev), v.to(dev), fo, fl, null, scale);
        for (int i = 0; i < 3; i++) {
            assertEquals(DType.BF16, f[i].dtype());
            GpuChecks.assertClose("BF16 attention d" + "qkv".charAt(i), e[i], f[i].to(DType.F32), bf16Rounding, 1e-4);
        }
    }

    @Test
    void bf16TensorCoreAttentionRunsOnTheEmulatorToo() {
        // head dim 64: the mma kernels, on ptxemu (simt has no tensor cores), with a 2-d grid of (query tiles, B H)
        int b = 1, h = 2, t = 3, d = 64;
        Tensor q = normal(1, b, h, t, d).to(DType.BF16), k = normal(1, b, h, t, d).to(DType.BF16),
                v = normal(1, b, h, t, d).to(DType.BF16);
        double scale = 1 / Math.sqrt(d);
        Tensor eo = Tensor.empty(DType.F32, b, h, t, d), el = Tensor.empty(DType.F32, b, h, t);
        cpu.attention(eo, el, q.to(DType.F32), k.to(DType.F32), v.to(DType.F32), null, scale);
        Tensor fo = Tensor.full(Double.NaN, DType.BF16, dev, b, h, t, d), fl = Tensor.empty(DType.F32, dev, b, h, t);
        cuda.attention(fo, fl, q.to(dev), k.to(dev), v.to(dev), null, scale);
        GpuChecks.assertNormwise("BF16 tensor-core attention out", eo, fo.to(DType.F32), 1e-2);
        close("BF16 tensor-core attention lse", el, fl, 1e-5);
    }
}
