package org.rlhf4j.tensor.cpu;

import org.rlhf4j.tensor.Tensor;

/**
 * The iteration space of an elementwise op over several tensors of one shape: adjacent dimensions that are laid
 * out alike in every operand are merged, size-1 dimensions dropped, and what is left is walked as runs along
 * the innermost dimension, split over the worker pool.
 */
final class Runs {
    /** Elements per run handed to a worker when a single long run is split. */
    private static final int PIECE = 1 << 14;

    final int[] shape;       // collapsed shape, at least one dimension
    final int[][] strides;   // [operand][dim]
    final int[] offsets;     // [operand]
    final int inner;         // shape[last]
    final int rows;          // product of the other dimensions

    /** Called for each run: {@code off[k]} is operand k's offset at the run's start; n elements. */
    @FunctionalInterface
    interface Body {
        void run(int[] off, int n);
    }

    private Runs(int[] shape, int[][] strides, int[] offsets) {
        this.shape = shape;
        this.strides = strides;
        this.offsets = offsets;
        this.inner = shape[shape.length - 1];
        int r = 1;
        for (int d = 0; d < shape.length - 1; d++) r *= shape[d];
        this.rows = r;
    }

    static Runs of(Tensor... ts) {
        int[] shape = ts[0].shape();
        int nd = shape.length;
        int ops = ts.length;
        int[] cs = new int[Math.max(nd, 1)];
        int[][] cst = new int[ops][Math.max(nd, 1)];
        int k = 0;
        for (int d = 0; d < nd; d++) {
            if (shape[d] == 1) continue;
            if (k > 0) {
                boolean merge = true;
                for (int t = 0; t < ops && merge; t++) {
                    merge = cst[t][k - 1] == ts[t].stride(d) * shape[d];
                }
                if (merge) {
                    cs[k - 1] *= shape[d];
                    for (int t = 0; t < ops; t++) cst[t][k - 1] = ts[t].stride(d);
                    continue;
                }
            }
            cs[k] = shape[d];
            for (int t = 0; t < ops; t++) cst[t][k] = ts[t].stride(d);
            k++;
        }
        if (k == 0) { // a scalar, or all dims of size 1 (or an empty tensor with a 0 among size-1s)
            cs[0] = ts[0].numel();
            for (int t = 0; t < ops; t++) cst[t][0] = 1;
            k = 1;
        }
        int[] shapeOut = java.util.Arrays.copyOf(cs, k);
        int[][] stridesOut = new int[ops][];
        int[] offs = new int[ops];
        for (int t = 0; t < ops; t++) {
            stridesOut[t] = java.util.Arrays.copyOf(cst[t], k);
            offs[t] = ts[t].offset();
        }
        return new Runs(shapeOut, stridesOut, offs);
    }

    int numel() {
        return rows * inner;
    }

    /** The innermost stride of operand t. */
    int innerStride(int t) {
        return strides[t][shape.length - 1];
    }

    /** Runs {@code body} over every run; {@code cost} is the rough work per element. */
    void forEach(long cost, Body body) {
        if (rows == 0 || inner == 0) return;
        int pieces = inner >= 2 * PIECE && rows < 4 * Parallel.threads() ? (inner + PIECE - 1) / PIECE : 1;
        int items = rows * pieces;
        long costPerItem = Math.max(1, cost) * (inner / pieces);
        final int nPieces = pieces;
        Parallel.forRange(items, costPerItem, (from, to) -> walk(from, to, nPieces, body));
    }

    private void walk(int from, int to, int pieces, Body body) {
        int ops = offsets.length;
        int nd = shape.length;
        int[] idx = new int[nd];
        int[] rowOff = new int[ops];
        int[] off = new int[ops];
        int row = from / pieces;
        // multi-index of the first row
        int r = row;
        for (int d = nd - 2; d >= 0; d--) {
            idx[d] = r % shape[d];
            r /= shape[d];
        }
        for (int t = 0; t < ops; t++) {
            int o = offsets[t];
            for (int d = 0; d < nd - 1; d++) o += idx[d] * strides[t][d];
            rowOff[t] = o;
        }
        int pieceLen = pieces == 1 ? inner : (inner + pieces - 1) / pieces;
        for (int item = from; item < to; item++) {
            int thisRow = item / pieces;
            if (thisRow != row) {
                row = thisRow;
                // advance the multi-index by one row
                for (int d = nd - 2; d >= 0; d--) {
                    idx[d]++;
                    for (int t = 0; t < ops; t++) rowOff[t] += strides[t][d];
                    if (idx[d] < shape[d]) break;
                    for (int t = 0; t < ops; t++) rowOff[t] -= strides[t][d] * shape[d];
                    idx[d] = 0;
                }
            }
            int start = (item % pieces) * pieceLen;
            int n = Math.min(pieceLen, inner - start);
            if (n <= 0) continue;
            for (int t = 0; t < ops; t++) off[t] = rowOff[t] + start * strides[t][nd - 1];
            body.run(off, n);
        }
    }
}
