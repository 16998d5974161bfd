package org.rlhf4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhf4j.tensor.TensorChecks.assertExact;
import static org.rlhf4j.tensor.TensorChecks.assertFails;
import static org.rlhf4j.tensor.TensorChecks.assertValues;
import static org.rlhf4j.tensor.TensorChecks.withThreads;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class CreationTest {
    private static final int[][] SHAPES = {{}, {0}, {1}, {5}, {2, 0, 3}, {3, 4}, {2, 1, 3}, {300, 130}};

    private static void assertFreshContiguous(Tensor t, DType dtype, int... shape) {
        assertArrayEquals(shape, t.shape());
        assertEquals(dtype, t.dtype());
        assertEquals(Device.CPU, t.device());
        assertEquals(0, t.offset());
        assertTrue(t.isContiguous());
        assertEquals(Ref.numel(shape), t.numel());
        assertEquals(shape.length, t.dim());
    }

    private static double[] filled(int n, double v) {
        double[] d = new double[n];
        Arrays.fill(d, v);
        return d;
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void zerosOnesAndFullHaveTheShapeDtypeAndValue(DType dtype) {
        for (int[] shape : SHAPES) {
            int n = Ref.numel(shape);
            Tensor z = Tensor.zeros(dtype, shape);
            assertFreshContiguous(z, dtype, shape);
            assertValues("zeros", z, filled(n, 0));
            Tensor o = Tensor.ones(dtype, shape);
            assertFreshContiguous(o, dtype, shape);
            assertValues("ones", o, filled(n, 1));
            Tensor f = Tensor.full(-3, dtype, shape);
            assertFreshContiguous(f, dtype, shape);
            assertValues("full", f, filled(n, -3));
            assertFreshContiguous(Tensor.empty(dtype, shape), dtype, shape);
        }
    }

    @Test
    void fullRoundsToTheDtype() {
        assertValues("F32", Tensor.full(0.1, DType.F32, 2), (float) 0.1, (float) 0.1);
        assertValues("F64", Tensor.full(0.1, DType.F64, 1), 0.1);
        assertValues("I32 truncates toward zero", Tensor.full(-2.7, DType.I32, 2), -2, -2);
        assertValues("NaN", Tensor.full(Double.NaN, DType.F32, 1), Double.NaN);
    }

    @Test
    void shorthandCreatorsMakeF32OnTheCpu() {
        assertFreshContiguous(Tensor.zeros(2, 3), DType.F32, 2, 3);
        assertFreshContiguous(Tensor.ones(4), DType.F32, 4);
        assertFreshContiguous(Tensor.zeros(DType.F64, Device.CPU, 2), DType.F64, 2);
        assertFreshContiguous(Tensor.full(7, DType.I32, Device.CPU, 3), DType.I32, 3);
    }

    @Test
    void scalarIsZeroDimensional() {
        Tensor s = Tensor.scalar(2.5);
        assertFreshContiguous(s, DType.F32, new int[0]);
        assertEquals(1, s.numel());
        assertEquals(2.5, s.item());
        assertEquals(-4.0, Tensor.scalar(-4, DType.F64).item());
        assertEquals(7.0, Tensor.scalar(7.9, DType.I32).item());
    }

    @Test
    void arangeFollowsNumpy() {
        assertValues("arange(0, 5, 1)", Tensor.arange(0, 5, 1, DType.F32), 0, 1, 2, 3, 4);
        assertValues("arange(1, 2, 0.25)", Tensor.arange(1, 2, 0.25, DType.F64), 1, 1.25, 1.5, 1.75);
        assertValues("arange(5, 0, -2)", Tensor.arange(5, 0, -2, DType.I32), 5, 3, 1);
        assertValues("arange(0, 1, 0.3) has ceil((end - start) / step) elements", Tensor.arange(0, 1, 0.3, DType.F64),
                0, 0.3, 0.6, 0.8999999999999999);
        assertArrayEquals(new int[] {0}, Tensor.arange(3, 3, 1, DType.F32).shape());
        assertArrayEquals(new int[] {0}, Tensor.arange(3, 0, 1, DType.F32).shape());
        Tensor r = Tensor.arange(6, DType.I32);
        assertFreshContiguous(r, DType.I32, 6);
        assertValues("arange(6)", r, 0, 1, 2, 3, 4, 5);
        assertFails(IllegalArgumentException.class, () -> Tensor.arange(0, 1, 0, DType.F32), "arange", "step", "0.0");
        assertFails(IllegalArgumentException.class, () -> Tensor.arange(0, 1, Double.NaN, DType.F32), "arange", "NaN");
    }

    @Test
    void ofCopiesItsDataAndWrapSharesIt() {
        float[] f = {1, 2, 3, 4, 5, 6};
        Tensor copied = Tensor.of(f, 2, 3);
        Tensor wrapped = Tensor.wrap(f, 3, 2);
        f[0] = 100;
        assertEquals(1.0, copied.get(0, 0));
        assertEquals(100.0, wrapped.get(0, 0));
        wrapped.set(-1, 2, 1);
        assertEquals(-1f, f[5]);
        assertEquals(6.0, copied.get(1, 2));

        double[] d = {1, 2, 3};
        Tensor dCopied = Tensor.of(d), dWrapped = Tensor.wrap(d);
        assertFreshContiguous(dCopied, DType.F64, 3);
        dWrapped.fill(9);
        assertArrayEquals(new double[] {9, 9, 9}, d);
        assertValues("of(double[])", dCopied, 1, 2, 3);

        int[] ids = {3, 1, 4, 1};
        Tensor i = Tensor.ofInts(ids, 2, 2);
        ids[0] = 0;
        assertFreshContiguous(i, DType.I32, 2, 2);
        assertValues("ofInts", i, 3, 1, 4, 1);
        assertFreshContiguous(Tensor.of(new float[0]), DType.F32, 0);
        assertFreshContiguous(Tensor.of(new float[] {1, 2}, 1, 2, 1), DType.F32, 1, 2, 1);
    }

    @Test
    void ofRejectsDataThatDoesNotFillTheShape() {
        assertFails(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3),
                "of: 5 values do not fill shape [2, 3] (6 elements)");
        assertFails(IllegalArgumentException.class, () -> Tensor.of(new double[7], 2, 3), "of", "7", "[2, 3]");
        assertFails(IllegalArgumentException.class, () -> Tensor.ofInts(new int[1], 2), "ofInts", "[2]");
        assertFails(IllegalArgumentException.class, () -> Tensor.wrap(new float[4], 5), "wrap", "[5]");
        assertFails(IllegalArgumentException.class, () -> Tensor.wrap(new double[4], 3), "wrap", "[3]");
    }

    @Test
    void likeCreatorsKeepShapeAndDtypeButNotLayout() {
        Tensor x = Tensor.arange(12, DType.F64).reshape(3, 4).t();
        Tensor z = Tensor.zerosLike(x), o = Tensor.onesLike(x), e = Tensor.emptyLike(x);
        for (Tensor t : new Tensor[] {z, o, e}) assertFreshContiguous(t, DType.F64, 4, 3);
        assertValues("zerosLike", z, filled(12, 0));
        assertValues("onesLike", o, filled(12, 1));
        assertNotSame(x.storage(), e.storage());
    }

    // ---- random ----

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void randHasTheShapeAndStaysInTheUnitInterval(DType dtype) {
        for (int[] shape : SHAPES) {
            Tensor u = Tensor.rand(new Generator(1), dtype, shape);
            assertFreshContiguous(u, dtype, shape);
            for (double v : Ref.read(u).data) assertTrue(v >= 0 && v < 1, () -> "rand gave " + v);
            Tensor g = Tensor.randn(new Generator(1), dtype, shape);
            assertFreshContiguous(g, dtype, shape);
            for (double v : Ref.read(g).data) assertTrue(Double.isFinite(v), () -> "randn gave " + v);
        }
        Tensor ranged = Tensor.empty(dtype, 1000).fillUniform(new Generator(3), -2, -1.5);
        for (double v : Ref.read(ranged).data) assertTrue(v >= -2 && v < -1.5, () -> "fillUniform gave " + v);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void aSeedGivesTheSameNumbersAndEachFillNewOnes(DType dtype) {
        Generator g1 = new Generator(42), g2 = new Generator(42);
        Tensor a1 = Tensor.rand(g1, dtype, 3, 5), a2 = Tensor.rand(g2, dtype, 3, 5);
        assertArrayEquals(Ref.read(a1).data, Ref.read(a2).data, 0.0);
        assertEquals(1, g1.offset(), "a fill takes one offset");
        Tensor b1 = Tensor.rand(g1, dtype, 3, 5);
        assertFalse(Arrays.equals(Ref.read(a1).data, Ref.read(b1).data), "the second fill repeats the first");
        Tensor other = Tensor.rand(new Generator(43), dtype, 3, 5);
        assertFalse(Arrays.equals(Ref.read(a1).data, Ref.read(other).data), "seeds 42 and 43 agree");
        Tensor n1 = Tensor.randn(new Generator(42), dtype, 7), n2 = Tensor.randn(new Generator(42), dtype, 7);
        assertArrayEquals(Ref.read(n1).data, Ref.read(n2).data, 0.0);
    }

    static int[] threadCounts() {
        return TensorChecks.THREADS;
    }

    @ParameterizedTest
    @MethodSource("threadCounts")
    void randomFillsDoNotDependOnTheThreadCount(int threads) {
        double[][] serial = new double[2][];
        withThreads(1, () -> {
            serial[0] = Ref.read(Tensor.rand(new Generator(5), DType.F32, 3, 70_001)).data;
            serial[1] = Ref.read(Tensor.randn(new Generator(5), DType.F64, 100_003)).data;
        });
        withThreads(threads, () -> {
            assertArrayEquals(serial[0], Ref.read(Tensor.rand(new Generator(5), DType.F32, 3, 70_001)).data, 0.0);
            assertArrayEquals(serial[1], Ref.read(Tensor.randn(new Generator(5), DType.F64, 100_003)).data, 0.0);
        });
    }

    @Test
    void aRandomFillOfAViewNumbersItsElementsInTheViewsRowMajorOrder() {
        Tensor base = Tensor.zeros(6, 5);
        Tensor view = base.t().slice(1, 1, 6, 2); // [5, 3], not contiguous
        view.fillUniform(new Generator(9), 0, 1);
        Ref expected = Ref.read(Tensor.rand(new Generator(9), DType.F32, 5, 3));
        assertExact("the view", expected, view);
        // the rows of base that the view skips stay zero
        for (int i = 0; i < 6; i += 2) for (int j = 0; j < 5; j++) assertEquals(0.0, base.get(i, j));
    }

    @Test
    void randomFillsNeedAFloatTensorAndSaneBounds() {
        Tensor ints = Tensor.zeros(DType.I32, 4);
        assertFails(IllegalArgumentException.class, () -> Tensor.rand(new Generator(0), DType.I32, 3),
                "fillUniform: expected an F32 or F64 tensor, found I32");
        assertFails(IllegalArgumentException.class, () -> ints.fillNormal(new Generator(0), 0, 1), "fillNormal", "I32");
        assertFails(IllegalArgumentException.class, () -> Tensor.zeros(3).fillUniform(new Generator(0), 1, 0),
                "fillUniform", "1.0", "0.0");
        assertFails(IllegalArgumentException.class, () -> Tensor.zeros(3).fillNormal(new Generator(0), 0, -1),
                "fillNormal", "-1.0");
        Generator g = new Generator(0);
        assertFails(IllegalArgumentException.class, () -> Tensor.zeros(3).fillUniform(g, 1, 0));
        assertEquals(0, g.offset(), "a fill that failed its checks must not take an offset");
    }

    @Test
    void fillUniformReturnsTheSameTensor() {
        Tensor t = Tensor.zeros(4);
        assertSame(t, t.fillUniform(new Generator(1), 0, 1));
        assertSame(t, t.fillNormal(new Generator(1), 0, 1));
        Ref ref = Ref.read(t);
        assertExact("fillNormal(0 std)", Ref.of(new int[] {4}, 3, 3, 3, 3),
                t.fillNormal(new Generator(1), 3, 0));
        assertFalse(Arrays.equals(ref.data, Ref.read(t).data));
    }
}
