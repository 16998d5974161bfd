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
 * (cuda:6, EmulatedDevice), against the CPU backend on small random inputs. What a GPU adds (the driver's JIT,
 * cuBLAS, timing) is left to CudaBackendGpuTest. Skips without python3 and NumPy.
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
}
