package org.rlhf4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.rlhf4j.tensor.TensorChecks.assertExact;
import static org.rlhf4j.tensor.TensorChecks.assertFailsUntouched;
import static org.rlhf4j.tensor.TensorChecks.assertValues;
import static org.rlhf4j.tensor.TensorChecks.assertWrittenOnlyThrough;
import static org.rlhf4j.tensor.TensorChecks.withThreads;

import java.util.Arrays;
import java.util.Random;
import java.util.function.DoubleBinaryOperator;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.rlhf4j.tensor.TensorChecks.Layout;
import org.rlhf4j.tensor.TensorChecks.Operand;

/**
 * In-place forms (written through views: only the view's elements change), fill, copyFrom and dtype
 * conversion, at several thread counts, and in-place ops that fail their checks leaving the tensor unchanged.
 */
class InPlaceTest {
    private final Random rnd = new Random(5);

    private static final DType[] FLOATS = {DType.F32, DType.F64};

    /** The destination shape and the operand shapes that broadcast to it. */
    record Case(int[] shape, int[][] operands) {}

    private static final Case[] CASES = {
        new Case(new int[] {4, 5}, new int[][] {{4, 5}, {5}, {4, 1}, {}, {1, 1}}),
        new Case(new int[] {2, 3, 7}, new int[][] {{3, 7}, {2, 1, 7}, {1}}),
        new Case(new int[] {0, 3}, new int[][] {{3}, {0, 1}}),
        new Case(new int[] {}, new int[][] {{}}),
        // large enough to be split over threads: many rows, and one long row in pieces
        new Case(new int[] {180, 190}, new int[][] {{190}}),
        new Case(new int[] {1, 40_000}, new int[][] {{1, 40_000}}),
    };

    static Stream<Arguments> threads() {
        return TensorChecks.threadCounts().mapToObj(Arguments::of);
    }

    private static boolean large(int[] shape) {
        return Ref.numel(shape) > 1000;
    }

    /**
     * Layouts of the destination: contiguous, transposed, stepped and narrowed views of larger storage; at the
     * large sizes, one whose rows are strided and one whose rows are runs at an offset.
     */
    private static Layout[] destinations(int[] shape) {
        if (large(shape)) return new Layout[] {shape[0] == 1 ? Layout.NARROWED : Layout.PERMUTED};
        return new Layout[] {Layout.CONTIGUOUS, Layout.PERMUTED, Layout.STEPPED, Layout.NARROWED};
    }

    private interface InPlace {
        Tensor apply(Tensor self, Tensor other);
    }

    private void checkInPlace(String name, InPlace op, DoubleBinaryOperator ref, double rtol) {
        for (DType dtype : FLOATS) {
            Function<int[], Ref> source = s -> Ref.normal(rnd, dtype, s);
            for (Case c : CASES) {
                for (Layout layout : destinations(c.shape())) {
                    for (int[] otherShape : c.operands()) {
                        Operand self = TensorChecks.operand(layout, dtype, source, c.shape());
                        Operand other = TensorChecks.operand(large(otherShape) ? Layout.CONTIGUOUS : Layout.PERMUTED, dtype, source,
                                otherShape);
                        Ref expected = Ref.zip(self.ref(), other.ref(), ref);
                        double[] before = Ref.storageSnapshot(self.tensor());
                        String what = name + " " + dtype + " " + Arrays.toString(c.shape()) + " " + layout + " with "
                                + Arrays.toString(otherShape);
                        assertSame(self.tensor(), op.apply(self.tensor(), other.tensor()), what + " returns this");
                        assertWrittenOnlyThrough(what, self.tensor(), before, expected, dtype == DType.F64 ? 1e-12 : rtol,
                                dtype == DType.F64 ? 1e-12 : 1e-6);
                        if (!large(otherShape)) assertExact(what + ": operand untouched", other.ref(), other.tensor());
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} threads")
    @MethodSource("threads")
    void arithmeticInPlaceBroadcastsTheOperandAndWritesOnlyThroughTheView(int threads) {
        withThreads(threads, () -> {
            checkInPlace("addInPlace", Tensor::addInPlace, (a, b) -> a + b, 1e-6);
            checkInPlace("subInPlace", Tensor::subInPlace, (a, b) -> a - b, 1e-6);
            checkInPlace("mulInPlace", Tensor::mulInPlace, (a, b) -> a * b, 1e-6);
            checkInPlace("divInPlace", Tensor::divInPlace, (a, b) -> a / b, 1e-6);
            checkInPlace("zipInPlace(MAX)", (a, b) -> a.zipInPlace(BinaryOp.MAX, b), Math::max, 0);
            checkInPlace("zipInPlace(GT)", (a, b) -> a.zipInPlace(BinaryOp.GT, b), BinaryOp.GT::apply, 0);
            checkInPlace("addScaledInPlace", (a, b) -> a.addScaledInPlace(b, -0.375), (a, b) -> a + -0.375 * b, 1e-6);
            checkInPlace("copyFrom", Tensor::copyFrom, (a, b) -> b, 0);
        });
    }

    @ParameterizedTest(name = "{0} threads")
    @MethodSource("threads")
    void scalarAndUnaryInPlaceFormsWriteOnlyThroughTheView(int threads) {
        withThreads(threads, () -> {
            for (DType dtype : FLOATS) {
                double tol = dtype == DType.F64 ? 1e-12 : 1e-6;
                for (Case c : CASES) {
                    for (Layout layout : destinations(c.shape())) {
                        Function<int[], Ref> source = s -> Ref.normal(rnd, dtype, s);
                        String what = dtype + " " + Arrays.toString(c.shape()) + " " + layout;
                        double s = dtype == DType.F32 ? (float) 0.1 : 0.1;
                        check(what + " addInPlace(0.1)", layout, dtype, source, c.shape(), t -> t.addInPlace(0.1), v -> v + s, tol);
                        check(what + " mulInPlace(0.1)", layout, dtype, source, c.shape(), t -> t.mulInPlace(0.1), v -> v * s, tol);
                        check(what + " zipInPlace(POW, 2)", layout, dtype, source, c.shape(), t -> t.zipInPlace(BinaryOp.POW, 2),
                                v -> v * v, dtype == DType.F64 ? 1e-12 : 1e-5);
                        check(what + " zipInPlace(LE, 0)", layout, dtype, source, c.shape(), t -> t.zipInPlace(BinaryOp.LE, 0),
                                v -> v <= 0 ? 1 : 0, 0);
                        check(what + " mapInPlace(EXP)", layout, dtype, source, c.shape(), t -> t.mapInPlace(UnaryOp.EXP),
                                Math::exp, dtype == DType.F64 ? 1e-12 : 1e-5);
                        check(what + " mapInPlace(NEG)", layout, dtype, source, c.shape(), t -> t.mapInPlace(UnaryOp.NEG), v -> -v, 0);
                        check(what + " clampInPlace", layout, dtype, source, c.shape(), t -> t.clampInPlace(-0.5, 0.25),
                                v -> Math.min(Math.max(v, -0.5), 0.25), 0);
                        check(what + " fill", layout, dtype, source, c.shape(), t -> t.fill(-2.5), v -> -2.5, 0);
                    }
                }
            }
        });
    }

    private void check(String what, Layout layout, DType dtype, Function<int[], Ref> source, int[] shape,
                       Function<Tensor, Tensor> op, java.util.function.DoubleUnaryOperator ref, double tol) {
        Operand self = TensorChecks.operand(layout, dtype, source, shape);
        double[] before = Ref.storageSnapshot(self.tensor());
        assertSame(self.tensor(), op.apply(self.tensor()), what + " returns this");
        assertWrittenOnlyThrough(what, self.tensor(), before, self.ref().map(ref), tol, tol);
    }

    @Test
    void fillWorksOnIntegerTensorsAndStridedViews() {
        Tensor ids = Tensor.zeros(DType.I32, 3, 4);
        ids.slice(1, 1, 4, 2).fill(7.9);
        assertValues("I32 fill truncates", ids, 0, 7, 0, 7, 0, 7, 0, 7, 0, 7, 0, 7);
        Tensor base = Tensor.zeros(DType.F64, 4, 3);
        base.t().select(0, 1).fill(1);
        assertValues("a column", base, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0);
    }

    // ---- copyFrom and conversions ----

    /** (int) truncation toward zero, as Java casts; NaN becomes 0. */
    private static double convert(double v, DType to) {
        switch (to) {
            case F32: return (float) v;
            case I32: return (int) v;
            case BF16: return BFloat16.toFloat(BFloat16.fromFloat((float) v));
            default: return v;
        }
    }

    @ParameterizedTest(name = "{0} threads")
    @MethodSource("threads")
    void toConvertsBetweenEveryPairOfDtypes(int threads) {
        withThreads(threads, () -> {
            for (DType from : DType.values()) {
                for (DType to : DType.values()) {
                    for (Layout layout : new Layout[] {Layout.CONTIGUOUS, Layout.PERMUTED, Layout.EXPANDED}) {
                        for (int[] shape : new int[][] {{}, {0}, {3, 5}, {180, 190}}) {
                            Function<int[], Ref> source = s -> from == DType.I32 ? Ref.ints(rnd, -100_000, 100_000, s)
                                    : Ref.uniform(rnd, from, -1000, 1000, s);
                            Operand x = TensorChecks.operand(layout, from, source, shape);
                            Tensor y = x.tensor().to(to);
                            String what = from + " -> " + to + " " + layout + " " + Arrays.toString(shape);
                            assertEquals(to, y.dtype(), what);
                            if (from == to) {
                                assertSame(x.tensor(), y, what + " returns this");
                            } else {
                                assertNotSame(x.tensor().storage(), y.storage(), what);
                            }
                            assertExact(what, x.ref().map(v -> convert(v, to)), y);
                        }
                    }
                }
            }
        });
    }

    @Test
    void conversionEdgeValues() {
        Tensor f = Tensor.of(new float[] {-2.7f, 2.7f, -0.5f, Float.NaN, 1e10f, -1e10f, 16_777_217f});
        assertValues("F32 -> I32 truncates toward zero and saturates", f.to(DType.I32), -2, 2, 0, 0, Integer.MAX_VALUE,
                Integer.MIN_VALUE, 16_777_216);
        assertValues("F64 -> F32 rounds", Tensor.of(new double[] {0.1, 1e300}).to(DType.F32), (float) 0.1, Double.POSITIVE_INFINITY);
        assertValues("I32 -> F32 rounds large ints", Tensor.ofInts(new int[] {16_777_217}).to(DType.F32), 16_777_216);
        assertValues("I32 -> F64 is exact", Tensor.ofInts(new int[] {16_777_217, -3}).to(DType.F64), 16_777_217, -3);
    }

    @ParameterizedTest(name = "{0} threads")
    @MethodSource("threads")
    void copyFromBroadcastsAndConvertsIntoAView(int threads) {
        withThreads(threads, () -> {
            for (DType to : DType.values()) {
                for (DType from : DType.values()) {
                    for (int[][] shapes : new int[][][] {{{4, 5}, {5}}, {{4, 5}, {4, 5}}, {{3, 1, 4}, {}}, {{180, 190}, {180, 1}}}) {
                        Operand dst = TensorChecks.operand(Layout.STEPPED, to, s -> quarters(to, s), shapes[0]);
                        Operand src = TensorChecks.operand(Layout.PERMUTED, from, s -> quarters(from, s), shapes[1]);
                        double[] before = Ref.storageSnapshot(dst.tensor());
                        Ref expected = src.ref().broadcastTo(shapes[0]).map(v -> convert(v, to));
                        String what = "copyFrom " + from + " -> " + to + " " + Arrays.toString(shapes[1]) + " into "
                                + Arrays.toString(shapes[0]);
                        assertSame(dst.tensor(), dst.tensor().copyFrom(src.tensor()));
                        assertWrittenOnlyThrough(what, dst.tensor(), before, expected, 0, 0);
                    }
                }
            }
        });
    }

    /** Multiples of 1/4 (exact in F32 and F64; their integer part for I32). */
    private Ref quarters(DType dtype, int[] shape) {
        Ref r = Ref.ints(rnd, -50, 50, shape);
        return dtype == DType.I32 ? r : r.map(v -> v / 4);
    }

    // ---- failed checks leave the tensor as it was ----

    @Test
    void anInPlaceBroadcastThatWouldChangeTheShapeFailsAndChangesNothing() {
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 3, 1);
        Tensor row = Tensor.of(new float[] {10, 20, 30, 40}, 1, 4);
        Tensor[] both = {x, row};
        assertFailsUntouched(IllegalArgumentException.class, () -> x.addInPlace(row), both,
                "addInPlace: in-place result has shape [3, 1], but broadcasting with [1, 4] gives [3, 4]");
        assertFailsUntouched(IllegalArgumentException.class, () -> x.subInPlace(row), both, "subInPlace", "[3, 4]");
        assertFailsUntouched(IllegalArgumentException.class, () -> x.mulInPlace(Tensor.ones(2, 3, 1)), both, "mulInPlace",
                "[2, 3, 1]");
        assertFailsUntouched(IllegalArgumentException.class, () -> x.divInPlace(Tensor.ones(2, 1)), both,
                "divInPlace: shapes [3, 1] and [2, 1] cannot be broadcast");
        assertFailsUntouched(IllegalArgumentException.class, () -> x.addScaledInPlace(row, 2), both,
                "addScaledInPlace: in-place result has shape [3, 1], but broadcasting with [1, 4] gives [3, 4]");
        assertFailsUntouched(IllegalArgumentException.class, () -> x.copyFrom(row), both,
                "copyFrom: cannot copy shape [1, 4] into [3, 1]");
        assertFailsUntouched(IllegalArgumentException.class, () -> x.copyFrom(Tensor.ones(2)), both, "copyFrom", "[2]", "[3, 1]");
    }

    @Test
    void anInPlaceOpWithTheWrongDtypeFailsAndChangesNothing() {
        Tensor x = Tensor.of(new float[] {1, 2, 3});
        Tensor ids = Tensor.ofInts(new int[] {1, 2, 3});
        Tensor[] all = {x, ids};
        assertFailsUntouched(IllegalArgumentException.class, () -> x.addInPlace(Tensor.ones(DType.F64, 3)), all,
                "addInPlace: dtypes F32 and F64 differ");
        assertFailsUntouched(IllegalArgumentException.class, () -> x.addScaledInPlace(ids, 1), all,
                "addScaledInPlace: dtypes F32 and I32 differ");
        assertFailsUntouched(IllegalArgumentException.class, () -> ids.addInPlace(ids), all,
                "addInPlace: expected an F32 or F64 tensor, found I32");
        assertFailsUntouched(IllegalArgumentException.class, () -> ids.mulInPlace(2), all, "mulInPlace", "I32");
        assertFailsUntouched(IllegalArgumentException.class, () -> ids.mapInPlace(UnaryOp.NEG), all,
                "negInPlace: expected an F32 or F64 tensor, found I32");
        assertFailsUntouched(IllegalArgumentException.class, () -> ids.clampInPlace(0, 1), all, "clampInPlace", "I32");
        assertFailsUntouched(IllegalArgumentException.class, () -> x.clampInPlace(1, 0), all, "clampInPlace: min 1.0 > max 0.0");
        assertFailsUntouched(IllegalArgumentException.class, () -> ids.addScaledInPlace(ids, 1), all,
                "addScaledInPlace: expected an F32 or F64 tensor, found I32");
    }

    @Test
    void comparisonsInPlaceWorkOnIntegerTensors() {
        Tensor ids = Tensor.ofInts(new int[] {-1, 0, 3, 5});
        ids.zipInPlace(BinaryOp.GE, Tensor.ofInts(new int[] {0, 0, 4, 5}));
        assertValues("ge in place", ids, 0, 1, 0, 1);
        ids.zipInPlace(BinaryOp.EQ, 1);
        assertValues("eq scalar in place", ids, 0, 1, 0, 1);
    }

    @Test
    void inPlaceIntoAnExpandedViewIsRefusedAndWritesNothing() {
        Tensor base = Tensor.of(new float[] {1, 2, 3}, 3, 1);
        Tensor expanded = base.expand(3, 4); // every row's 4 elements are one stored float
        Tensor other = Tensor.ones(3, 4);
        java.util.List<Runnable> ops = java.util.List.of(
                () -> expanded.addInPlace(other), () -> expanded.mulInPlace(2.0), () -> expanded.mapInPlace(UnaryOp.EXP),
                () -> expanded.clampInPlace(0, 1), () -> expanded.copyFrom(other), () -> expanded.addScaledInPlace(other, 2),
                () -> expanded.scatterAddInPlace(1, Tensor.ofInts(new int[] {0, 1, 2, 3}, 1, 4), Tensor.ones(1, 4)));
        for (Runnable op : ops) {
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, op::run);
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("expanded view"), e.getMessage());
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {1, 2, 3}, base.toFloatArray());
        // a size-1 dimension with stride 0 holds one element: writing it is fine
        Tensor single = Tensor.zeros(1).expand(1, 1);
        single.addInPlace(Tensor.ones(1, 1));
        org.junit.jupiter.api.Assertions.assertEquals(1.0, single.item(), 0.0);
    }
}
