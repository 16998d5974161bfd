package org.rlhf4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.rlhf4j.tensor.TensorChecks.assertClose;
import static org.rlhf4j.tensor.TensorChecks.assertExact;
import static org.rlhf4j.tensor.TensorChecks.assertFails;
import static org.rlhf4j.tensor.TensorChecks.assertFailsUntouched;
import static org.rlhf4j.tensor.TensorChecks.assertWrittenOnlyThrough;
import static org.rlhf4j.tensor.TensorChecks.withThreads;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.rlhf4j.tensor.TensorChecks.Layout;
import org.rlhf4j.tensor.TensorChecks.Operand;

/** gather, scatterAdd, indexSelect, concat and stack against index arithmetic on reference arrays. */
class IndexingTest {
    private final Random rnd = new Random(99);

    // ---- references ----

    /** out[i] = src[i with i[axis] replaced by index[i]]. */
    static Ref gatherRef(Ref src, int axis, Ref index) {
        double[] out = new double[index.numel()];
        int[] idx = new int[index.dim()];
        for (int i = 0; i < out.length; i++) {
            int[] at = idx.clone();
            at[axis] = (int) index.data[i];
            out[i] = src.at(at);
            Ref.next(idx, index.shape);
        }
        return new Ref(index.shape, out);
    }

    /** dst[i with i[axis] replaced by index[i]] += src[i], for every i of index's shape. */
    static Ref scatterAddRef(Ref dst, int axis, Ref index, Ref src) {
        double[] out = dst.data.clone();
        Ref result = new Ref(dst.shape, out);
        int[] idx = new int[index.dim()];
        for (int i = 0; i < index.numel(); i++) {
            int[] at = idx.clone();
            at[axis] = (int) index.data[i];
            out[result.flat(at)] += src.at(idx);
            Ref.next(idx, index.shape);
        }
        return result;
    }

    /** The slices index[0], index[1], ... of src along axis. */
    static Ref indexSelectRef(Ref src, int axis, Ref index) {
        int[] shape = src.shape.clone();
        shape[axis] = index.numel();
        double[] out = new double[Ref.numel(shape)];
        int[] idx = new int[shape.length];
        for (int i = 0; i < out.length; i++) {
            int[] at = idx.clone();
            at[axis] = (int) index.data[idx[axis]];
            out[i] = src.at(at);
            Ref.next(idx, shape);
        }
        return new Ref(shape, out);
    }

    static Ref concatRef(int axis, Ref... parts) {
        int[] shape = parts[0].shape.clone();
        shape[axis] = 0;
        for (Ref p : parts) shape[axis] += p.shape[axis];
        double[] out = new double[Ref.numel(shape)];
        int[] idx = new int[shape.length];
        for (int i = 0; i < out.length; i++) {
            int[] at = idx.clone();
            int part = 0;
            while (at[axis] >= parts[part].shape[axis]) at[axis] -= parts[part++].shape[axis];
            out[i] = parts[part].at(at);
            Ref.next(idx, shape);
        }
        return new Ref(shape, out);
    }

    private Ref indices(int bound, int... shape) {
        return Ref.ints(rnd, 0, bound - 1, shape);
    }

    private static final DType[] ALL = DType.values();

    private static final Layout[] LAYOUTS = {Layout.CONTIGUOUS, Layout.PERMUTED, Layout.STEPPED, Layout.NARROWED,
        Layout.EXPANDED};

    // ---- gather ----

    /** A source shape, an axis and an index shape (no larger off the axis, any length along it). */
    record GatherCase(int[] src, int axis, int[] index) {
        @Override
        public String toString() {
            return Arrays.toString(src) + " axis " + axis + " index " + Arrays.toString(index);
        }
    }

    private static final GatherCase[] GATHERS = {
        new GatherCase(new int[] {5}, 0, new int[] {8}),
        new GatherCase(new int[] {5}, 0, new int[] {0}),
        new GatherCase(new int[] {4, 6}, 0, new int[] {7, 5}),
        new GatherCase(new int[] {4, 6}, 1, new int[] {3, 9}),
        new GatherCase(new int[] {4, 6}, -1, new int[] {4, 1}),
        new GatherCase(new int[] {3, 4, 5}, 1, new int[] {2, 6, 4}),
        new GatherCase(new int[] {3, 4, 5}, 2, new int[] {3, 4, 2}),
        new GatherCase(new int[] {3, 4, 5}, -3, new int[] {5, 1, 5}),
        new GatherCase(new int[] {2, 1, 70}, 2, new int[] {2, 1, 33}),
    };

    @Test
    void gatherPicksAlongTheAxisForEveryDtypeAndLayout() {
        for (DType dtype : ALL) {
            for (GatherCase g : GATHERS) {
                int axis = g.axis() < 0 ? g.axis() + g.src().length : g.axis();
                for (Layout srcLayout : LAYOUTS) {
                    for (Layout indexLayout : new Layout[] {Layout.CONTIGUOUS, Layout.PERMUTED, Layout.STEPPED}) {
                        Operand src = TensorChecks.operand(srcLayout, dtype, s -> Ref.ints(rnd, -1000, 1000, s), g.src());
                        Operand index = TensorChecks.operand(indexLayout, DType.I32, s -> indices(g.src()[axis], s), g.index());
                        Tensor out = src.tensor().gather(g.axis(), index.tensor());
                        assertEquals(dtype, out.dtype());
                        assertExact("gather " + dtype + " " + g + " src " + srcLayout + " index " + indexLayout,
                                gatherRef(src.ref(), axis, index.ref()), out);
                        assertExact("source untouched", src.ref(), src.tensor());
                    }
                }
            }
        }
    }

    @Test
    void gatherRejectsBadIndicesBeforeWriting() {
        Tensor src = Tensor.zeros(4, 6);
        Tensor bad = Tensor.ofInts(new int[] {0, 1, 2, 6}, 2, 2);
        assertFails(IndexOutOfBoundsException.class, () -> src.gather(1, bad),
                "gather: index 6 (at flat position 3) is out of range for axis 1 of size 6");
        assertFails(IndexOutOfBoundsException.class, () -> src.gather(0, Tensor.ofInts(new int[] {-1, 0}, 1, 2)),
                "gather: index -1", "axis 0 of size 4");
        assertFails(IllegalArgumentException.class, () -> src.gather(1, Tensor.zeros(2, 2)), "gather: index must be I32, found F32");
        assertFails(IllegalArgumentException.class, () -> src.gather(1, Tensor.ofInts(new int[] {0, 1, 2})),
                "gather: index has rank 1 (shape [3]), expected rank 2 like [4, 6]");
        assertFails(IllegalArgumentException.class, () -> src.gather(1, Tensor.zeros(DType.I32, 5, 2)),
                "gather: index shape [5, 2] exceeds [4, 6] in dimension 0");
        assertFails(IllegalArgumentException.class, () -> src.gather(2, Tensor.zeros(DType.I32, 1, 1)),
                "gather: axis 2 is out of range for a tensor of rank 2");
    }

    // ---- scatterAdd ----

    static Stream<Arguments> threads() {
        return TensorChecks.threadCounts().mapToObj(Arguments::of);
    }

    @ParameterizedTest(name = "{0} threads")
    @MethodSource("threads")
    void scatterAddAccumulatesRepeatedIndices(int threads) {
        // dst shape, axis, index shape, src shape (src may be larger than index: only index's part is used)
        int[][][] cases = {
            {{5}, {0}, {12}, {12}},
            {{5, 4}, {0}, {7, 4}, {7, 4}},
            {{5, 4}, {1}, {5, 9}, {6, 10}},
            {{3, 4, 5}, {1}, {2, 8, 5}, {2, 8, 5}},
            {{3, 4, 5}, {2}, {3, 4, 11}, {3, 4, 11}},
            {{3, 4, 5}, {0}, {0, 4, 5}, {1, 4, 5}},
            {{300, 200}, {0}, {400, 200}, {400, 200}}, // large
        };
        withThreads(threads, () -> {
            for (DType dtype : new DType[] {DType.F32, DType.F64}) {
                for (int[][] c : cases) {
                    int[] dstShape = c[0], indexShape = c[2], srcShape = c[3];
                    int axis = c[1][0];
                    // few distinct targets, so that indices repeat a lot
                    Ref index = Ref.ints(rnd, 0, Math.min(2, dstShape[axis] - 1), indexShape);
                    for (Layout dstLayout : new Layout[] {Layout.CONTIGUOUS, Layout.PERMUTED, Layout.STEPPED, Layout.NARROWED}) {
                        Operand dst = TensorChecks.operand(dstLayout, dtype, s -> Ref.dyadic(rnd, s), dstShape);
                        Operand src = TensorChecks.operand(Layout.PERMUTED, dtype, s -> Ref.dyadic(rnd, s), srcShape);
                        Ref expected = scatterAddRef(dst.ref(), axis, index, src.ref());
                        String what = "scatterAdd " + dtype + " " + Arrays.toString(dstShape) + " " + dstLayout + " axis " + axis;

                        Tensor copy = dst.tensor().scatterAdd(axis, index.tensor(DType.I32), src.tensor());
                        assertNotSame(dst.tensor().storage(), copy.storage());
                        assertExact(what + " (a copy)", expected, copy);
                        assertExact(what + ": the original is untouched", dst.ref(), dst.tensor());

                        double[] before = Ref.storageSnapshot(dst.tensor());
                        Tensor same = dst.tensor().scatterAddInPlace(axis, index.tensor(DType.I32), src.tensor());
                        assertSame(dst.tensor(), same);
                        assertWrittenOnlyThrough(what + " in place", dst.tensor(), before, expected, 0, 0);
                        assertExact("src untouched", src.ref(), src.tensor());
                    }
                }
            }
        });
    }

    @Test
    void scatterAddWithAnOutOfRangeIndexFailsAndLeavesTheDestinationUntouched() {
        Tensor dst = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor src = Tensor.ones(2, 3);
        // the bad index comes last: nothing may be added for the good ones before it
        Tensor index = Tensor.ofInts(new int[] {0, 1, 0, 1, 0, 2}, 2, 3);
        assertFailsUntouched(IndexOutOfBoundsException.class, () -> dst.scatterAddInPlace(0, index, src), new Tensor[] {dst, src},
                "scatterAdd: index 2 (at flat position 5) is out of range for axis 0 of size 2");
        assertFailsUntouched(IndexOutOfBoundsException.class,
                () -> dst.scatterAddInPlace(1, Tensor.ofInts(new int[] {0, 0, 0, 0, 0, -1}, 2, 3), src), new Tensor[] {dst},
                "scatterAdd: index -1");
        assertFailsUntouched(IllegalArgumentException.class, () -> dst.scatterAddInPlace(0, index, Tensor.ones(DType.F64, 2, 3)),
                new Tensor[] {dst}, "scatterAdd: dtypes F32 and F64 differ");
        assertFailsUntouched(IllegalArgumentException.class, () -> dst.scatterAddInPlace(0, index, Tensor.ones(2, 2)),
                new Tensor[] {dst}, "scatterAdd: index shape [2, 3] exceeds src shape [2, 2] in dimension 1");
        assertFailsUntouched(IllegalArgumentException.class, () -> dst.scatterAddInPlace(0, index, Tensor.ones(3)),
                new Tensor[] {dst}, "scatterAdd: src has rank 1, index rank 2");
        assertFailsUntouched(IllegalArgumentException.class, () -> dst.scatterAddInPlace(0, Tensor.ones(2, 3), src),
                new Tensor[] {dst}, "scatterAdd: index must be I32, found F32");
        assertFails(IllegalArgumentException.class,
                () -> Tensor.zeros(DType.I32, 2, 3).scatterAddInPlace(0, index, Tensor.zeros(DType.I32, 2, 3)),
                "scatterAdd: expected an F32 or F64 tensor, found I32");
    }

    // ---- indexSelect ----

    @Test
    void indexSelectTakesSlicesAlongEveryAxis() {
        int[][] shapes = {{6}, {5, 4}, {3, 4, 5}, {2, 1, 3}};
        for (DType dtype : ALL) {
            for (int[] shape : shapes) {
                for (int axis = 0; axis < shape.length; axis++) {
                    for (int count : new int[] {0, 1, 2 * shape[axis] + 1}) {
                        for (Layout srcLayout : LAYOUTS) {
                            int bound = shape[axis];
                            Operand src = TensorChecks.operand(srcLayout, dtype, s -> Ref.ints(rnd, -1000, 1000, s), shape);
                            Operand index = TensorChecks.operand(count % 2 == 0 ? Layout.CONTIGUOUS : Layout.STEPPED, DType.I32,
                                    s -> indices(bound, s), count);
                            assertExact("indexSelect " + dtype + " " + Arrays.toString(shape) + " " + srcLayout + " axis "
                                    + axis + " count " + count, indexSelectRef(src.ref(), axis, index.ref()),
                                    src.tensor().indexSelect(axis, index.tensor()));
                            assertExact("negative axis", indexSelectRef(src.ref(), axis, index.ref()),
                                    src.tensor().indexSelect(axis - shape.length, index.tensor()));
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} threads")
    @MethodSource("threads")
    void indexSelectOfLargeTensorsSplitOverThreads(int threads) {
        withThreads(threads, () -> {
            for (DType dtype : new DType[] {DType.F32, DType.I32}) {
                Operand rows = TensorChecks.operand(Layout.CONTIGUOUS, dtype, s -> Ref.ints(rnd, -1000, 1000, s), 400, 200);
                Ref rowIndex = indices(400, 300);
                assertExact("rows", indexSelectRef(rows.ref(), 0, rowIndex), rows.tensor().indexSelect(0, rowIndex.tensor(DType.I32)));
                Operand cols = TensorChecks.operand(Layout.PERMUTED, dtype, s -> Ref.ints(rnd, -1000, 1000, s), 200, 400);
                Ref colIndex = indices(400, 300);
                assertExact("columns", indexSelectRef(cols.ref(), 1, colIndex), cols.tensor().indexSelect(1, colIndex.tensor(DType.I32)));
            }
        });
    }

    @Test
    void indexSelectRejectsBadIndices() {
        Tensor src = Tensor.zeros(5, 3);
        assertFails(IndexOutOfBoundsException.class, () -> src.indexSelect(0, Tensor.ofInts(new int[] {0, 4, 5})),
                "indexSelect: index 5 (at flat position 2) is out of range for axis 0 of size 5");
        assertFails(IndexOutOfBoundsException.class, () -> src.indexSelect(1, Tensor.ofInts(new int[] {-1})), "indexSelect: index -1");
        assertFails(IllegalArgumentException.class, () -> src.indexSelect(0, Tensor.zeros(DType.I32, 2, 2)),
                "indexSelect: index must be 1-d, found shape [2, 2]");
        assertFails(IllegalArgumentException.class, () -> src.indexSelect(0, Tensor.zeros(DType.F64, 2)),
                "indexSelect: index must be I32, found F64");
        assertFails(IllegalArgumentException.class, () -> src.indexSelect(2, Tensor.zeros(DType.I32, 2)),
                "indexSelect: axis 2 is out of range");
    }

    // ---- concat and stack ----

    @Test
    void concatJoinsAlongEveryAxisWithAnyLayouts() {
        int[][] shapes = {{3}, {2, 3}, {2, 3, 4}};
        int[] sizes = {2, 0, 3, 1};
        for (DType dtype : ALL) {
            for (int[] shape : shapes) {
                for (int axis = 0; axis < shape.length; axis++) {
                    Tensor[] tensors = new Tensor[sizes.length];
                    Ref[] refs = new Ref[sizes.length];
                    for (int i = 0; i < sizes.length; i++) {
                        int[] s = shape.clone();
                        s[axis] = sizes[i];
                        Operand o = TensorChecks.operand(LAYOUTS[i], dtype, sh -> Ref.ints(rnd, -1000, 1000, sh), s);
                        tensors[i] = o.tensor();
                        refs[i] = o.ref();
                    }
                    Ref expected = concatRef(axis, refs);
                    String what = "concat " + dtype + " " + Arrays.toString(shape) + " axis " + axis;
                    assertExact(what, expected, Tensor.concat(axis, tensors));
                    assertExact(what + " (negative axis)", expected, Tensor.concat(axis - shape.length, tensors));
                    assertExact(what + " of one tensor", refs[0], Tensor.concat(axis, tensors[0]));
                    for (int i = 0; i < sizes.length; i++) assertExact("input untouched", refs[i], tensors[i]);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} threads")
    @MethodSource("threads")
    void concatOfLargeTensorsSplitOverThreads(int threads) {
        withThreads(threads, () -> {
            Operand a = TensorChecks.operand(Layout.PERMUTED, DType.F32, s -> Ref.dyadic(rnd, s), 200, 200);
            Operand b = TensorChecks.operand(Layout.CONTIGUOUS, DType.F32, s -> Ref.dyadic(rnd, s), 100, 200);
            assertExact("axis 0", concatRef(0, a.ref(), b.ref()), Tensor.concat(0, a.tensor(), b.tensor()));
            Operand c = TensorChecks.operand(Layout.NARROWED, DType.F32, s -> Ref.dyadic(rnd, s), 200, 100);
            assertExact("axis 1", concatRef(1, a.ref(), c.ref()), Tensor.concat(1, a.tensor(), c.tensor()));
        });
    }

    @Test
    void stackAddsANewAxisAtEveryPosition() {
        for (DType dtype : ALL) {
            int[] shape = {2, 3};
            Ref[] refs = new Ref[3];
            Tensor[] tensors = new Tensor[3];
            for (int i = 0; i < 3; i++) {
                Operand o = TensorChecks.operand(LAYOUTS[i], dtype, sh -> Ref.ints(rnd, -1000, 1000, sh), shape);
                refs[i] = o.ref();
                tensors[i] = o.tensor();
            }
            for (int axis = 0; axis <= 2; axis++) {
                Ref[] parts = new Ref[3];
                for (int i = 0; i < 3; i++) {
                    int[] s = new int[3];
                    for (int d = 0, j = 0; d < 3; d++) s[d] = d == axis ? 1 : shape[j++];
                    parts[i] = refs[i].reshape(s);
                }
                Ref expected = concatRef(axis, parts);
                assertExact("stack " + dtype + " axis " + axis, expected, Tensor.stack(axis, tensors));
                assertExact("stack " + dtype + " axis " + (axis - 3), expected, Tensor.stack(axis - 3, tensors));
            }
        }
        assertArrayEquals(new int[] {2}, Tensor.stack(0, Tensor.scalar(1), Tensor.scalar(2)).shape());
    }

    @Test
    void concatAndStackRejectMismatchedInputs() {
        Tensor a = Tensor.zeros(2, 3);
        assertFails(IllegalArgumentException.class, () -> Tensor.concat(0), "concat: no tensors");
        assertFails(IllegalArgumentException.class, () -> Tensor.concat(0, a, Tensor.zeros(DType.F64, 2, 3)),
                "concat: dtypes F32 and F64 differ");
        assertFails(IllegalArgumentException.class, () -> Tensor.concat(0, a, Tensor.zeros(2, 4)),
                "concat: tensor 1 has shape [2, 4], which differs from [2, 3] in dimension 1");
        assertFails(IllegalArgumentException.class, () -> Tensor.concat(0, a, Tensor.zeros(2, 3, 1)),
                "concat: tensor 1 has shape [2, 3, 1], expected rank 2 like [2, 3]");
        assertFails(IllegalArgumentException.class, () -> Tensor.concat(2, a, a), "concat: axis 2 is out of range");
        assertFails(IllegalArgumentException.class, () -> Tensor.concat(0, Tensor.scalar(1), Tensor.scalar(2)),
                "concat: axis 0 is out of range for a tensor of rank 0");
        assertFails(IllegalArgumentException.class, () -> Tensor.stack(0), "stack: no tensors");
        assertFails(IllegalArgumentException.class, () -> Tensor.stack(0, a, Tensor.zeros(2, 4)),
                "stack: tensor 1 has shape [2, 4], expected [2, 3]");
        assertFails(IllegalArgumentException.class, () -> Tensor.stack(3, a, a), "stack: axis 3 is out of range");
        assertFails(IllegalArgumentException.class, () -> Tensor.stack(0, a, Tensor.zeros(DType.F64, 2, 3)),
                "stack", "dtypes F32 and F64 differ");
    }

    @Test
    void gatherAndIndexSelectAgreeOnFloatSources() {
        // one more cross-check on random floats: an index_select is a gather with an expanded index
        Ref src = Ref.normal(rnd, DType.F32, 6, 7);
        Ref idx = indices(6, 4);
        Tensor t = src.tensor(DType.F32);
        Tensor selected = t.indexSelect(0, idx.tensor(DType.I32));
        Tensor gathered = t.gather(0, idx.tensor(DType.I32).unsqueeze(1).expand(4, 7));
        assertClose("indexSelect vs gather", Ref.read(gathered), selected, 0, 0);
    }
}
