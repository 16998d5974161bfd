package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.BinaryOp;
import org.rlhf4j.tensor.ReduceOp;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.tensor.TernaryOp;
import org.rlhf4j.tensor.UnaryOp;

/** The host side of strided launches: dimension merging, and the decode the kernels do, replayed in Java. */
class GeometryTest {
    /** What a kernel computes for operand k of element i (the PTX decode loop). */
    private static int offset(int[] p, int operand, int i) {
        int rank = p[0];
        int off = 0;
        for (int d = rank - 1; d >= 0; d--) {
            int size = p[1 + d];
            int c = i % size;
            i /= size;
            off += c * p[1 + Geometry.MAX_RANK * (operand + 1) + d];
        }
        return off;
    }

    /** The element offsets of t in row-major logical order, the slow way. */
    private static int[] offsets(Tensor t) {
        int n = t.numel();
        int[] out = new int[n];
        int[] shape = t.shape();
        for (int i = 0; i < n; i++) {
            int rem = i, off = 0;
            for (int d = shape.length - 1; d >= 0; d--) {
                off += (rem % shape[d]) * t.stride(d);
                rem /= shape[d];
            }
            out[i] = off;
        }
        return out;
    }

    private static void checkDecode(Tensor... ops) {
        Geometry g = Geometry.of(ops);
        int[] p = g.param();
        for (int k = 0; k < ops.length; k++) {
            int[] expected = offsets(ops[k]);
            int[] found = new int[expected.length];
            for (int i = 0; i < found.length; i++) found[i] = offset(p, k, i);
            assertArrayEquals(expected, found, "operand " + k + " of " + g);
        }
    }

    @Test
    void contiguousAndScalarBroadcastOperandsMergeToRankOne() {
        Tensor a = Tensor.zeros(4, 5, 6);
        Tensor s = Tensor.zeros(1).expand(4, 5, 6);
        Geometry g = Geometry.of(a, a, s);
        assertEquals(1, g.rank());
        assertArrayEquals(new int[] {120}, g.shape());
        assertArrayEquals(new int[] {0}, g.strides(2));
        checkDecode(a, a, s);
    }

    @Test
    void rowBroadcastAndTransposedViewsKeepTheDimensionsTheyNeed() {
        Tensor y = Tensor.zeros(4, 5, 6);
        Tensor bias = Tensor.zeros(6).expand(4, 5, 6);
        Geometry g = Geometry.of(y, bias);
        assertArrayEquals(new int[] {20, 6}, g.shape());
        checkDecode(y, bias);
        Tensor t = Tensor.zeros(6, 5, 4).permute(2, 1, 0);
        assertEquals(3, Geometry.of(y, t).rank());
        checkDecode(y, t);
        Tensor stepped = Tensor.zeros(9, 11).slice(0, 1, 9, 2).slice(1, 0, 11, 3);
        checkDecode(stepped.contiguous(), stepped);
    }

    @Test
    void randomViewsDecodeToTheirOwnOffsets() {
        Random rnd = new Random(11);
        for (int trial = 0; trial < 200; trial++) {
            int rank = 1 + rnd.nextInt(5);
            int[] shape = new int[rank];
            for (int d = 0; d < rank; d++) shape[d] = 1 + rnd.nextInt(4);
            Tensor base = Tensor.zeros(shape);
            int[] order = new int[rank];
            for (int d = 0; d < rank; d++) order[d] = d;
            for (int d = rank - 1; d > 0; d--) {
                int j = rnd.nextInt(d + 1), tmp = order[d];
                order[d] = order[j];
                order[j] = tmp;
            }
            Tensor permuted = base.permute(order);
            Tensor out = Tensor.zeros(permuted.shape());
            int[] one = permuted.shape().clone();
            one[rnd.nextInt(rank)] = 1;
            Tensor broadcast = Tensor.zeros(one).expand(permuted.shape());
            checkDecode(out, permuted, broadcast);
        }
    }

    @Test
    void aKeptAxisStaysItsOwnDimension() {
        Tensor y = Tensor.zeros(3, 4, 5);
        Geometry g = Geometry.keeping(1, y, y);
        assertArrayEquals(new int[] {3, 4, 5}, g.shape());
        assertEquals(1, g.keptDim());
        Geometry single = Geometry.keeping(1, Tensor.zeros(3, 1, 5));
        assertEquals(1, single.keptDim());
        assertArrayEquals(new int[] {3, 1, 5}, single.shape());
        assertEquals(-1, Geometry.of(Tensor.zeros(3, 1, 5)).keptDim());
    }

    @Test
    void aZeroDimensionalTensorHasRankZero() {
        Geometry g = Geometry.of(Tensor.scalar(2.0));
        assertEquals(0, g.rank());
        assertEquals(0, g.param()[0]);
        assertEquals(0, offset(g.param(), 0, 0));
    }

    @Test
    void moreThanEightUnmergeableDimensionsAreRefused() {
        Tensor t = Tensor.zeros(2, 2, 2, 2, 2, 2, 2, 2, 2).permute(8, 7, 6, 5, 4, 3, 2, 1, 0);
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> Geometry.of(Tensor.zeros(t.shape()), t));
        assertEquals(true, e.getMessage().contains("at most 8"), e.getMessage());
    }

    @Test
    void aLongReductionAxisSplitsIntoADivisorOfItsLength() {
        assertEquals(16, CudaBackend.divisorAtMost(16384, 16));
        assertEquals(150, CudaBackend.divisorAtMost(300, 1170));
        assertEquals(683, CudaBackend.divisorAtMost(2049, 54067));
        assertEquals(1, CudaBackend.divisorAtMost(100_003, 264)); // prime: no split
        assertEquals(1, CudaBackend.divisorAtMost(7, 100));
        assertEquals(2, CudaBackend.divisorAtMost(4, 100));
    }

    /** The PTX kernels dispatch on these ordinals; reordering an enum must fail here, not on a GPU. */
    @Test
    void opOrdinalsAreTheOpCodesThePtxKernelsUse() {
        assertEquals("[NEG, ABS, EXP, LOG, SQRT, RSQRT, TANH, SIGMOID, RELU, GELU, SOFTPLUS, LOG_SIGMOID, SQUARE, "
                + "RECIPROCAL, SIGN]", java.util.Arrays.toString(UnaryOp.values()));
        assertEquals("[ADD, SUB, MUL, DIV, POW, MAX, MIN, EQ, NE, LT, LE, GT, GE]",
                java.util.Arrays.toString(BinaryOp.values()));
        assertEquals("[WHERE, FMA, LERP]", java.util.Arrays.toString(TernaryOp.values()));
        assertEquals("[SUM, MEAN, MAX, MIN]", java.util.Arrays.toString(ReduceOp.values()));
        assertEquals(100, CudaBackend.CLAMP);
    }
}
