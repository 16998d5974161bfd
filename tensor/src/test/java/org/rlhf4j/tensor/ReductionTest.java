package org.rlhf4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhf4j.tensor.TensorChecks.assertClose;
import static org.rlhf4j.tensor.TensorChecks.assertExact;
import static org.rlhf4j.tensor.TensorChecks.assertFails;
import static org.rlhf4j.tensor.TensorChecks.assertValues;
import static org.rlhf4j.tensor.TensorChecks.withThreads;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.rlhf4j.tensor.TensorChecks.Layout;
import org.rlhf4j.tensor.TensorChecks.Operand;

/**
 * sum, mean, max, min and argmax along every axis and over all elements. Inputs are multiples of 1/8 (see
 * {@link Ref#dyadic}), so that F32 sums are exact in any order and a skipped or doubled element cannot hide
 * inside a tolerance; only the division of mean rounds.
 */
class ReductionTest {
    private final Random rnd = new Random(77);

    private static final int[][] SHAPES = {{7}, {1}, {3, 5}, {1, 6}, {6, 1}, {2, 3, 4}, {2, 3, 1, 5}, {3, 1, 4, 33}};

    static Tensor reduce(ReduceOp op, Tensor x, int axis, boolean keepDim) {
        switch (op) {
            case SUM: return x.sum(axis, keepDim);
            case MEAN: return x.mean(axis, keepDim);
            case MAX: return x.max(axis, keepDim);
            case MIN: return x.min(axis, keepDim);
            default: throw new AssertionError(op);
        }
    }

    static Tensor reduceAll(ReduceOp op, Tensor x) {
        switch (op) {
            case SUM: return x.sum();
            case MEAN: return x.mean();
            case MAX: return x.max();
            case MIN: return x.min();
            default: throw new AssertionError(op);
        }
    }

    /** The reference over all elements, as a 0-d array. */
    static Ref reduceAllRef(ReduceOp op, Ref x) {
        return x.reshape(x.numel()).reduce(op, 0).reshape();
    }

    private static double rtol(ReduceOp op, DType dtype) {
        return op == ReduceOp.MEAN ? TensorChecks.rtol(dtype) : 0;
    }

    private static void checkAlongAxis(ReduceOp op, DType dtype, Operand x, int axis, boolean keepDim) {
        int rank = x.ref().dim();
        int a = axis < 0 ? axis + rank : axis;
        Ref kept = x.ref().reduce(op, a);
        Ref expected = keepDim ? kept : kept.reshape(Ref.without(x.ref().shape, a));
        String what = op + " " + dtype + " " + Arrays.toString(x.ref().shape) + " strides "
                + Arrays.toString(x.tensor().strides()) + " axis " + axis + (keepDim ? " keepDim" : "");
        Tensor out = reduce(op, x.tensor(), axis, keepDim);
        assertEquals(dtype, out.dtype(), what);
        assertClose(what, expected, out, rtol(op, dtype), 0);
    }

    @ParameterizedTest
    @EnumSource(ReduceOp.class)
    void reducesAlongEveryAxisOfEveryLayout(ReduceOp op) {
        for (DType dtype : new DType[] {DType.F32, DType.F64}) {
            Function<int[], Ref> source = s -> Ref.dyadic(rnd, s);
            for (Layout layout : Layout.values()) {
                for (int[] shape : SHAPES) {
                    Operand x = TensorChecks.operand(layout, dtype, source, shape);
                    for (int axis = 0; axis < shape.length; axis++) {
                        checkAlongAxis(op, dtype, x, axis, false);
                        checkAlongAxis(op, dtype, x, axis, true);
                        checkAlongAxis(op, dtype, x, axis - shape.length, false);
                    }
                    assertClose(op + " of all " + layout + " " + Arrays.toString(shape), reduceAllRef(op, x.ref()),
                            reduceAll(op, x.tensor()), rtol(op, dtype), 0);
                    assertExact("input untouched", x.ref(), x.tensor());
                }
            }
        }
    }

    /** Shapes and axes that take every parallel path: rows, columns (inner > 1), and long rows split in parts. */
    record Large(Layout layout, int[] shape, int axis) {}

    private static final Large[] LARGE = {
        new Large(Layout.CONTIGUOUS, new int[] {1, 300_000}, 1), // one long row: split, partial results combined
        new Large(Layout.NARROWED, new int[] {2, 300_000}, -1),
        new Large(Layout.CONTIGUOUS, new int[] {300_001}, 0),
        new Large(Layout.CONTIGUOUS, new int[] {300, 200}, 0), // across rows, vectorized along the inner dimension
        new Large(Layout.CONTIGUOUS, new int[] {4, 9000}, 0), // inner dimension in several chunks, with a short last one
        new Large(Layout.PERMUTED, new int[] {300, 200}, 1),
        new Large(Layout.CONTIGUOUS, new int[] {4, 30, 600}, 1),
        new Large(Layout.CONTIGUOUS, new int[] {2, 5000, 7}, 1),
        new Large(Layout.CONTIGUOUS, new int[] {40_000, 3}, 1), // many short rows
    };

    static Stream<Arguments> opsAndThreads() {
        return Stream.of(ReduceOp.values()).flatMap(op -> TensorChecks.threadCounts().mapToObj(n -> Arguments.of(op, n)));
    }

    @ParameterizedTest(name = "{0} at {1} threads")
    @MethodSource("opsAndThreads")
    void reducesLargeTensorsSplitOverThreads(ReduceOp op, int threads) {
        withThreads(threads, () -> {
            for (DType dtype : new DType[] {DType.F32, DType.F64}) {
                for (Large large : LARGE) {
                    Operand x = TensorChecks.operand(large.layout(), dtype, s -> Ref.dyadic(rnd, s), large.shape());
                    checkAlongAxis(op, dtype, x, large.axis(), false);
                }
                Operand all = TensorChecks.operand(Layout.PERMUTED, dtype, s -> Ref.dyadic(rnd, s), 300, 200);
                assertClose(op + " of all", reduceAllRef(op, all.ref()), reduceAll(op, all.tensor()), rtol(op, dtype), 0);
            }
        });
    }

    @Test
    void allReductionsGiveAZeroDimensionalTensor() {
        for (DType dtype : new DType[] {DType.F32, DType.F64}) {
            Tensor s = Tensor.scalar(2.5, dtype);
            for (ReduceOp op : ReduceOp.values()) {
                Tensor r = reduceAll(op, s);
                assertEquals(0, r.dim());
                assertEquals(2.5, r.item(), op.toString());
            }
            Tensor v = Tensor.of(new double[] {1, -2, 5, 0.5}).to(dtype);
            assertEquals(4.5, v.sum().item());
            assertEquals(1.125, v.mean().item());
            assertEquals(5.0, v.max().item());
            assertEquals(-2.0, v.min().item());
            assertArrayEquals(new int[0], v.sum().shape());
        }
        Tensor one = Tensor.ones(1, 1, 1);
        assertArrayEquals(new int[] {1, 1}, one.sum(1, false).shape());
        assertArrayEquals(new int[] {1, 1, 1}, one.sum(1, true).shape());
    }

    @Test
    void reducingAnEmptyAxisGivesZeroSumNaNMeanAndAnErrorForMaxAndMin() {
        for (DType dtype : new DType[] {DType.F32, DType.F64}) {
            Tensor rows = Tensor.zeros(dtype, 3, 0);
            assertExact("sum over an empty row", Ref.of(new int[] {3}, 0, 0, 0), rows.sum(1, false));
            assertExact("mean over an empty row", Ref.of(new int[] {3}, Double.NaN, Double.NaN, Double.NaN), rows.mean(1, false));
            assertArrayEquals(new int[] {3, 1}, rows.sum(-1, true).shape());
            Tensor cols = Tensor.zeros(dtype, 0, 4);
            assertExact("sum over an empty column", Ref.of(new int[] {4}, 0, 0, 0, 0), cols.sum(0, false));
            assertExact("mean over an empty column", Ref.of(new int[] {1, 4}, Double.NaN, Double.NaN, Double.NaN, Double.NaN),
                    cols.mean(0, true));
            assertArrayEquals(new int[] {0}, cols.sum(1, false).shape(), "reducing a non-empty axis of an empty tensor");
            assertArrayEquals(new int[] {0}, cols.max(1, false).shape());
            assertEquals(0.0, cols.sum().item());
            assertTrue(Double.isNaN(cols.mean().item()));
            assertFails(IllegalArgumentException.class, () -> rows.max(1, false), "max: axis 1 of shape [3, 0] is empty");
            assertFails(IllegalArgumentException.class, () -> rows.min(-1, true), "min: axis 1 of shape [3, 0] is empty");
            assertFails(IllegalArgumentException.class, () -> cols.max(0, false), "max", "axis 0", "[0, 4]", "empty");
            assertFails(IllegalArgumentException.class, cols::max, "max", "empty");
            assertFails(IllegalArgumentException.class, () -> cols.argmax(0, false), "argmax: axis 0 of shape [0, 4] is empty");
        }
    }

    static Stream<Arguments> threads() {
        return TensorChecks.threadCounts().mapToObj(Arguments::of);
    }

    @ParameterizedTest(name = "{0} threads")
    @MethodSource("threads")
    void nanPropagatesThroughEveryReductionPath(int threads) {
        withThreads(threads, () -> {
            for (DType dtype : new DType[] {DType.F32, DType.F64}) {
                for (int[] shape : new int[][] {{3, 45}, {45, 3}, {1, 300_000}, {300, 200}}) {
                    for (int axis = 0; axis < 2; axis++) {
                        Ref r = Ref.dyadic(rnd, shape);
                        // one NaN in some rows and columns, at a vector-body position and at a tail position
                        r.data[r.numel() / 2 + 1] = Double.NaN;
                        r.data[r.numel() - 1] = Double.NaN;
                        Tensor t = r.tensor(dtype);
                        for (ReduceOp op : ReduceOp.values()) {
                            String what = op + " " + dtype + " " + Arrays.toString(shape) + " axis " + axis + " with NaN";
                            Ref expected = r.reduce(op, axis).reshape(Ref.without(shape, axis));
                            assertClose(what, expected, reduce(op, t, axis, false), rtol(op, dtype), 0);
                            assertTrue(Double.isNaN(reduceAll(op, t).item()), what + " over all");
                        }
                    }
                }
            }
        });
    }

    @Test
    void infinitiesAreHandled() {
        float inf = Float.POSITIVE_INFINITY;
        Tensor allNegInf = Tensor.full(Double.NEGATIVE_INFINITY, DType.F32, 2, 40);
        assertExact("max of -inf rows", Ref.of(new int[] {2}, -inf, -inf), allNegInf.max(1, false));
        assertExact("min of -inf rows", Ref.of(new int[] {2}, -inf, -inf), allNegInf.min(1, false));
        assertEquals(inf, Tensor.full(inf, DType.F64, 33).min().item());
        assertTrue(Double.isNaN(Tensor.of(new float[] {inf, -inf, 1}).sum().item()), "inf + -inf");
        assertEquals(inf, Tensor.of(new float[] {3e38f, 3e38f}).sum().item(), "an F32 sum can overflow to inf");
        assertEquals(6e38, Tensor.of(new double[] {3e38, 3e38}).sum().item(), "F64 does not");
    }

    @Test
    void f32SumsOfOrdinaryDataAreAccurate() {
        Ref r = Ref.normal(rnd, DType.F32, 1, 300_000);
        double sumAbs = r.map(Math::abs).reduce(ReduceOp.SUM, 1).data[0];
        withThreads(3, () -> {
            double exact = r.reduce(ReduceOp.SUM, 1).data[0];
            double got = r.tensor(DType.F32).sum(1, false).item();
            assertEquals(exact, got, 1e-6 * sumAbs, "F32 sum of 300000 normal values");
        });
    }

    @Test
    void reductionsRejectIntegerTensorsAndBadAxes() {
        Tensor ids = Tensor.ofInts(new int[] {1, 2, 3});
        assertFails(IllegalArgumentException.class, () -> ids.sum(0, false), "sum: expected an F32 or F64 tensor, found I32");
        assertFails(IllegalArgumentException.class, ids::mean, "mean", "I32");
        assertFails(IllegalArgumentException.class, () -> ids.argmax(0, false), "argmax: expected an F32 or F64 tensor, found I32");
        Tensor x = Tensor.zeros(2, 3);
        assertFails(IllegalArgumentException.class, () -> x.sum(2, false), "sum: axis 2 is out of range for a tensor of rank 2");
        assertFails(IllegalArgumentException.class, () -> x.max(-3, true), "max: axis -3 is out of range for a tensor of rank 2");
        assertFails(IllegalArgumentException.class, () -> x.argmax(5, true), "argmax: axis 5 is out of range");
        assertFails(IllegalArgumentException.class, () -> Tensor.scalar(1).sum(0, false), "sum: axis 0", "rank 0");
    }

    // ---- argmax ----

    private static void checkArgmax(DType dtype, Operand x, int axis, boolean keepDim) {
        int rank = x.ref().dim();
        int a = axis < 0 ? axis + rank : axis;
        Ref kept = x.ref().argmax(a);
        Ref expected = keepDim ? kept : kept.reshape(Ref.without(x.ref().shape, a));
        Tensor out = x.tensor().argmax(axis, keepDim);
        assertEquals(DType.I32, out.dtype());
        assertExact("argmax " + dtype + " " + Arrays.toString(x.ref().shape) + " strides "
                + Arrays.toString(x.tensor().strides()) + " axis " + axis, expected, out);
    }

    @Test
    void argmaxFindsTheFirstMaximumAlongEveryAxis() {
        for (DType dtype : new DType[] {DType.F32, DType.F64}) {
            // small integers: many ties, so "first" matters
            Function<int[], Ref> source = s -> Ref.ints(rnd, -3, 3, s);
            for (Layout layout : Layout.values()) {
                for (int[] shape : SHAPES) {
                    Operand x = TensorChecks.operand(layout, dtype, source, shape);
                    for (int axis = 0; axis < shape.length; axis++) {
                        checkArgmax(dtype, x, axis, false);
                        checkArgmax(dtype, x, axis, true);
                        checkArgmax(dtype, x, axis - shape.length, false);
                    }
                    Tensor flat = x.tensor().argmax();
                    assertEquals(0, flat.dim());
                    assertEquals(x.ref().reshape(x.ref().numel()).argmax(0).data[0], flat.item(), "argmax() of " + layout);
                }
            }
        }
        assertEquals(0.0, Tensor.scalar(3).argmax().item());
    }

    @Test
    void argmaxTreatsNaNAsTheMaximum() {
        Tensor x = Tensor.of(new float[] {1, Float.NaN, 5, Float.NaN, 2, 9, 0, Float.NaN, Float.NaN, 3, 4, 5}, 3, 4);
        assertValues("along rows", x.argmax(1, false), 1, 3, 0);
        assertValues("along columns", x.argmax(0, false), 2, 0, 0, 0);
        assertValues("flat", x.argmax(), 1);
        assertValues("F64", x.to(DType.F64).argmax(1, true), 1, 3, 0);
        assertValues("-inf only", Tensor.full(Double.NEGATIVE_INFINITY, DType.F32, 5).argmax(), 0);
    }

    @ParameterizedTest(name = "{0} threads")
    @MethodSource("threads")
    void argmaxOfLargeTensorsSplitOverThreads(int threads) {
        withThreads(threads, () -> {
            for (DType dtype : new DType[] {DType.F32, DType.F64}) {
                for (Large large : new Large[] {new Large(Layout.CONTIGUOUS, new int[] {1, 300_000}, 1),
                    new Large(Layout.PERMUTED, new int[] {300, 200}, 0), new Large(Layout.CONTIGUOUS, new int[] {40_000, 3}, 1)}) {
                    Operand x = TensorChecks.operand(large.layout(), dtype, s -> Ref.ints(rnd, -1000, 1000, s), large.shape());
                    checkArgmax(dtype, x, large.axis(), false);
                }
            }
        });
    }
}
