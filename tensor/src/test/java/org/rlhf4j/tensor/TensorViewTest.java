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

import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.rlhf4j.tensor.TensorChecks.Layout;
import org.rlhf4j.tensor.TensorChecks.Operand;

class TensorViewTest {
    private final Random rnd = new Random(11);

    /** [2, 3, 4] holding 0..23. */
    private static Tensor iota234() {
        return Tensor.arange(24, DType.F32).reshape(2, 3, 4);
    }

    private static Ref iotaRef(int... shape) {
        double[] d = new double[Ref.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = i;
        return new Ref(shape, d);
    }

    // ---- reshape and view ----

    @Test
    void reshapeOfAContiguousTensorIsAViewSharingStorage() {
        Tensor x = iota234();
        Tensor r = x.reshape(6, 4);
        assertSame(x.storage(), r.storage());
        assertArrayEquals(new int[] {6, 4}, r.shape());
        assertArrayEquals(new int[] {4, 1}, r.strides());
        r.set(-1, 5, 3);
        assertEquals(-1.0, x.get(1, 2, 3), "a write through the reshaped view shows in the base");
        x.set(-2, 0, 0, 1);
        assertEquals(-2.0, r.get(0, 1));
    }

    @Test
    void reshapeInfersOneDimensionFromMinusOne() {
        Tensor x = iota234();
        assertArrayEquals(new int[] {6, 4}, x.reshape(-1, 4).shape());
        assertArrayEquals(new int[] {4, 6}, x.reshape(4, -1).shape());
        assertArrayEquals(new int[] {24}, x.reshape(-1).shape());
        assertArrayEquals(new int[] {2, 1, 12}, x.reshape(2, 1, -1).shape());
        assertArrayEquals(new int[] {2, 3, 4}, x.view(-1, 3, 4).shape());
        assertExact("reshape(4, -1)", iotaRef(4, 6), x.reshape(4, -1));
        Tensor empty = Tensor.zeros(0, 3);
        assertArrayEquals(new int[] {3, 0}, empty.reshape(3, 0).shape());
        assertArrayEquals(new int[] {0, 3}, empty.reshape(-1, 3).shape());
        assertArrayEquals(new int[] {1, 1}, Tensor.scalar(5).reshape(1, 1).shape());
        assertArrayEquals(new int[] {1}, Tensor.scalar(5).reshape(-1).shape());
        assertEquals(0, Tensor.ones(1, 1).reshape().dim());
        assertEquals(5.0, Tensor.scalar(5).reshape(1, -1).get(0, 0));
    }

    @Test
    void reshapeRejectsImpossibleShapes() {
        Tensor x = iota234();
        assertFails(IllegalArgumentException.class, () -> x.reshape(5, -1),
                "reshape: cannot reshape [2, 3, 4] (24 elements) into [5, -1]");
        assertFails(IllegalArgumentException.class, () -> x.reshape(5, 5),
                "reshape: cannot reshape [2, 3, 4] (24 elements) into [5, 5] (25 elements)");
        assertFails(IllegalArgumentException.class, () -> x.reshape(-1, -1), "reshape", "only one dimension can be -1");
        assertFails(IllegalArgumentException.class, () -> x.reshape(-2, 12), "reshape", "-2");
        assertFails(IllegalArgumentException.class, () -> Tensor.zeros(0, 3).reshape(0, -1), "reshape", "[0, -1]");
        assertFails(IllegalArgumentException.class, () -> x.view(7, -1), "view", "[7, -1]");
    }

    @Test
    void reshapeOfANonViewableLayoutCopiesInRowMajorOrder() {
        Tensor base = iota234();
        Tensor xt = base.transpose(0, 2); // [4, 3, 2]
        Tensor r = xt.reshape(-1, 6);
        Ref expected = iotaRef(2, 3, 4).transpose(0, 2).reshape(4, 6);
        assertExact("reshape of a transposed tensor", expected, r);
        assertNotSame(base.storage(), r.storage());
        assertTrue(r.isContiguous());
        r.fill(0);
        assertExact("the base after writing into the copy", iotaRef(2, 3, 4), base);
    }

    @Test
    void viewOfANonViewableLayoutFailsNamingShapeStridesAndTheWayOut() {
        Tensor xt = iota234().transpose(1, 2); // [2, 4, 3] strides [12, 1, 4]
        assertFails(IllegalArgumentException.class, () -> xt.view(24),
                "view: a tensor of shape [2, 4, 3] and strides [12, 1, 4] cannot be viewed as [24]; use reshape");
        assertFails(IllegalArgumentException.class, () -> xt.view(2, 12), "view", "[2, 12]");
        Tensor narrowed = iota234().narrow(2, 0, 2); // [2, 3, 2] strides [12, 4, 1]
        assertFails(IllegalArgumentException.class, () -> narrowed.view(12), "view", "[2, 3, 2]", "[12, 4, 1]");
    }

    @Test
    void viewWorksOnNonContiguousLayoutsWhoseDimensionsStillMerge() {
        Tensor base = iota234();
        // leading dimensions merge when the outer stride spans the inner block
        Tensor narrowed = base.narrow(2, 1, 2); // [2, 3, 2] strides [12, 4, 1]
        Tensor v = narrowed.view(6, 2);
        assertSame(base.storage(), v.storage());
        assertArrayEquals(new int[] {4, 1}, v.strides());
        assertExact("view(6, 2)", iotaRef(2, 3, 4).slice(2, 1, 3, 1).reshape(6, 2), v);
        // splitting a dimension of a transposed tensor keeps its stride pattern
        Tensor xt = Tensor.arange(12, DType.F32).reshape(3, 4).t(); // [4, 3] strides [1, 4]
        Tensor split = xt.view(2, 2, 3);
        assertArrayEquals(new int[] {2, 1, 4}, split.strides());
        assertExact("view(2, 2, 3)", iotaRef(3, 4).transpose(0, 1).reshape(2, 2, 3), split);
        // size-1 dimensions with any stride are ignored
        Tensor ones = base.narrow(1, 1, 1); // [2, 1, 4]
        assertExact("view of a size-1 middle dimension", iotaRef(2, 3, 4).slice(1, 1, 2, 1).reshape(2, 4), ones.view(2, 4));
        assertFails(IllegalArgumentException.class, () -> ones.view(8), "view", "[2, 1, 4]");
        Tensor oddUnitStride = base.asStrided(new int[] {3, 1, 4}, new int[] {4, 100, 1}, 0);
        Tensor flat = oddUnitStride.view(12);
        assertSame(base.storage(), flat.storage());
        assertExact("view of a size-1 dimension with an odd stride", iotaRef(12), flat);
        // a stride-0 (expanded) dimension can take new size-1 neighbours
        Tensor expanded = Tensor.arange(3, DType.F32).expand(4, 3);
        Tensor expandedView = expanded.view(4, 1, 3);
        assertEquals(0, expandedView.stride(0));
        assertEquals(1, expandedView.stride(2));
        assertExact("view of an expanded tensor", iotaRef(3).broadcastTo(4, 3).reshape(4, 1, 3), expandedView);
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void reshapeGivesTheRowMajorElementsOfEveryLayout(Layout layout) {
        Operand x = TensorChecks.operand(layout, DType.F64, s -> Ref.normal(rnd, DType.F64, s), 3, 4, 5);
        assertExact("reshape(-1)", x.ref().reshape(60), x.tensor().reshape(-1));
        assertExact("reshape(5, 12)", x.ref().reshape(5, 12), x.tensor().reshape(5, 12));
        assertExact("flatten", x.ref().reshape(60), x.tensor().flatten());
        assertExact("reshape(3, 20)", x.ref().reshape(3, 20), x.tensor().reshape(3, 20));
    }

    @Test
    void flattenIsAViewWhenPossible() {
        Tensor x = iota234();
        Tensor f = x.flatten();
        assertSame(x.storage(), f.storage());
        assertArrayEquals(new int[] {24}, f.shape());
        assertExact("flatten of a permuted tensor", iotaRef(2, 3, 4).permute(2, 0, 1).reshape(24),
                x.permute(2, 0, 1).flatten());
        assertArrayEquals(new int[] {1}, Tensor.scalar(1).flatten().shape());
    }

    // ---- permute and transpose ----

    @Test
    void permuteReordersShapeStridesAndElements() {
        Tensor x = iota234();
        Tensor p = x.permute(2, 0, 1);
        assertArrayEquals(new int[] {4, 2, 3}, p.shape());
        assertArrayEquals(new int[] {1, 12, 4}, p.strides());
        assertSame(x.storage(), p.storage());
        assertExact("permute(2, 0, 1)", iotaRef(2, 3, 4).permute(2, 0, 1), p);
        assertExact("permute(-1, -3, -2)", iotaRef(2, 3, 4).permute(2, 0, 1), x.permute(-1, -3, -2));
        assertExact("permute(0, 1, 2)", iotaRef(2, 3, 4), x.permute(0, 1, 2));
        assertFalse(p.isContiguous());
        p.set(100, 3, 1, 2); // base [1, 2, 3]
        assertEquals(100.0, x.get(1, 2, 3));
        assertEquals(0, Tensor.scalar(1).permute().dim());
    }

    @Test
    void permuteRejectsBadOrders() {
        Tensor x = iota234();
        assertFails(IllegalArgumentException.class, () -> x.permute(0, 1),
                "permute: order [0, 1] has 2 axes, the tensor has rank 3");
        assertFails(IllegalArgumentException.class, () -> x.permute(0, 1, 1), "permute: axis 1 repeats in [0, 1, 1]");
        assertFails(IllegalArgumentException.class, () -> x.permute(0, 1, 3), "permute", "axis 3", "rank 3");
    }

    @Test
    void transposeAndTSwapDimensions() {
        Tensor x = iota234();
        assertExact("transpose(0, 2)", iotaRef(2, 3, 4).transpose(0, 2), x.transpose(0, 2));
        assertExact("transpose(-1, -2)", iotaRef(2, 3, 4).transpose(1, 2), x.transpose(-1, -2));
        assertExact("transpose(1, 1)", iotaRef(2, 3, 4), x.transpose(1, 1));
        Tensor m = Tensor.arange(6, DType.F64).reshape(2, 3);
        Tensor mt = m.t();
        assertArrayEquals(new int[] {3, 2}, mt.shape());
        assertArrayEquals(new int[] {1, 3}, mt.strides());
        assertSame(m.storage(), mt.storage());
        assertExact("t()", iotaRef(2, 3).transpose(0, 1), mt);
        assertExact("t().t()", iotaRef(2, 3), mt.t());
        assertFails(IllegalArgumentException.class, x::t, "t: expected a 2-d tensor, found shape [2, 3, 4]");
        assertFails(IllegalArgumentException.class, () -> Tensor.zeros(3).t(), "t", "[3]");
        assertFails(IllegalArgumentException.class, () -> x.transpose(0, 3), "transpose", "axis 3", "rank 3");
    }

    // ---- narrow, slice, select ----

    @Test
    void narrowIsAWindowSharingStorage() {
        Tensor x = iota234();
        Tensor n = x.narrow(1, 1, 2);
        assertArrayEquals(new int[] {2, 2, 4}, n.shape());
        assertEquals(4, n.offset());
        assertExact("narrow(1, 1, 2)", iotaRef(2, 3, 4).slice(1, 1, 3, 1), n);
        assertExact("narrow(-1, 3, 1)", iotaRef(2, 3, 4).slice(2, 3, 4, 1), x.narrow(-1, 3, 1));
        assertArrayEquals(new int[] {2, 0, 4}, x.narrow(1, 3, 0).shape());
        n.fill(-5);
        for (int i = 0; i < 2; i++) {
            for (int k = 0; k < 4; k++) {
                assertEquals(i * 12 + k, x.get(i, 0, k), "rows outside the window are untouched");
                assertEquals(-5.0, x.get(i, 1, k));
                assertEquals(-5.0, x.get(i, 2, k));
            }
        }
        assertFails(IllegalArgumentException.class, () -> x.narrow(1, 2, 2),
                "narrow: range [2, 4) is outside dimension 1 of size 3 (shape [2, 3, 4])");
        assertFails(IllegalArgumentException.class, () -> x.narrow(0, -1, 1), "narrow", "[-1, 0)");
        assertFails(IllegalArgumentException.class, () -> x.narrow(3, 0, 1), "narrow", "axis 3");
    }

    @Test
    void sliceWithAStepFollowsPython() {
        Tensor v = Tensor.arange(10, DType.F64);
        assertValues("[1:8:3]", v.slice(0, 1, 8, 3), 1, 4, 7);
        assertValues("[1:7:3]", v.slice(0, 1, 7, 3), 1, 4);
        assertValues("[-3:]", v.slice(0, -3, 10), 7, 8, 9);
        assertValues("[2:-5]", v.slice(0, 2, -5), 2, 3, 4);
        assertValues("[-100:3]", v.slice(0, -100, 3), 0, 1, 2);
        assertValues("[8:100:5]", v.slice(0, 8, 100, 5), 8);
        assertValues("[5:2]", v.slice(0, 5, 2));
        assertValues("[20:30]", v.slice(0, 20, 30));
        Tensor s = v.slice(0, 1, 10, 4);
        assertEquals(1, s.offset());
        assertArrayEquals(new int[] {4}, s.strides());
        Tensor m = iota234();
        assertExact("[:, :, 1::2]", iotaRef(2, 3, 4).slice(2, 1, 4, 2), m.slice(2, 1, 4, 2));
        assertExact("[:, ::2]", iotaRef(2, 3, 4).slice(1, 0, 3, 2), m.slice(-2, 0, 3, 2));
        m.slice(2, 0, 4, 3).fill(-1);
        assertEquals(-1.0, m.get(1, 2, 3));
        assertEquals(-1.0, m.get(0, 1, 0));
        assertEquals(13.0, m.get(1, 0, 1));
        assertFails(IllegalArgumentException.class, () -> v.slice(0, 0, 5, 0), "slice: step must be > 0, found 0");
        assertFails(IllegalArgumentException.class, () -> v.slice(0, 0, 5, -1), "slice", "-1");
    }

    @Test
    void selectRemovesTheDimension() {
        Tensor x = iota234();
        Tensor s = x.select(1, 2);
        assertArrayEquals(new int[] {2, 4}, s.shape());
        assertSame(x.storage(), s.storage());
        assertExact("select(1, 2)", iotaRef(2, 3, 4).select(1, 2), s);
        assertExact("select(-1, -1)", iotaRef(2, 3, 4).select(2, 3), x.select(-1, -1));
        assertExact("select(0, 1)", iotaRef(2, 3, 4).select(0, 1), x.select(0, 1));
        Tensor scalar = x.select(0, 1).select(0, 2).select(0, 3);
        assertEquals(0, scalar.dim());
        assertEquals(23.0, scalar.item());
        s.set(99, 0, 0);
        assertEquals(99.0, x.get(0, 2, 0));
        assertFails(IllegalArgumentException.class, () -> x.select(1, 3),
                "select: index 3 is out of range for dimension 1 of size 3");
        assertFails(IllegalArgumentException.class, () -> x.select(1, -4), "select", "-4", "size 3");
    }

    // ---- expand, squeeze, unsqueeze ----

    @Test
    void expandRepeatsSizeOneDimensionsWithStrideZero() {
        Tensor col = Tensor.of(new float[] {1, 2, 3}, 3, 1);
        Tensor e = col.expand(3, 4);
        assertArrayEquals(new int[] {3, 4}, e.shape());
        assertArrayEquals(new int[] {1, 0}, e.strides());
        assertSame(col.storage(), e.storage());
        assertExact("expand(3, 4)", Ref.of(new int[] {3, 1}, 1, 2, 3).broadcastTo(3, 4), e);
        Tensor row = Tensor.arange(4, DType.F64);
        Tensor lead = row.expand(2, 3, 4);
        assertArrayEquals(new int[] {0, 0, 1}, lead.strides());
        assertExact("expand(2, 3, 4)", iotaRef(4).broadcastTo(2, 3, 4), lead);
        assertArrayEquals(new int[] {3, 1}, col.expand(-1, 1).shape());
        assertArrayEquals(new int[] {5, 3, 4}, col.expand(5, -1, 4).shape());
        assertArrayEquals(new int[] {2, 0}, Tensor.zeros(1, 0).expand(2, 0).shape());
        assertArrayEquals(new int[] {3}, Tensor.scalar(7).expand(3).shape());
        col.set(10, 1, 0);
        assertEquals(10.0, e.get(1, 3), "the expanded view sees writes to the base");
        assertFalse(e.isContiguous());
        assertFails(IllegalArgumentException.class, () -> col.expand(4, 4),
                "expand: cannot expand shape [3, 1] to [4, 4]: dimension 0 is 3, not 1");
        assertFails(IllegalArgumentException.class, () -> col.expand(3), "expand", "[3, 1]", "fewer dimensions", "[3]");
        assertFails(IllegalArgumentException.class, () -> col.expand(-1, 3, 4), "expand", "-1");
    }

    @Test
    void squeezeAndUnsqueezeAddAndRemoveSizeOneDimensions() {
        Tensor x = Tensor.arange(6, DType.F32).reshape(1, 2, 1, 3, 1);
        assertArrayEquals(new int[] {2, 3}, x.squeeze().shape());
        assertArrayEquals(new int[] {2, 1, 3, 1}, x.squeeze(0).shape());
        assertArrayEquals(new int[] {1, 2, 1, 3}, x.squeeze(-1).shape());
        assertSame(x.storage(), x.squeeze().storage());
        assertExact("squeeze()", iotaRef(2, 3), x.squeeze());
        assertFails(IllegalArgumentException.class, () -> x.squeeze(1),
                "squeeze: dimension 1 has size 2, not 1 (shape [1, 2, 1, 3, 1])");
        assertEquals(0, Tensor.ones(1, 1).squeeze().dim());

        Tensor m = Tensor.arange(6, DType.F32).reshape(2, 3);
        assertArrayEquals(new int[] {1, 2, 3}, m.unsqueeze(0).shape());
        assertArrayEquals(new int[] {2, 1, 3}, m.unsqueeze(1).shape());
        assertArrayEquals(new int[] {2, 3, 1}, m.unsqueeze(2).shape());
        assertArrayEquals(new int[] {2, 3, 1}, m.unsqueeze(-1).shape());
        assertArrayEquals(new int[] {1, 2, 3}, m.unsqueeze(-3).shape());
        assertArrayEquals(new int[] {1}, Tensor.scalar(3).unsqueeze(0).shape());
        for (int d = -3; d <= 2; d++) {
            Tensor u = m.unsqueeze(d);
            assertTrue(u.isContiguous(), "unsqueeze keeps contiguity");
            assertSame(u, u.contiguous());
            assertExact("unsqueeze(" + d + ")", iotaRef(2, 3), u.squeeze(d));
        }
        Tensor mt = m.t();
        assertExact("unsqueeze of a transposed view", iotaRef(2, 3).transpose(0, 1).reshape(3, 1, 2), mt.unsqueeze(1));
        assertFails(IllegalArgumentException.class, () -> m.unsqueeze(3), "unsqueeze", "axis 3", "rank 3");
        assertFails(IllegalArgumentException.class, () -> m.unsqueeze(-4), "unsqueeze", "axis -4");
    }

    // ---- contiguous and copy ----

    @Test
    void contiguousReturnsThisWhenTheElementsAreAlreadyInRowMajorOrder() {
        Tensor x = iota234();
        assertSame(x, x.contiguous());
        Tensor rows = x.narrow(0, 1, 1); // offset 12, still row-major
        assertSame(rows, rows.contiguous());
        Tensor withUnitDim = x.select(1, 1).unsqueeze(1).narrow(2, 0, 4); // [2, 1, 4], strides [12, 4, 1]
        assertFalse(withUnitDim.isContiguous(), "the [2, 1, 4] window skips elements");
        Tensor odd = x.asStrided(new int[] {3, 1, 4}, new int[] {4, 100, 1}, 0); // size-1 dim's stride ignored
        assertTrue(odd.isContiguous());
        assertSame(odd, odd.contiguous());
        Tensor empty = Tensor.zeros(0, 3).t();
        assertTrue(empty.isContiguous());
        Tensor s = Tensor.scalar(1);
        assertSame(s, s.contiguous());
    }

    @ParameterizedTest
    @EnumSource(value = Layout.class, names = {"PERMUTED", "STEPPED", "NARROWED", "EXPANDED"})
    void contiguousCopiesAnyOtherLayout(Layout layout) {
        Operand x = TensorChecks.operand(layout, DType.F32, s -> Ref.normal(rnd, DType.F32, s), 3, 4, 5);
        assertFalse(x.tensor().isContiguous());
        Tensor c = x.tensor().contiguous();
        assertNotSame(x.tensor().storage(), c.storage());
        assertTrue(c.isContiguous());
        assertEquals(0, c.offset());
        assertArrayEquals(new int[] {20, 5, 1}, c.strides());
        assertExact("contiguous()", x.ref(), c);
    }

    static Stream<Arguments> layoutsAndThreads() {
        return Stream.of(Layout.values()).flatMap(l -> TensorChecks.threadCounts().mapToObj(n -> Arguments.of(l, n)));
    }

    private void checkCopy(Layout layout, int[]... shapes) {
        for (DType dtype : DType.values()) {
            for (int[] shape : shapes) {
                Operand x = TensorChecks.operand(layout, dtype, s -> Ref.ints(rnd, -1000, 1000, s), shape);
                Tensor c = x.tensor().copy();
                assertNotSame(x.tensor().storage(), c.storage());
                assertTrue(c.isContiguous());
                assertExact(dtype + " copy of " + layout + " " + java.util.Arrays.toString(shape), x.ref(), c);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void copyIsAFreshRowMajorTensorOfEveryLayout(Layout layout) {
        checkCopy(layout, new int[0], new int[] {0, 3}, new int[] {1, 1}, new int[] {7}, new int[] {2, 3, 5},
                new int[] {2, 1, 3, 40});
    }

    /** copy() walks every layout with the strided engine, split over threads for large tensors. */
    @ParameterizedTest(name = "{0} at {1} threads")
    @MethodSource("layoutsAndThreads")
    void copyOfLargeTensorsSplitOverThreads(Layout layout, int threads) {
        withThreads(threads, () -> checkCopy(layout, new int[] {180, 190}, new int[] {1, 40_000}, new int[] {3, 33_000}));
    }

    @Test
    void arrayExportsGiveTheRowMajorElementsOfAView() {
        Tensor v = Tensor.arange(12, DType.F64).reshape(3, 4).t().narrow(0, 1, 2); // [2, 3]: rows 1 and 2 of the transpose
        assertArrayEquals(new double[] {1, 5, 9, 2, 6, 10}, v.toDoubleArray());
        assertArrayEquals(new float[] {1, 5, 9, 2, 6, 10}, v.toFloatArray());
        assertArrayEquals(new int[] {1, 5, 9, 2, 6, 10}, v.toIntArray());
        Tensor rows = Tensor.of(new float[] {-1.5f, 2.5f, 3, 4}, 2, 2).narrow(0, 1, 1); // contiguous, at an offset
        assertArrayEquals(new float[] {3, 4}, rows.toFloatArray());
        assertArrayEquals(new int[] {-1, 2}, Tensor.of(new float[] {-1.5f, 2.5f}).toIntArray(), "truncation toward zero");
        assertArrayEquals(new double[0], Tensor.zeros(0, 2).toDoubleArray());
        assertEquals(3.0, Tensor.of(new float[] {3}, 1, 1).item());
    }

    @Test
    void asStridedChecksThatTheViewStaysInsideTheStorage() {
        Tensor x = Tensor.arange(10, DType.F32);
        assertValues("asStrided", x.asStrided(new int[] {3}, new int[] {3}, 1), 1, 4, 7);
        assertFails(IllegalArgumentException.class, () -> x.asStrided(new int[] {4}, new int[] {3}, 1),
                "asStrided: shape [4], strides [3], offset 1 reach outside a storage of 10 elements");
        assertFails(IllegalArgumentException.class, () -> x.asStrided(new int[] {2}, new int[] {1, 1}, 0),
                "asStrided", "differ in rank");
        assertFails(IllegalArgumentException.class, () -> x.asStrided(new int[] {-1}, new int[] {1}, 0),
                "asStrided", "negative size");
        assertArrayEquals(new int[] {0}, x.asStrided(new int[] {0}, new int[] {1}, 50).shape());
    }

    @Test
    void chainedViewsKeepTrackOfTheirElements() {
        Ref ref = Ref.normal(rnd, DType.F32, 4, 5, 6);
        Tensor t = ref.tensor(DType.F32);
        Tensor v = t.permute(2, 0, 1).slice(0, 1, 6, 2).select(2, 3).unsqueeze(1).expand(3, 2, 4);
        Ref expected = ref.permute(2, 0, 1).slice(0, 1, 6, 2).select(2, 3).reshape(3, 1, 4).broadcastTo(3, 2, 4);
        assertExact("permute.slice.select.unsqueeze.expand", expected, v);
        assertExact("its copy", expected, v.copy());
        assertExact("its reshape", expected.reshape(6, 4), v.reshape(6, 4));
    }

    @Test
    void propertiesDescribeTheGeometry() {
        Tensor x = iota234().permute(1, 2, 0).narrow(1, 1, 2);
        assertEquals(3, x.dim());
        assertEquals(3, x.size(0));
        assertEquals(2, x.size(-2));
        assertEquals(12, x.stride(2));
        assertEquals(4, x.stride(-3));
        assertEquals(1, x.offset());
        assertEquals(12, x.numel());
        assertFails(IllegalArgumentException.class, () -> x.size(3), "size", "axis 3", "rank 3");
        assertFails(IllegalArgumentException.class, () -> x.stride(-4), "stride", "axis -4");
        int[] shape = x.shape();
        shape[0] = 100;
        assertEquals(3, x.size(0), "shape() returns a copy");
        assertTrue(x.toString().startsWith("Tensor[3, 2, 2] F32"), x.toString());
    }
}
