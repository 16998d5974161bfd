package org.rlhf4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.rlhf4j.tensor.TensorChecks.assertExact;
import static org.rlhf4j.tensor.TensorChecks.assertFails;
import static org.rlhf4j.tensor.TensorChecks.assertFailsUntouched;
import static org.rlhf4j.tensor.TensorChecks.withThreads;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Tensor.matmul and Tensor.gemm against a triple loop in F64: 2-d, batched, broadcast batches, transposed and
 * strided operand views, empty dimensions, alpha/beta. The F32 tolerance scales with the sum of |a||b| over k
 * (the size of the terms that were rounded), so it stays tight for cancelling sums; F64 is held to 1e-12.
 */
class MatmulTest {
    private final Random rnd = new Random(2024);

    /** The product and, alongside, sum_k |a||b| (the scale of the rounding error), with batches broadcast. */
    static Ref[] matmulRef(Ref a, Ref b) {
        int ra = a.dim(), rb = b.dim();
        int m = a.shape[ra - 2], k = a.shape[ra - 1], n = b.shape[rb - 1];
        int[] batchA = Arrays.copyOf(a.shape, ra - 2), batchB = Arrays.copyOf(b.shape, rb - 2);
        int[] batch = Ref.broadcastShape(batchA, batchB);
        int[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = n;
        double[] out = new double[Ref.numel(outShape)], scale = new double[out.length];
        int[] bi = new int[batch.length];
        int[] ia = new int[ra], ib = new int[rb];
        int o = 0;
        for (int p = 0; p < Ref.numel(batch); p++) {
            // right-aligned batch index; a size-1 batch dimension repeats
            for (int d = 0; d < ra - 2; d++) ia[d] = batchA[d] == 1 ? 0 : bi[d + batch.length - (ra - 2)];
            for (int d = 0; d < rb - 2; d++) ib[d] = batchB[d] == 1 ? 0 : bi[d + batch.length - (rb - 2)];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0, abs = 0;
                    for (int q = 0; q < k; q++) {
                        ia[ra - 2] = i;
                        ia[ra - 1] = q;
                        ib[rb - 2] = q;
                        ib[rb - 1] = j;
                        double prod = a.at(ia) * b.at(ib);
                        s += prod;
                        abs += Math.abs(prod);
                    }
                    out[o] = s;
                    scale[o++] = abs;
                }
            }
            Ref.next(bi, batch);
        }
        return new Ref[] {new Ref(outShape, out), new Ref(outShape, scale)};
    }

    /** |c - ref| <= tol * (sum_k |a||b| + |extra|) elementwise, tol from the dtype and the depth k. */
    static void assertProduct(String what, Ref expected, Ref scale, Tensor actual, int k) {
        assertArrayEquals(expected.shape, actual.shape(), what + ": shape");
        double tol = actual.dtype() == DType.F64 ? 1e-12 : 1e-6 + 1.2e-7 * k;
        Ref got = Ref.read(actual);
        int[] idx = new int[expected.dim()];
        for (int i = 0; i < expected.numel(); i++) {
            double e = expected.data[i], g = got.data[i];
            if (!(Math.abs(g - e) <= tol * (scale.data[i] + Math.abs(e)) + 1e-30)) {
                fail(what + ": at " + Arrays.toString(idx) + " expected " + e + ", found " + g + " (scale " + scale.data[i] + ")");
            }
            Ref.next(idx, expected.shape);
        }
    }

    /** How an operand [.., R, C] is laid out. */
    enum Form {
        /** Row-major. */
        PLAIN,
        /** A transposed view, {@code base[.., C, R].transpose(-1, -2)}: column-major, no copy. */
        TRANSPOSED,
        /** Every other row and column of a larger tensor, at an offset. */
        STRIDED
    }

    record Operand(Tensor tensor, Ref ref) {}

    Operand operand(Form form, DType dtype, int... shape) {
        int r = shape.length;
        switch (form) {
            case TRANSPOSED: {
                int[] base = shape.clone();
                base[r - 2] = shape[r - 1];
                base[r - 1] = shape[r - 2];
                Ref ref = Ref.normal(rnd, dtype, base);
                return new Operand(ref.tensor(dtype).transpose(-1, -2), ref.transpose(r - 2, r - 1));
            }
            case STRIDED: {
                TensorChecks.Operand o = TensorChecks.operand(TensorChecks.Layout.STEPPED, dtype, s -> Ref.normal(rnd, dtype, s), shape);
                return new Operand(o.tensor(), o.ref());
            }
            default: {
                Ref ref = Ref.normal(rnd, dtype, shape);
                return new Operand(ref.tensor(dtype), ref);
            }
        }
    }

    private void checkMatmul(DType dtype, Form fa, int[] aShape, Form fb, int[] bShape) {
        Operand a = operand(fa, dtype, aShape), b = operand(fb, dtype, bShape);
        Ref[] ref = matmulRef(a.ref(), b.ref());
        String what = "matmul " + dtype + " " + Arrays.toString(aShape) + " " + fa + " x " + Arrays.toString(bShape) + " " + fb;
        Tensor c = a.tensor().matmul(b.tensor());
        assertEquals(dtype, c.dtype());
        assertProduct(what, ref[0], ref[1], c, aShape[aShape.length - 1]);
        assertExact(what + ": a untouched", a.ref(), a.tensor());
        assertExact(what + ": b untouched", b.ref(), b.tensor());
    }

    private static final int[][] SIZES = {{1, 1, 1}, {3, 5, 4}, {17, 33, 9}, {64, 64, 64}, {1, 300, 1}, {7, 1, 5},
        {2, 100, 3}, {5, 3, 0}, {0, 3, 4}, {3, 0, 4}, {0, 0, 0}};

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void matmulOf2dMatricesInEveryForm(DType dtype) {
        for (int[] mkn : SIZES) {
            int m = mkn[0], k = mkn[1], n = mkn[2];
            for (Form fa : Form.values()) {
                for (Form fb : Form.values()) checkMatmul(dtype, fa, new int[] {m, k}, fb, new int[] {k, n});
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void matmulOfBatchesAndBroadcastBatches(DType dtype) {
        int m = 5, k = 7, n = 6;
        int[][][] cases = {
            {{3, m, k}, {3, k, n}}, // batched
            {{3, m, k}, {k, n}}, // [B,M,K] x [K,N]
            {{m, k}, {3, k, n}},
            {{1, m, k}, {3, k, n}}, // [1,M,K] x [B,K,N]
            {{3, m, k}, {1, k, n}},
            {{2, 1, m, k}, {3, k, n}}, // -> [2, 3, M, N]
            {{2, 3, m, k}, {2, 3, k, n}},
            {{0, m, k}, {k, n}}, // empty batch
            {{4, m, 0}, {4, 0, n}}, // K = 0 in a batch
        };
        for (int[][] c : cases) {
            for (Form fa : Form.values()) {
                for (Form fb : Form.values()) checkMatmul(dtype, fa, c[0], fb, c[1]);
            }
        }
    }

    @Test
    void matmulOfABatchWithPermutedBatchDimension() {
        // a [B, M, K] seen through a permutation of a [M, B, K] tensor: batch stride smaller than the row stride
        Ref baseA = Ref.normal(rnd, DType.F32, 5, 3, 7);
        Tensor a = baseA.tensor(DType.F32).permute(1, 0, 2);
        Ref refA = baseA.permute(1, 0, 2);
        Ref refB = Ref.normal(rnd, DType.F32, 3, 7, 4);
        Ref[] ref = matmulRef(refA, refB);
        assertProduct("permuted batch", ref[0], ref[1], a.matmul(refB.tensor(DType.F32)), 7);
        // a broadcast (stride-0) batch passed explicitly
        Ref row = Ref.normal(rnd, DType.F32, 1, 5, 7);
        Tensor expanded = row.tensor(DType.F32).expand(3, 5, 7);
        Ref[] ref2 = matmulRef(row.broadcastTo(3, 5, 7), refB);
        assertProduct("expanded batch", ref2[0], ref2[1], expanded.matmul(refB.tensor(DType.F32)), 7);
    }

    @Test
    void matmulWithAnEmptyInnerDimensionIsZeros() {
        Tensor c = Tensor.zeros(3, 0).matmul(Tensor.zeros(0, 4));
        assertArrayEquals(new int[] {3, 4}, c.shape());
        assertExact("[3, 0] x [0, 4]", new Ref(new int[] {3, 4}, new double[12]), c);
        // the output is fresh storage: garbage in it would show here, not zeros
        Tensor d = Tensor.zeros(DType.F64, 2, 3, 0).matmul(Tensor.ones(DType.F64, 0, 5));
        assertExact("[2, 3, 0] x [0, 5]", new Ref(new int[] {2, 3, 5}, new double[30]), d);
    }

    static Stream<Arguments> threads() {
        return TensorChecks.threadCounts().mapToObj(Arguments::of);
    }

    @ParameterizedTest(name = "{0} threads")
    @MethodSource("threads")
    void matmulGivesTheSameProductsAtEveryThreadCount(int threads) {
        withThreads(threads, () -> {
            for (DType dtype : new DType[] {DType.F32, DType.F64}) {
                checkMatmul(dtype, Form.PLAIN, new int[] {2, 96, 80}, Form.TRANSPOSED, new int[] {80, 70});
                checkMatmul(dtype, Form.TRANSPOSED, new int[] {130, 120}, Form.PLAIN, new int[] {120, 110});
                checkMatmul(dtype, Form.STRIDED, new int[] {1, 257}, Form.PLAIN, new int[] {257, 300});
            }
        });
    }

    @Test
    void matmulRejectsMismatchedOperands() {
        assertFails(IllegalArgumentException.class, () -> Tensor.zeros(4, 8).matmul(Tensor.zeros(7, 3)),
                "matmul: [4, 8] x [7, 3]: inner dimensions 8 and 7 differ");
        assertFails(IllegalArgumentException.class, () -> Tensor.zeros(2, 4, 8).matmul(Tensor.zeros(2, 4, 3)),
                "matmul: [2, 4, 8] x [2, 4, 3]: inner dimensions 8 and 4 differ");
        assertFails(IllegalArgumentException.class, () -> Tensor.zeros(4).matmul(Tensor.zeros(4, 3)),
                "matmul: [4] x [4, 3]: both operands need at least 2 dimensions");
        assertFails(IllegalArgumentException.class, () -> Tensor.zeros(2, 3, 4).matmul(Tensor.zeros(3, 4, 5)),
                "matmul: shapes [2] and [3] cannot be broadcast");
        assertFails(IllegalArgumentException.class, () -> Tensor.zeros(2, 2).matmul(Tensor.zeros(DType.F64, 2, 2)),
                "matmul: dtypes F32 and F64 differ");
        assertFails(IllegalArgumentException.class, () -> Tensor.zeros(DType.I32, 2, 2).matmul(Tensor.zeros(DType.I32, 2, 2)),
                "matmul: expected an F32 or F64 tensor, found I32");
    }

    // ---- gemm: c = alpha a b + beta c, in place ----

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void gemmScalesAndAccumulatesIntoC(DType dtype) {
        double[][] alphaBeta = {{1, 0}, {1.5, -0.5}, {-2, 1}, {0, 2}, {0.5, 0}};
        int[][][] cases = {{{6, 9}, {9, 5}}, {{3, 6, 9}, {3, 9, 5}}, {{6, 0}, {0, 5}}};
        for (int[][] shapes : cases) {
            for (double[] ab : alphaBeta) {
                double alpha = ab[0], beta = ab[1];
                for (Form fc : new Form[] {Form.PLAIN, Form.TRANSPOSED, Form.STRIDED}) {
                    Operand a = operand(Form.TRANSPOSED, dtype, shapes[0]), b = operand(Form.PLAIN, dtype, shapes[1]);
                    Ref[] prod = matmulRef(a.ref(), b.ref());
                    Operand c = operand(fc, dtype, prod[0].shape);
                    Ref expected = Ref.zip(prod[0], c.ref(), (p, old) -> alpha * p + beta * old);
                    Ref scale = Ref.zip(prod[1], c.ref(), (s, old) -> Math.abs(alpha) * s + Math.abs(beta * old));
                    double[] before = Ref.storageSnapshot(c.tensor());
                    String what = "gemm " + dtype + " alpha " + alpha + " beta " + beta + " " + Arrays.toString(shapes[0]) + " c " + fc;
                    Tensor result = Tensor.gemm(c.tensor(), a.tensor(), b.tensor(), alpha, beta);
                    assertSame(c.tensor(), result);
                    assertProduct(what, expected, scale, c.tensor(), shapes[0][shapes[0].length - 1]);
                    // nothing outside c's view was written
                    double[] after = Ref.storageSnapshot(c.tensor());
                    boolean[] inView = viewMask(c.tensor(), before.length);
                    for (int o = 0; o < before.length; o++) {
                        if (!inView[o]) assertEquals(before[o], after[o], 0.0, what + ": storage outside c at " + o);
                    }
                }
            }
        }
    }

    private static boolean[] viewMask(Tensor view, int size) {
        boolean[] mask = new boolean[size];
        int[] shape = view.shape(), strides = view.strides(), idx = new int[shape.length];
        for (int i = 0; i < view.numel(); i++) {
            int o = view.offset();
            for (int d = 0; d < shape.length; d++) o += idx[d] * strides[d];
            mask[o] = true;
            Ref.next(idx, shape);
        }
        return mask;
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void gemmWithBetaZeroIgnoresNaNInC(DType dtype) {
        for (int[] mkn : new int[][] {{6, 9, 5}, {13, 40, 37}, {4, 0, 3}}) {
            Operand a = operand(Form.PLAIN, dtype, mkn[0], mkn[1]), b = operand(Form.TRANSPOSED, dtype, mkn[1], mkn[2]);
            Tensor c = Tensor.full(Double.NaN, dtype, mkn[0], mkn[2]);
            Tensor.gemm(c, a.tensor(), b.tensor(), 2.0, 0.0);
            Ref[] prod = matmulRef(a.ref(), b.ref());
            for (double v : Ref.read(c).data) assertTrue(Double.isFinite(v), "NaN from c leaked through beta = 0");
            assertProduct("gemm beta 0 over NaN", prod[0].map(v -> 2 * v), prod[1].map(v -> 2 * v), c, mkn[1]);
        }
    }

    @Test
    void gemmRejectsMismatchedOperandsAndLeavesCUntouched() {
        Tensor a = Tensor.ones(2, 3), b = Tensor.ones(3, 4);
        Tensor c = Tensor.full(7, DType.F32, 2, 5);
        Tensor[] untouched = {c};
        assertFailsUntouched(IllegalArgumentException.class, () -> Tensor.gemm(c, a, b, 1, 0), untouched,
                "gemm: [2, 3] x [3, 4] does not fit the output [2, 5]");
        assertFailsUntouched(IllegalArgumentException.class, () -> Tensor.gemm(c, a, Tensor.ones(4, 5), 1, 0), untouched,
                "gemm: [2, 3] x [4, 5]: inner dimensions 3 and 4 differ");
        assertFailsUntouched(IllegalArgumentException.class, () -> Tensor.gemm(c, a, Tensor.ones(1, 3, 5), 1, 0), untouched,
                "gemm: expected 2-d or 3-d operands of one rank, found [2, 3], [1, 3, 5] and [2, 5]");
        assertFailsUntouched(IllegalArgumentException.class, () -> Tensor.gemm(c, a, Tensor.ones(DType.F64, 3, 5), 1, 0),
                untouched, "gemm: dtypes F32 and F64 differ");
        Tensor c3 = Tensor.full(7, DType.F32, 2, 2, 5);
        assertFailsUntouched(IllegalArgumentException.class,
                () -> Tensor.gemm(c3, Tensor.ones(2, 2, 3), Tensor.ones(3, 3, 5), 1, 0), new Tensor[] {c3},
                "gemm: [2, 2, 3] x [3, 3, 5] does not fit the output [2, 2, 5]");
        assertFailsUntouched(IllegalArgumentException.class,
                () -> Tensor.gemm(Tensor.zeros(2), Tensor.ones(2), Tensor.ones(2), 1, 0), new Tensor[0], "gemm", "2-d or 3-d");
        Tensor ci = Tensor.zeros(DType.I32, 2, 2);
        assertFailsUntouched(IllegalArgumentException.class,
                () -> Tensor.gemm(ci, Tensor.zeros(DType.I32, 2, 2), Tensor.zeros(DType.I32, 2, 2), 1, 0), new Tensor[] {ci},
                "gemm: expected an F32 or F64 tensor, found I32");
    }
}
