package org.rlhf4j.kernels;

import java.util.Arrays;
import org.rlhf4j.tensor.Tensor;

/**
 * The shape and per-operand strides of a strided elementwise launch, with dimensions merged where every operand
 * allows it (so a contiguous or simply broadcast operation becomes rank 1) and size-1 dimensions dropped. It is
 * passed to the PTX kernels as one {@code .param .align 4 .b8 geom[4 + 32 + 32 * operands]} array:
 * <pre>
 *   u32 rank;  u32 shape[8];  s32 strides[operand][8]     (row-major: dimension rank-1 varies fastest)
 * </pre>
 * A kernel decodes linear element i with {@code c_d = i % shape[d], i /= shape[d]} from the last dimension to
 * the first and adds {@code c_d * strides[k][d]} to operand k's element offset; rank 1 needs no division.
 * Dimensions listed in {@code keep} are never merged with their neighbours (index_select reads its axis
 * coordinate).
 */
public final class Geometry {
    public static final int MAX_RANK = 8;

    private final int[] shape;
    private final int[][] strides;
    private final int keptDim;

    private Geometry(int[] shape, int[][] strides, int keptDim) {
        this.shape = shape;
        this.strides = strides;
        this.keptDim = keptDim;
    }

    /** The geometry of operands that all have the shape of the first. */
    public static Geometry of(Tensor... operands) {
        return build(operands, -1);
    }

    /**
     * As {@link #of}, but dimension {@code axis} of the shape stays a dimension of its own, even of size 1;
     * {@link #keptDim()} says where it went.
     */
    public static Geometry keeping(int axis, Tensor... operands) {
        return build(operands, axis);
    }

    private static Geometry build(Tensor[] ops, int keep) {
        int[] full = ops[0].shape();
        int nops = ops.length;
        int[] shape = new int[full.length];
        int[][] st = new int[nops][full.length];
        int rank = 0;
        int kept = -1;
        for (int d = 0; d < full.length; d++) {
            if (full[d] == 1 && d != keep) continue;
            boolean merge = rank > 0 && d != keep && (kept != rank - 1);
            if (merge) {
                for (int k = 0; k < nops; k++) {
                    if ((long) st[k][rank - 1] != (long) ops[k].stride(d) * full[d]) {
                        merge = false;
                        break;
                    }
                }
            }
            if (merge) {
                shape[rank - 1] *= full[d];
                for (int k = 0; k < nops; k++) st[k][rank - 1] = ops[k].stride(d);
            } else {
                shape[rank] = full[d];
                for (int k = 0; k < nops; k++) st[k][rank] = ops[k].stride(d);
                if (d == keep) kept = rank;
                rank++;
            }
        }
        if (rank > MAX_RANK) {
            throw new UnsupportedOperationException("cuda: a strided launch over " + rank
                    + " dimensions that cannot be merged; at most " + MAX_RANK + " are supported (shape "
                    + Arrays.toString(full) + ")");
        }
        int[] s = Arrays.copyOf(shape, rank);
        int[][] strides = new int[nops][];
        for (int k = 0; k < nops; k++) strides[k] = Arrays.copyOf(st[k], rank);
        return new Geometry(s, strides, kept);
    }

    public int rank() {
        return shape.length;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int[] strides(int operand) {
        return strides[operand].clone();
    }

    /** Where the kept dimension is in the merged shape, or -1 when none was kept. */
    public int keptDim() {
        return keptDim;
    }

    /** The packed {@code geom} parameter: rank, shape[8], then strides[8] per operand. */
    public int[] param() {
        int[] p = new int[1 + MAX_RANK + MAX_RANK * strides.length];
        p[0] = shape.length;
        System.arraycopy(shape, 0, p, 1, shape.length);
        for (int k = 0; k < strides.length; k++) System.arraycopy(strides[k], 0, p, 1 + MAX_RANK * (k + 1), shape.length);
        return p;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Geometry[shape=").append(Arrays.toString(shape));
        for (int[] s : strides) sb.append(", ").append(Arrays.toString(s));
        return sb.append(']').toString();
    }
}
