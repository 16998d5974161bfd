package org.rlhf4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.function.Function;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.function.Executable;
import org.rlhf4j.tensor.cpu.Parallel;

/** Shared pieces of the tensor tests: operand layouts, thread counts and comparisons against a {@link Ref}. */
final class TensorChecks {
    private TensorChecks() {}

    /** Thread counts every parallel path is tested at. */
    static final int[] THREADS = {1, 2, 3};

    static IntStream threadCounts() {
        return IntStream.of(THREADS);
    }

    /** Runs body with the CPU pool at n threads, then restores the previous count. */
    static void withThreads(int n, Runnable body) {
        int before = Parallel.threads();
        Parallel.setThreads(n);
        try {
            body.run();
        } finally {
            Parallel.setThreads(before);
        }
    }

    // ---- operands in several memory layouts ----

    /** How an operand's elements lie in its storage. */
    enum Layout {
        /** Row-major, offset 0. */
        CONTIGUOUS,
        /** A permutation (reversed dimensions) of a contiguous tensor: the inner stride is not 1. */
        PERMUTED,
        /** Every other element of a larger tensor, along every dimension, starting at 1. */
        STEPPED,
        /** A window of a larger tensor: rows narrowed (an offset) and the last dimension narrowed (a gap). */
        NARROWED,
        /** A size-1 dimension expanded with stride 0 (only as an input: it has repeated elements). */
        EXPANDED
    }

    /** A tensor and the reference values it must hold. */
    record Operand(Tensor tensor, Ref ref) {}

    /**
     * A tensor of {@code shape} and {@code dtype} laid out as {@code layout}, filled from {@code source} (which
     * makes a reference array for a requested shape). The storage around a view holds other values, so reading
     * outside the view shows.
     */
    static Operand operand(Layout layout, DType dtype, Function<int[], Ref> source, int... shape) {
        if (dtype == DType.BF16) {
            // BF16 holds 8 significant bits: the reference keeps what the tensor will hold
            Function<int[], Ref> exact = source;
            source = s -> exact.apply(s).map(Ref::bf16);
        }
        int rank = shape.length;
        switch (layout) {
            case PERMUTED: {
                int[] order = new int[rank], baseShape = new int[rank];
                for (int d = 0; d < rank; d++) {
                    order[d] = rank - 1 - d;
                    baseShape[d] = shape[rank - 1 - d];
                }
                Ref base = source.apply(baseShape);
                return new Operand(base.tensor(dtype).permute(order), base.permute(order));
            }
            case STEPPED: {
                int[] baseShape = new int[rank];
                for (int d = 0; d < rank; d++) baseShape[d] = 2 * shape[d] + 1;
                Ref ref = source.apply(baseShape);
                Tensor t = ref.tensor(dtype);
                for (int d = 0; d < rank; d++) {
                    t = t.slice(d, 1, 1 + 2 * shape[d], 2);
                    ref = ref.slice(d, 1, 1 + 2 * shape[d], 2);
                }
                return new Operand(t, ref);
            }
            case NARROWED: {
                if (rank == 0) return operand(Layout.CONTIGUOUS, dtype, source, shape);
                if (rank == 1) {
                    Ref ref = source.apply(new int[] {shape[0] + 5});
                    return new Operand(ref.tensor(dtype).narrow(0, 2, shape[0]), ref.slice(0, 2, 2 + shape[0], 1));
                }
                int[] baseShape = shape.clone();
                baseShape[0] += 2;
                baseShape[rank - 1] += 3;
                Ref ref = source.apply(baseShape);
                Tensor t = ref.tensor(dtype).narrow(0, 1, shape[0]);
                ref = ref.slice(0, 1, 1 + shape[0], 1);
                t = t.narrow(rank - 1, 2, shape[rank - 1]);
                ref = ref.slice(rank - 1, 2, 2 + shape[rank - 1], 1);
                return new Operand(t, ref);
            }
            case EXPANDED: {
                int[] baseShape = shape.clone();
                for (int d = 0; d < rank; d++) {
                    if (shape[d] > 1) {
                        baseShape[d] = 1;
                        break;
                    }
                }
                Ref base = source.apply(baseShape);
                return new Operand(base.tensor(dtype).expand(shape), base.broadcastTo(shape));
            }
            default: {
                Ref ref = source.apply(shape);
                return new Operand(ref.tensor(dtype), ref);
            }
        }
    }

    /** Layouts an output-like operand can take (no repeated elements). */
    static Stream<Layout> distinctLayouts() {
        return Stream.of(Layout.CONTIGUOUS, Layout.PERMUTED, Layout.STEPPED, Layout.NARROWED);
    }

    // ---- comparisons ----

    /** F32 tolerances for ops that are one rounding (or a few) away from the F64 result. */
    static final double F32_RTOL = 1e-6, F32_ATOL = 1e-6;
    /** F64 tolerance. */
    static final double F64_RTOL = 1e-12, F64_ATOL = 1e-12;

    static double rtol(DType dtype) {
        return dtype == DType.F64 ? F64_RTOL : F32_RTOL;
    }

    static double atol(DType dtype) {
        return dtype == DType.F64 ? F64_ATOL : F32_ATOL;
    }

    /**
     * Compares with expected rounded to F32 first when the actual tensor is F32: the best an F32 result can be is
     * the rounded reference (which also turns a reference beyond the F32 range into the infinity F32 gives).
     */
    private static double expectedIn(DType dtype, double expected) {
        return dtype == DType.F32 ? (float) expected : expected;
    }

    static boolean close(double expected, double actual, double rtol, double atol) {
        if (Double.isNaN(expected)) return Double.isNaN(actual);
        if (expected == actual) return true; // also equal infinities
        return Math.abs(actual - expected) <= atol + rtol * Math.abs(expected);
    }

    /** Same shape, and every element within atol + rtol * |expected|; NaN must meet NaN, infinity its twin. */
    static void assertClose(String what, Ref expected, Tensor actual, double rtol, double atol) {
        assertArrayEquals(expected.shape, actual.shape(), () -> what + ": shape");
        Ref got = Ref.read(actual);
        int[] idx = new int[expected.shape.length];
        for (int i = 0; i < expected.data.length; i++) {
            if (!close(expectedIn(actual.dtype(), expected.data[i]), got.data[i], rtol, atol)) {
                fail(what + ": at " + Arrays.toString(idx) + " of " + Arrays.toString(expected.shape) + " expected "
                        + expected.data[i] + ", found " + got.data[i] + " (rtol " + rtol + ", atol " + atol + ")");
            }
            Ref.next(idx, expected.shape);
        }
    }

    static void assertClose(String what, Ref expected, Tensor actual) {
        assertClose(what, expected, actual, rtol(actual.dtype()), atol(actual.dtype()));
    }

    static void assertExact(String what, Ref expected, Tensor actual) {
        assertClose(what, expected, actual, 0, 0);
    }

    static void assertValues(String what, Tensor actual, double... expected) {
        Ref got = Ref.read(actual);
        assertEquals(expected.length, got.data.length, () -> what + ": element count of " + actual);
        for (int i = 0; i < expected.length; i++) {
            if (!close(expected[i], got.data[i], 0, 0)) {
                fail(what + ": element " + i + " expected " + expected[i] + ", found " + got.data[i] + " in " + actual);
            }
        }
    }

    /**
     * After an op wrote {@code view} (a view of some storage, snapshotted in {@code before}), the view holds
     * {@code expected} and every storage element outside the view is exactly as it was.
     */
    static void assertWrittenOnlyThrough(String what, Tensor view, double[] before, Ref expected, double rtol,
                                         double atol) {
        assertClose(what, expected, view, rtol, atol);
        boolean[] inView = new boolean[before.length];
        int[] shape = view.shape(), strides = view.strides(), idx = new int[shape.length];
        for (int i = 0; i < Ref.numel(shape); i++) {
            int o = view.offset();
            for (int d = 0; d < shape.length; d++) o += idx[d] * strides[d];
            inView[o] = true;
            Ref.next(idx, shape);
        }
        double[] after = Ref.storageSnapshot(view);
        for (int o = 0; o < before.length; o++) {
            if (!inView[o] && Double.compare(before[o], after[o]) != 0) {
                fail(what + ": storage element " + o + " outside the view changed from " + before[o] + " to " + after[o]);
            }
        }
    }

    /** The op fails with the given exception type and a message holding every fragment. */
    static <T extends Throwable> T assertFails(Class<T> type, Executable op, String... fragments) {
        T e = assertThrows(type, op);
        String message = e.getMessage();
        for (String f : fragments) {
            assertTrue(message != null && message.contains(f),
                    () -> "message \"" + message + "\" should contain \"" + f + "\"");
        }
        return e;
    }

    /** The op fails its checks and leaves every listed tensor's storage exactly as it was. */
    static <T extends Throwable> T assertFailsUntouched(Class<T> type, Executable op, Tensor[] untouched,
                                                        String... fragments) {
        double[][] before = new double[untouched.length][];
        for (int i = 0; i < untouched.length; i++) before[i] = Ref.storageSnapshot(untouched[i]);
        T e = assertFails(type, op, fragments);
        for (int i = 0; i < untouched.length; i++) {
            assertArrayEquals(before[i], Ref.storageSnapshot(untouched[i]), 0.0,
                    "a failed op wrote into operand " + i);
        }
        return e;
    }
}
