package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
 * and sizes) and the launches each op makes are pinned down; GEMM calls are checked against cuBLAS's argument
 * rules and the allocations they touch, and recorded.
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
        synchronized (RecordingBackendProvider.GEMMS) {
            RecordingBackendProvider.GEMMS.clear();
        }
    }

    private List<GemmCall> gemms() {
        synchronized (RecordingBackendProvider.GEMMS) {
            List<GemmCall> calls = new ArrayList<>(RecordingBackendProvider.GEMMS);
            RecordingBackendProvider.GEMMS.clear();
            return calls;
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

    @Test
    void gemmRecordsTheCublasCallItPlanned() {
        // row-major C [2, 5, 3] = A [2, 5, 7] B, with B [2, 7, 3] a transposed view of [2, 3, 7] storage
        Tensor a = t(2, 5, 7), bt = t(2, 3, 7).transpose(1, 2), c = t(2, 5, 3);
        cuda.gemm(c, a, bt, 1, 0);
        List<GemmCall> calls = gemms();
        assertEquals(1, calls.size());
        GemmCall g = calls.get(0);
        assertEquals("cublasSgemmStridedBatched", g.function());
        // cuBLAS computes C^T [3, 5] = op(B^T) [3, 7] op(A^T) [7, 5]: B's storage [3, 7] row-major is column-major
        // [7, 3], so it needs the flag; A's [5, 7] row-major is column-major A^T [7, 5] as it is
        assertEquals(List.of(true, false, 3, 5, 7), List.of(g.transA(), g.transB(), g.m(), g.n(), g.k()));
        assertEquals(List.of(7, 7, 3), List.of(g.lda(), g.ldb(), g.ldc()));
        assertEquals(List.of(21L, 35L, 15L), List.of(g.strideA(), g.strideB(), g.strideC()));
        assertEquals(List.of(Cuda.address(bt), Cuda.address(a), Cuda.address(c)), List.of(g.a(), g.b(), g.c()));
        assertEquals(2, g.batch());
        assertEquals(List.of(), launched());
        // BF16 operands go to cublasGemmStridedBatchedEx with F32 accumulation, into F32 or BF16
        Tensor ab = Tensor.empty(DType.BF16, dev, 1, 4, 8), bb = Tensor.empty(DType.BF16, dev, 1, 8, 6);
        cuda.gemm(Tensor.empty(DType.BF16, dev, 1, 4, 6), ab, bb, 1, 0);
        cuda.gemm(t(1, 4, 6), ab, bb.expand(1, 8, 6), 1, 0);
        for (GemmCall call : gemms()) {
            assertEquals("cublasGemmStridedBatchedEx", call.function());
            assertEquals(GemmCall.Compute.F32, call.compute());
        }
        // a stepped operand is copied first, a transposed C written through a temporary
        cuda.gemm(t(2, 3, 5).transpose(1, 2), t(2, 5, 14).slice(2, 0, 14, 2), t(2, 7, 3), 1, 0);
        assertEquals(List.of("elementwise.ptx:copy_convert", "elementwise.ptx:copy_convert"), launched());
        assertEquals(1, gemms().size());
    }

    @Test
    void gemmArgumentsCublasWouldRejectFailOnTheRecordingDevice() {
        GemmCall ok = new GemmCall(false, false, 4, 3, 2, 1, 0x1000, DType.F32, 4, 8, 0x2000, DType.F32, 2, 6, 0,
                0x3000, DType.F32, 4, 12, 2, GemmCall.Compute.F32);
        ok.validate();
        GemmCall lda = new GemmCall(false, false, 4, 3, 2, 1, 0x1000, DType.F32, 3, 8, 0x2000, DType.F32, 2, 6, 0,
                0x3000, DType.F32, 4, 12, 2, GemmCall.Compute.F32);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, lda::validate);
        assertTrue(e.getMessage().contains("lda 3 < max(1, 4)"), e.getMessage());
        GemmCall mixed = new GemmCall(false, false, 4, 3, 2, 1, 0x1000, DType.BF16, 4, 8, 0x2000, DType.F32, 2, 6, 0,
                0x3000, DType.F32, 4, 12, 2, GemmCall.Compute.F32);
        assertThrows(IllegalArgumentException.class, mixed::validate);
        // an operand reaching past its allocation
        CudaContext ctx = ((CudaBackend) cuda).context();
        try (DeviceBuffer small = ctx.scratch(64)) {
            long p = small.address();
            GemmCall past = new GemmCall(false, false, 16, 16, 16, 1, p, DType.F32, 16, 0, p, DType.F32, 16, 0, 0,
                    p, DType.F32, 16, 0, 1, GemmCall.Compute.F32);
            e = assertThrows(IllegalArgumentException.class, () -> ctx.gemm(past));
            assertTrue(e.getMessage().contains("outside every allocation"), e.getMessage());
        }
    }

    @Test
    void bf16AttentionAtASmallHeadDimRunsTheF32KernelsOnConvertedCopies() {
        int b = 1, h = 2, tt = 8;
        for (int d : new int[] {16, 32}) {
            Tensor q = Tensor.empty(DType.BF16, dev, b, h, tt, d), k = Tensor.empty(DType.BF16, dev, b, h, tt, d),
                    v = Tensor.empty(DType.BF16, dev, b, h, tt, d), out = Tensor.empty(DType.BF16, dev, b, h, tt, d);
            Tensor lse = t(b, h, tt);
            cuda.attention(out, lse, q, k, v, null, 0.25);
            String convert = "elementwise.ptx:copy_convert";
            assertEquals(List.of(convert, convert, convert, "attention_f32.ptx:attention_fwd_f32", convert), launched(),
                    "forward, d = " + d);
            Tensor dq = Tensor.empty(DType.BF16, dev, b, h, tt, d), dk = Tensor.empty(DType.BF16, dev, b, h, tt, d),
                    dv = Tensor.empty(DType.BF16, dev, b, h, tt, d);
            cuda.attentionBackward(dq, dk, dv, out, q, k, v, out, lse, null, 0.25);
            assertEquals(List.of(convert, convert, convert, convert, convert, "attention_f32.ptx:attention_bwd_dot_f32",
                    "attention_f32.ptx:attention_bwd_dkdv_f32", "attention_f32.ptx:attention_bwd_dq_f32", convert,
                    convert, convert), launched(), "backward, d = " + d);
        }
        // the tensor-core head dims take the BF16 kernels directly
        Tensor q = Tensor.empty(DType.BF16, dev, 1, 1, 8, 64);
        cuda.attention(Tensor.empty(DType.BF16, dev, 1, 1, 8, 64), t(1, 1, 8), q, q, q, null, 0.125);
        assertEquals(List.of("attention_bf16.ptx:attention_fwd_bf16_d64"), launched());
        Tensor odd = Tensor.empty(DType.BF16, dev, 1, 1, 8, 18);
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> cuda.attention(Tensor.empty(DType.BF16, dev, 1, 1, 8, 18), t(1, 1, 8), odd, odd, odd, null, 1));
        assertTrue(e.getMessage().contains("found 18"), e.getMessage());
    }
}
