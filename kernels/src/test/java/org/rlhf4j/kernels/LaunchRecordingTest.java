package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.Backend;
import org.rlhf4j.tensor.Backends;
import org.rlhf4j.tensor.BinaryOp;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.ReduceOp;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.tensor.TernaryOp;
import org.rlhf4j.tensor.UnaryOp;

/**
 * The host side of CudaBackend without a GPU: every kernel-launching op runs on a context without a driver
 * (RecordingBackendProvider), so each launch's arguments are checked against its PTX entry's parameters (count
 * and sizes) and the launches each op makes are pinned down.
 */
class LaunchRecordingTest {
    static {
        System.setProperty(RecordingBackendProvider.PROPERTY, "true");
    }

    private final Device dev = Device.of(Device.Kind.CUDA, RecordingBackendProvider.INDEX);
    private Backend cuda;

    @BeforeEach
    void open() {
        cuda = Backends.forDevice(dev);
        assertTrue(cuda instanceof CudaBackend, "cuda:7 is the recording CudaBackend");
        synchronized (RecordingBackendProvider.LAUNCHES) {
            RecordingBackendProvider.LAUNCHES.clear();
        }
    }

    private List<String> launched() {
        synchronized (RecordingBackendProvider.LAUNCHES) {
            List<String> names = new ArrayList<>();
            for (RecordingBackendProvider.Launch l : RecordingBackendProvider.LAUNCHES) names.add(l.kernel());
            RecordingBackendProvider.LAUNCHES.clear();
            return names;
        }
    }

    private Tensor t(int... shape) {
        return Tensor.empty(DType.F32, dev, shape);
    }

    @Test
    void elementwiseOpsLaunchTheirKernelWithMatchingArguments() {
        Tensor a = t(4, 5), b = t(5), y = t(4, 5);
        for (UnaryOp op : UnaryOp.values()) cuda.unary(op, y, a.transpose(0, 1).transpose(0, 1));
        assertEquals(UnaryOp.values().length, launched().stream().filter(n -> n.endsWith("ew_unary_f32")).count());
        for (BinaryOp op : BinaryOp.values()) {
            cuda.binary(op, y, a, b.expand(4, 5));
            cuda.binaryScalar(op, y, a, 2);
        }
        assertEquals(2 * BinaryOp.values().length, launched().stream().filter(n -> n.endsWith("ew_binary_f32")).count());
        for (TernaryOp op : TernaryOp.values()) cuda.ternary(op, y, a, b.expand(4, 5), a);
        cuda.clamp(y, a, -1, 1);
        assertEquals(List.of("elementwise.ptx:ew_ternary_f32", "elementwise.ptx:ew_ternary_f32",
                "elementwise.ptx:ew_ternary_f32", "elementwise.ptx:ew_unary_f32"), launched());
        // the Tensor API reaches the same kernels
        a.add(b).mul(2.0).exp();
        assertEquals(3, launched().size());
    }

    @Test
    void copiesConversionsAndFillsOfViewsUseTheKernels() {
        Tensor a = t(6, 7);
        cuda.copy(t(7, 6), a.transpose(0, 1));
        Tensor bf = Tensor.empty(DType.BF16, dev, 6, 7);
        cuda.copy(bf, a);
        cuda.copy(Tensor.empty(DType.I32, dev, 6, 7), bf);
        cuda.copy(Tensor.empty(DType.F64, dev, 7, 6), a.transpose(0, 1));
        cuda.fill(a.slice(1, 0, 7, 2), 3);
        cuda.fill(Tensor.empty(DType.F64, dev, 3), 1.5);
        assertEquals(List.of("elementwise.ptx:copy_convert", "elementwise.ptx:copy_convert",
                "elementwise.ptx:copy_convert", "elementwise.ptx:copy_convert", "elementwise.ptx:fill",
                "elementwise.ptx:fill"), launched());
    }

    @Test
    void reductionsTakeOneOrTwoPassesAndArgmaxOne() {
        cuda.reduce(ReduceOp.SUM, t(16384, 1), t(16384, 16384), 1);
        assertEquals(List.of("reduce.ptx:reduce_rows_f32"), launched());
        cuda.reduce(ReduceOp.MEAN, t(1, 16384), t(16384, 16384), 0);
        assertEquals(List.of("reduce.ptx:reduce_cols_f32", "reduce.ptx:reduce_cols_f32"), launched());
        cuda.reduce(ReduceOp.MAX, t(2, 1), t(2, 1 << 17), 1);
        assertEquals(List.of("reduce.ptx:reduce_rows_f32", "reduce.ptx:reduce_rows_f32"), launched());
        cuda.argmax(Tensor.empty(DType.I32, dev, 2, 1), t(2, 1 << 17), 1);
        cuda.argmax(Tensor.empty(DType.I32, dev, 1, 30), t(40, 30), 0);
        assertEquals(List.of("reduce.ptx:argmax_rows_f32", "reduce.ptx:argmax_cols_f32"), launched());
        // a strided source is made contiguous first, a strided destination written through a temporary
        Tensor strided = t(60, 2).narrow(1, 0, 1);
        Tensor transposed = t(50, 60).transpose(0, 1);
        assertEquals(List.of(), launched());
        cuda.reduce(ReduceOp.SUM, strided, transposed, 1);
        assertEquals(List.of("elementwise.ptx:copy_convert", "reduce.ptx:reduce_rows_f32", "elementwise.ptx:copy_convert"),
                launched());
    }

    @Test
    void indexingAndRandomNumbersLaunchWithMatchingArguments() {
        Tensor src = t(9, 13), idx = Tensor.empty(DType.I32, dev, 9, 20);
        cuda.gather(t(9, 20), src, 1, idx);
        cuda.scatterAdd(src, 1, idx, t(9, 20));
        cuda.indexSelect(t(9, 5), src, 1, Tensor.empty(DType.I32, dev, 5));
        cuda.indexSelect(Tensor.empty(DType.BF16, dev, 3, 13), Tensor.empty(DType.BF16, dev, 9, 13), 0,
                Tensor.empty(DType.I32, dev, 8).slice(0, 0, 8, 3));
        cuda.uniform(t(1001), 1, 2, -1, 1);
        cuda.normal(t(5, 7).transpose(0, 1), 1, 2, 0, 1);
        assertEquals(List.of("index.ptx:gather", "index.ptx:scatter_add", "index.ptx:index_select",
                "index.ptx:index_select", "philox.ptx:philox_uniform_f32", "philox.ptx:philox_normal_f32",
                "elementwise.ptx:copy_convert"), launched());
    }

    @Test
    void launchSizesStayWithinTheDevice() {
        cuda.unary(UnaryOp.EXP, t(1 << 28), t(1 << 28));
        cuda.reduce(ReduceOp.SUM, t(1 << 20, 1), t(1 << 20, 8), 1);
        synchronized (RecordingBackendProvider.LAUNCHES) {
            for (RecordingBackendProvider.Launch l : RecordingBackendProvider.LAUNCHES) {
                assertTrue(l.grid()[0] >= 1 && l.grid()[0] <= 132 * 16 * 512, l.kernel() + " grid " + l.grid()[0]);
                assertEquals(256, l.block()[0], l.kernel());
            }
        }
    }
}
