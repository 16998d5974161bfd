package org.rlhf4j.tensor;

import java.util.Arrays;
import java.util.Random;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import org.rlhf4j.tensor.cpu.CpuStorage;

/**
 * The F64 reference of the tensor tests: a row-major {@code double[]} with a shape. Everything here is plain
 * loops over multi-indices with explicit index arithmetic; nothing goes through {@link Tensor} except
 * {@link #tensor(DType)} (which hands the data over) and {@link #read(Tensor)} (which reads a tensor's storage
 * through its own shape, strides and offset).
 */
final class Ref {
    final int[] shape;
    final double[] data;

    Ref(int[] shape, double[] data) {
        if (numel(shape) != data.length) throw new IllegalArgumentException(Arrays.toString(shape) + " vs " + data.length);
        this.shape = shape.clone();
        this.data = data;
    }

    // ---- shape arithmetic ----

    static int numel(int[] shape) {
        int n = 1;
        for (int s : shape) n *= s;
        return n;
    }

    static int[] rowMajorStrides(int[] shape) {
        int[] st = new int[shape.length];
        int s = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            st[d] = s;
            s *= shape[d];
        }
        return st;
    }

    /** Advances a row-major multi-index; false once it wraps past the end. */
    static boolean next(int[] idx, int[] shape) {
        for (int d = shape.length - 1; d >= 0; d--) {
            if (++idx[d] < shape[d]) return true;
            idx[d] = 0;
        }
        return false;
    }

    int flat(int[] idx) {
        int o = 0;
        for (int d = 0; d < shape.length; d++) o = o * shape[d] + idx[d];
        return o;
    }

    double at(int... idx) {
        return data[flat(idx)];
    }

    int numel() {
        return data.length;
    }

    int dim() {
        return shape.length;
    }

    // ---- random data ----

    private static double round(DType dtype, double v) {
        switch (dtype) {
            case F32: return (float) v;
            case BF16: return bf16(v);
            case I32: return Math.rint(v);
            default: return v;
        }
    }

    /** v rounded to bfloat16 (through F32, as the tensor layer converts). */
    static double bf16(double v) {
        return BFloat16.toFloat(BFloat16.fromFloat((float) v));
    }

    /** Standard normal values, rounded to the dtype (F32 values are exactly what an F32 tensor holds). */
    static Ref normal(Random rnd, DType dtype, int... shape) {
        double[] d = new double[numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = round(dtype, rnd.nextGaussian());
        return new Ref(shape, d);
    }

    static Ref uniform(Random rnd, DType dtype, double lo, double hi, int... shape) {
        double[] d = new double[numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = round(dtype, lo + (hi - lo) * rnd.nextDouble());
        return new Ref(shape, d);
    }

    /** Integers in [lo, hi]: many ties, for comparisons, argmax and index tensors. */
    static Ref ints(Random rnd, int lo, int hi, int... shape) {
        double[] d = new double[numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = lo + rnd.nextInt(hi - lo + 1);
        return new Ref(shape, d);
    }

    /**
     * Multiples of 1/8 in [-4, 4]. Any sum of fewer than 2^19 of them is exact in F32, so a float reduction must
     * equal the reference exactly, whatever its order: a skipped or repeated element cannot hide in a tolerance.
     */
    static Ref dyadic(Random rnd, int... shape) {
        double[] d = new double[numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (rnd.nextInt(65) - 32) / 8.0;
        return new Ref(shape, d);
    }

    static Ref of(int[] shape, double... values) {
        return new Ref(shape, values.clone());
    }

    // ---- to and from tensors ----

    /** A contiguous tensor of this data (a 0-d one for a 0-d shape). */
    Tensor tensor(DType dtype) {
        switch (dtype) {
            case F32: {
                float[] f = new float[data.length];
                for (int i = 0; i < f.length; i++) f[i] = (float) data[i];
                return shape.length == 0 ? Tensor.scalar(f[0], DType.F32) : Tensor.wrap(f, shape);
            }
            case F64:
                return shape.length == 0 ? Tensor.scalar(data[0], DType.F64) : Tensor.wrap(data.clone(), shape);
            case BF16: {
                Tensor t = Tensor.empty(DType.BF16, shape);
                short[] b = ((CpuStorage) t.storage()).bf16();
                for (int i = 0; i < b.length; i++) b[i] = BFloat16.fromFloat((float) data[i]);
                return t;
            }
            default: {
                int[] v = new int[data.length];
                for (int i = 0; i < v.length; i++) v[i] = (int) data[i];
                return shape.length == 0 ? Tensor.scalar(v[0], DType.I32) : Tensor.ofInts(v, shape);
            }
        }
    }

    /** The elements of a CPU tensor, in row-major order, read from its storage through its own geometry. */
    static Ref read(Tensor t) {
        int[] shape = t.shape(), strides = t.strides();
        CpuStorage s = (CpuStorage) t.storage();
        double[] out = new double[numel(shape)];
        int[] idx = new int[shape.length];
        int o = t.offset();
        for (int i = 0; i < out.length; i++) {
            switch (t.dtype()) {
                case F32: out[i] = s.floats()[o]; break;
                case F64: out[i] = s.doubles()[o]; break;
                case BF16: out[i] = BFloat16.toFloat(s.bf16()[o]); break;
                default: out[i] = s.ints()[o]; break;
            }
            // advance the multi-index and the storage offset together
            for (int d = shape.length - 1; d >= 0; d--) {
                o += strides[d];
                if (++idx[d] < shape[d]) break;
                o -= strides[d] * shape[d];
                idx[d] = 0;
            }
        }
        return new Ref(shape, out);
    }

    /** Every element of a CPU tensor's storage, for checking that nothing was written. */
    static double[] storageSnapshot(Tensor t) {
        CpuStorage s = (CpuStorage) t.storage();
        double[] out = new double[s.size()];
        for (int i = 0; i < out.length; i++) {
            switch (t.dtype()) {
                case F32: out[i] = s.floats()[i]; break;
                case F64: out[i] = s.doubles()[i]; break;
                case BF16: out[i] = BFloat16.toFloat(s.bf16()[i]); break;
                default: out[i] = s.ints()[i]; break;
            }
        }
        return out;
    }

    // ---- views, by index arithmetic ----

    Ref permute(int... order) {
        int[] outShape = new int[order.length];
        for (int i = 0; i < order.length; i++) outShape[i] = shape[order[i]];
        double[] out = new double[data.length];
        int[] idx = new int[order.length], src = new int[order.length];
        for (int i = 0; i < out.length; i++) {
            for (int k = 0; k < order.length; k++) src[order[k]] = idx[k];
            out[i] = at(src);
            next(idx, outShape);
        }
        return new Ref(outShape, out);
    }

    Ref transpose(int a, int b) {
        int[] order = new int[shape.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        order[a] = b;
        order[b] = a;
        return permute(order);
    }

    /** Elements start, start + step, ... below end along d (0 <= start, end <= size). */
    Ref slice(int d, int start, int end, int step) {
        int count = end <= start ? 0 : (end - start + step - 1) / step;
        int[] outShape = shape.clone();
        outShape[d] = count;
        double[] out = new double[numel(outShape)];
        int[] idx = new int[shape.length], src = new int[shape.length];
        for (int i = 0; i < out.length; i++) {
            System.arraycopy(idx, 0, src, 0, idx.length);
            src[d] = start + idx[d] * step;
            out[i] = at(src);
            next(idx, outShape);
        }
        return new Ref(outShape, out);
    }

    Ref select(int d, int index) {
        Ref s = slice(d, index, index + 1, 1);
        int[] outShape = new int[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) if (i != d) outShape[j++] = shape[i];
        return new Ref(outShape, s.data);
    }

    Ref reshape(int... newShape) {
        return new Ref(newShape, data.clone());
    }

    /** NumPy broadcasting to outShape: operand dimension d matches output dimension d + lead; size 1 repeats. */
    Ref broadcastTo(int... outShape) {
        if (Arrays.equals(outShape, shape)) return this;
        int lead = outShape.length - shape.length;
        double[] out = new double[numel(outShape)];
        int[] idx = new int[outShape.length];
        int[] src = new int[shape.length];
        for (int i = 0; i < out.length; i++) {
            for (int d = 0; d < shape.length; d++) src[d] = shape[d] == 1 ? 0 : idx[d + lead];
            out[i] = at(src);
            next(idx, outShape);
        }
        return new Ref(outShape, out);
    }

    static int[] broadcastShape(int[]... shapes) {
        int n = 0;
        for (int[] s : shapes) n = Math.max(n, s.length);
        int[] out = new int[n];
        Arrays.fill(out, 1);
        for (int[] s : shapes) {
            for (int d = 0; d < s.length; d++) {
                int o = d + n - s.length;
                if (s[d] != 1) {
                    if (out[o] != 1 && out[o] != s[d]) throw new IllegalArgumentException("not broadcastable");
                    out[o] = s[d];
                }
            }
        }
        return out;
    }

    // ---- elementwise ----

    Ref map(DoubleUnaryOperator f) {
        double[] out = new double[data.length];
        for (int i = 0; i < out.length; i++) out[i] = f.applyAsDouble(data[i]);
        return new Ref(shape, out);
    }

    static Ref zip(Ref a, Ref b, DoubleBinaryOperator f) {
        int[] s = broadcastShape(a.shape, b.shape);
        Ref x = a.broadcastTo(s), y = b.broadcastTo(s);
        double[] out = new double[numel(s)];
        for (int i = 0; i < out.length; i++) out[i] = f.applyAsDouble(x.data[i], y.data[i]);
        return new Ref(s, out);
    }

    interface Ternary {
        double apply(double a, double b, double c);
    }

    static Ref zip(Ref a, Ref b, Ref c, Ternary f) {
        int[] s = broadcastShape(a.shape, b.shape, c.shape);
        Ref x = a.broadcastTo(s), y = b.broadcastTo(s), z = c.broadcastTo(s);
        double[] out = new double[numel(s)];
        for (int i = 0; i < out.length; i++) out[i] = f.apply(x.data[i], y.data[i], z.data[i]);
        return new Ref(s, out);
    }

    // ---- reductions ----

    /** Reduces along axis with keepDim semantics (the axis stays, with size 1). */
    Ref reduce(ReduceOp op, int axis) {
        int[] outShape = shape.clone();
        outShape[axis] = 1;
        double[] out = new double[numel(outShape)];
        int[] idx = new int[shape.length];
        for (int i = 0; i < out.length; i++) {
            int[] src = idx.clone();
            double r = op == ReduceOp.MAX ? Double.NEGATIVE_INFINITY : op == ReduceOp.MIN ? Double.POSITIVE_INFINITY : 0;
            boolean nan = false;
            for (int a = 0; a < shape[axis]; a++) {
                src[axis] = a;
                double v = at(src);
                if (Double.isNaN(v)) nan = true;
                r = op == ReduceOp.MAX ? Math.max(r, v) : op == ReduceOp.MIN ? Math.min(r, v) : r + v;
            }
            if (op == ReduceOp.MEAN) r = r / shape[axis];
            out[i] = nan ? Double.NaN : r;
            next(idx, outShape);
        }
        return new Ref(outShape, out);
    }

    /** Index of the first maximum along axis (NaN counts as the maximum), with the axis kept at size 1. */
    Ref argmax(int axis) {
        int[] outShape = shape.clone();
        outShape[axis] = 1;
        double[] out = new double[numel(outShape)];
        int[] idx = new int[shape.length];
        for (int i = 0; i < out.length; i++) {
            int[] src = idx.clone();
            int best = -1;
            double bestValue = 0;
            for (int a = 0; a < shape[axis]; a++) {
                src[axis] = a;
                double v = at(src);
                if (Double.isNaN(v)) {
                    best = a;
                    break;
                }
                if (best < 0 || v > bestValue) {
                    best = a;
                    bestValue = v;
                }
            }
            out[i] = best;
            next(idx, outShape);
        }
        return new Ref(outShape, out);
    }

    /** The shape with dimension d removed. */
    static int[] without(int[] shape, int d) {
        int[] out = new int[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) if (i != d) out[j++] = shape[i];
        return out;
    }

    @Override
    public String toString() {
        return Arrays.toString(shape) + (data.length <= 32 ? " " + Arrays.toString(data) : "");
    }
}
