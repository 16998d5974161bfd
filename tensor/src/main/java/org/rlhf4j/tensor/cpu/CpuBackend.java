package org.rlhf4j.tensor.cpu;

import java.util.Arrays;
import org.rlhf4j.tensor.Backend;
import org.rlhf4j.tensor.BFloat16;
import org.rlhf4j.tensor.BinaryOp;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Philox;
import org.rlhf4j.tensor.ReduceOp;
import org.rlhf4j.tensor.Storage;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.tensor.TernaryOp;
import org.rlhf4j.tensor.UnaryOp;

/**
 * The pure-Java backend. F32 runs with unit (or zero) inner strides go through {@link FloatKernels} (Vector API
 * or plain twin); everything else takes a general strided loop. F64 and I32 always take the plain loops: F64
 * serves gradient checks, where clarity beats speed.
 */
public final class CpuBackend implements Backend {
    public static final CpuBackend INSTANCE = new CpuBackend();

    private static final FloatKernels K = FloatKernels.get();

    private CpuBackend() {}

    @Override
    public Device device() {
        return Device.CPU;
    }

    /**
     * BF16 is storage on the CPU: allocation, fill, copy, conversion, gather and index_select work on it, and
     * every op that computes refuses it here, naming the op.
     */
    private static void computable(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && t.dtype() == DType.BF16) {
                throw new UnsupportedOperationException("cpu: " + op + " does not compute in BF16 (BF16 is storage "
                        + "on the CPU: convert with to(DType.F32) first)");
            }
        }
    }

    private static Tensor f32(Tensor t) {
        return t == null ? null : t.to(DType.F32);
    }

    private static CpuStorage st(Tensor t) {
        return (CpuStorage) t.storage();
    }

    private static float[] f(Tensor t) {
        return st(t).floats();
    }

    private static double[] d(Tensor t) {
        return st(t).doubles();
    }

    private static int[] ints(Tensor t) {
        return st(t).ints();
    }

    // ---- memory ----

    @Override
    public Storage allocate(DType dtype, int size) {
        return new CpuStorage(dtype, size);
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        Runs runs = Runs.of(dst, src);
        int ds = runs.innerStride(0), ss = runs.innerStride(1);
        DType dt = dst.dtype(), sdt = src.dtype();
        if (dt == sdt && ds == 1 && ss == 1) {
            Object to = arrayOf(dst), from = arrayOf(src);
            runs.forEach(1, (off, n) -> System.arraycopy(from, off[1], to, off[0], n));
            return;
        }
        if (dt == DType.F32 && sdt == DType.F32) {
            float[] y = f(dst), x = f(src);
            runs.forEach(1, (off, n) -> {
                for (int i = 0, yo = off[0], xo = off[1]; i < n; i++, yo += ds, xo += ss) y[yo] = x[xo];
            });
            return;
        }
        if (dt == DType.F64 && sdt == DType.F64) {
            double[] y = d(dst), x = d(src);
            runs.forEach(1, (off, n) -> {
                for (int i = 0, yo = off[0], xo = off[1]; i < n; i++, yo += ds, xo += ss) y[yo] = x[xo];
            });
            return;
        }
        CpuStorage y = st(dst), x = st(src);
        runs.forEach(2, (off, n) -> {
            for (int i = 0, yo = off[0], xo = off[1]; i < n; i++, yo += ds, xo += ss) y.set(yo, x.get(xo));
        });
    }

    private static Object arrayOf(Tensor t) {
        switch (t.dtype()) {
            case F32: return f(t);
            case F64: return d(t);
            case BF16: return st(t).bf16();
            default: return ints(t);
        }
    }

    @Override
    public void fill(Tensor dst, double value) {
        Runs runs = Runs.of(dst);
        int s = runs.innerStride(0);
        switch (dst.dtype()) {
            case F32: {
                float[] y = f(dst);
                float v = (float) value;
                runs.forEach(1, (off, n) -> {
                    if (s == 1) Arrays.fill(y, off[0], off[0] + n, v);
                    else for (int i = 0, o = off[0]; i < n; i++, o += s) y[o] = v;
                });
                return;
            }
            case F64: {
                double[] y = d(dst);
                runs.forEach(1, (off, n) -> {
                    if (s == 1) Arrays.fill(y, off[0], off[0] + n, value);
                    else for (int i = 0, o = off[0]; i < n; i++, o += s) y[o] = value;
                });
                return;
            }
            case BF16: {
                short[] y = st(dst).bf16();
                short v = BFloat16.fromFloat((float) value);
                runs.forEach(1, (off, n) -> {
                    for (int i = 0, o = off[0]; i < n; i++, o += s) y[o] = v;
                });
                return;
            }
            default: {
                int[] y = ints(dst);
                int v = (int) value;
                runs.forEach(1, (off, n) -> {
                    for (int i = 0, o = off[0]; i < n; i++, o += s) y[o] = v;
                });
            }
        }
    }

    @Override
    public void copyFromHost(Tensor dst, Tensor hostSrc) {
        copy(dst, hostSrc);
    }

    @Override
    public void copyToHost(Tensor hostDst, Tensor src) {
        copy(hostDst, src);
    }

    // ---- elementwise ----

    @Override
    public void unary(UnaryOp op, Tensor dst, Tensor src) {
        computable("unary " + op, dst, src);
        Runs runs = Runs.of(dst, src);
        int ys = runs.innerStride(0), xs = runs.innerStride(1);
        long cost = op == UnaryOp.NEG || op == UnaryOp.ABS || op == UnaryOp.SQUARE ? 1 : 8;
        if (dst.dtype() == DType.F32) {
            float[] y = f(dst), x = f(src);
            runs.forEach(cost, (off, n) -> {
                if (ys == 1 && xs == 1) {
                    K.unary(op, x, off[1], y, off[0], n);
                } else {
                    for (int i = 0, yo = off[0], xo = off[1]; i < n; i++, yo += ys, xo += xs) {
                        y[yo] = ScalarFloatKernels.unaryOne(op, x[xo]);
                    }
                }
            });
        } else {
            double[] y = d(dst), x = d(src);
            runs.forEach(cost, (off, n) -> {
                for (int i = 0, yo = off[0], xo = off[1]; i < n; i++, yo += ys, xo += xs) y[yo] = op.apply(x[xo]);
            });
        }
    }

    @Override
    public void binary(BinaryOp op, Tensor dst, Tensor a, Tensor b) {
        computable("binary " + op, dst, a, b);
        Runs runs = Runs.of(dst, a, b);
        int ys = runs.innerStride(0), as = runs.innerStride(1), bs = runs.innerStride(2);
        long cost = op == BinaryOp.POW ? 16 : 1;
        if (dst.dtype() == DType.F32 && a.dtype() == DType.F32) {
            float[] y = f(dst), x1 = f(a), x2 = f(b);
            boolean fast = ys == 1 && (as == 0 || as == 1) && (bs == 0 || bs == 1) && !(as == 0 && bs == 0);
            runs.forEach(cost, (off, n) -> {
                if (fast) {
                    K.binary(op, x1, off[1], as, x2, off[2], bs, y, off[0], n);
                } else {
                    for (int i = 0, yo = off[0], ao = off[1], bo = off[2]; i < n; i++, yo += ys, ao += as, bo += bs) {
                        y[yo] = ScalarFloatKernels.binaryOne(op, x1[ao], x2[bo]);
                    }
                }
            });
        } else if (dst.dtype() == DType.F64 && a.dtype() == DType.F64) {
            double[] y = d(dst), x1 = d(a), x2 = d(b);
            runs.forEach(cost, (off, n) -> {
                for (int i = 0, yo = off[0], ao = off[1], bo = off[2]; i < n; i++, yo += ys, ao += as, bo += bs) {
                    y[yo] = op.apply(x1[ao], x2[bo]);
                }
            });
        } else {
            CpuStorage y = st(dst), x1 = st(a), x2 = st(b);
            runs.forEach(cost, (off, n) -> {
                for (int i = 0, yo = off[0], ao = off[1], bo = off[2]; i < n; i++, yo += ys, ao += as, bo += bs) {
                    y.set(yo, op.apply(x1.get(ao), x2.get(bo)));
                }
            });
        }
    }

    @Override
    public void binaryScalar(BinaryOp op, Tensor dst, Tensor a, double scalar) {
        computable("binaryScalar " + op, dst, a);
        Runs runs = Runs.of(dst, a);
        int ys = runs.innerStride(0), as = runs.innerStride(1);
        long cost = op == BinaryOp.POW ? 16 : 1;
        if (dst.dtype() == DType.F32 && a.dtype() == DType.F32) {
            float[] y = f(dst), x = f(a);
            float s = (float) scalar;
            runs.forEach(cost, (off, n) -> {
                if (ys == 1 && as == 1) {
                    K.binaryScalar(op, x, off[1], s, y, off[0], n);
                } else {
                    for (int i = 0, yo = off[0], ao = off[1]; i < n; i++, yo += ys, ao += as) {
                        y[yo] = ScalarFloatKernels.binaryOne(op, x[ao], s);
                    }
                }
            });
        } else if (dst.dtype() == DType.F64 && a.dtype() == DType.F64) {
            double[] y = d(dst), x = d(a);
            runs.forEach(cost, (off, n) -> {
                for (int i = 0, yo = off[0], ao = off[1]; i < n; i++, yo += ys, ao += as) y[yo] = op.apply(x[ao], scalar);
            });
        } else {
            CpuStorage y = st(dst), x = st(a);
            runs.forEach(cost, (off, n) -> {
                for (int i = 0, yo = off[0], ao = off[1]; i < n; i++, yo += ys, ao += as) {
                    y.set(yo, op.apply(x.get(ao), scalar));
                }
            });
        }
    }

    @Override
    public void ternary(TernaryOp op, Tensor dst, Tensor a, Tensor b, Tensor c) {
        computable("ternary " + op, dst, a, b, c);
        Runs runs = Runs.of(dst, a, b, c);
        int ys = runs.innerStride(0), as = runs.innerStride(1), bs = runs.innerStride(2), cs = runs.innerStride(3);
        boolean allF32 = dst.dtype() == DType.F32 && a.dtype() == DType.F32 && b.dtype() == DType.F32
                && c.dtype() == DType.F32;
        if (allF32) {
            float[] y = f(dst), x1 = f(a), x2 = f(b), x3 = f(c);
            boolean fast = ys == 1 && as <= 1 && bs <= 1 && cs <= 1;
            runs.forEach(1, (off, n) -> {
                if (fast) {
                    K.ternary(op, x1, off[1], as, x2, off[2], bs, x3, off[3], cs, y, off[0], n);
                } else {
                    for (int i = 0, yo = off[0], ao = off[1], bo = off[2], co = off[3]; i < n;
                         i++, yo += ys, ao += as, bo += bs, co += cs) {
                        y[yo] = ScalarFloatKernels.ternaryOne(op, x1[ao], x2[bo], x3[co]);
                    }
                }
            });
        } else {
            CpuStorage y = st(dst), x1 = st(a), x2 = st(b), x3 = st(c);
            runs.forEach(2, (off, n) -> {
                for (int i = 0, yo = off[0], ao = off[1], bo = off[2], co = off[3]; i < n;
                     i++, yo += ys, ao += as, bo += bs, co += cs) {
                    y.set(yo, op.apply(x1.get(ao), x2.get(bo), x3.get(co)));
                }
            });
        }
    }

    @Override
    public void clamp(Tensor dst, Tensor src, double min, double max) {
        computable("clamp", dst, src);
        Runs runs = Runs.of(dst, src);
        int ys = runs.innerStride(0), xs = runs.innerStride(1);
        if (dst.dtype() == DType.F32) {
            float[] y = f(dst), x = f(src);
            float lo = (float) min, hi = (float) max;
            runs.forEach(1, (off, n) -> {
                if (ys == 1 && xs == 1) {
                    K.clamp(x, off[1], y, off[0], n, lo, hi);
                } else {
                    for (int i = 0, yo = off[0], xo = off[1]; i < n; i++, yo += ys, xo += xs) {
                        y[yo] = Math.min(Math.max(x[xo], lo), hi);
                    }
                }
            });
        } else {
            double[] y = d(dst), x = d(src);
            runs.forEach(1, (off, n) -> {
                for (int i = 0, yo = off[0], xo = off[1]; i < n; i++, yo += ys, xo += xs) {
                    y[yo] = Math.min(Math.max(x[xo], min), max);
                }
            });
        }
    }

    // ---- reductions ----

    /** src viewed as [outer, A, inner] (contiguous) with the reduced axis in the middle. */
    private static int[] outerAxisInner(int[] shape, int axis) {
        int outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= shape[d];
        for (int d = axis + 1; d < shape.length; d++) inner *= shape[d];
        return new int[] {outer, shape[axis], inner};
    }

    @Override
    public void reduce(ReduceOp op, Tensor dst, Tensor src, int axis) {
        computable("reduce " + op, dst, src);
        Tensor x = src.contiguous();
        if (!dst.isContiguous()) {
            Tensor tmp = Tensor.empty(dst.dtype(), dst.shape());
            reduce(op, tmp, x, axis);
            copy(dst, tmp);
            return;
        }
        int[] oai = outerAxisInner(x.shape(), axis);
        int outer = oai[0], len = oai[1], inner = oai[2];
        if (x.dtype() == DType.F32) reduceF32(op, f(dst), dst.offset(), f(x), x.offset(), outer, len, inner);
        else reduceF64(op, d(dst), dst.offset(), d(x), x.offset(), outer, len, inner);
    }

    private static float initial(ReduceOp op) {
        return op == ReduceOp.MAX ? Float.NEGATIVE_INFINITY : op == ReduceOp.MIN ? Float.POSITIVE_INFINITY : 0f;
    }

    private static void reduceF32(ReduceOp op, float[] y, int yo, float[] x, int xo, int outer, int len, int inner) {
        float scale = op == ReduceOp.MEAN ? 1f / len : 1f;
        if (inner == 1) {
            int threads = Parallel.threads();
            if (outer < threads && (long) len >= 1L << 18) {
                // few long rows: split each row, combine the partial results
                int parts = threads * 4;
                float[] partial = new float[outer * parts];
                Parallel.forRange(outer * parts, len / parts, (from, to) -> {
                    for (int w = from; w < to; w++) {
                        int row = w / parts, p = w % parts;
                        int lo = (int) ((long) len * p / parts), hi = (int) ((long) len * (p + 1) / parts);
                        partial[w] = hi > lo ? K.reduce(op, x, xo + row * len + lo, hi - lo) : initial(op);
                    }
                });
                for (int row = 0; row < outer; row++) {
                    y[yo + row] = K.reduce(op, partial, row * parts, parts) * scale;
                }
                return;
            }
            Parallel.forRange(outer, len, (from, to) -> {
                for (int row = from; row < to; row++) y[yo + row] = K.reduce(op, x, xo + row * len, len) * scale;
            });
            return;
        }
        // reduce across rows: acc[o, :] op= x[o, a, :], vectorized along the inner dimension
        int chunk = 4096;
        int chunks = (inner + chunk - 1) / chunk;
        Parallel.forRange(outer * chunks, (long) len * Math.min(chunk, inner), (from, to) -> {
            for (int w = from; w < to; w++) {
                int o = w / chunks, c0 = (w % chunks) * chunk;
                int n = Math.min(chunk, inner - c0);
                int acc = yo + o * inner + c0;
                Arrays.fill(y, acc, acc + n, initial(op));
                for (int a = 0; a < len; a++) K.accumulate(op, x, xo + (o * len + a) * inner + c0, y, acc, n);
                if (scale != 1f) for (int i = 0; i < n; i++) y[acc + i] *= scale;
            }
        });
    }

    private static void reduceF64(ReduceOp op, double[] y, int yo, double[] x, int xo, int outer, int len, int inner) {
        Parallel.forRange(outer * inner, len, (from, to) -> {
            for (int w = from; w < to; w++) {
                int o = w / inner, i = w % inner;
                int base = xo + o * len * inner + i;
                double r = op == ReduceOp.MAX ? Double.NEGATIVE_INFINITY : op == ReduceOp.MIN ? Double.POSITIVE_INFINITY : 0;
                for (int a = 0; a < len; a++) {
                    double v = x[base + a * inner];
                    r = op == ReduceOp.MAX ? Math.max(r, v) : op == ReduceOp.MIN ? Math.min(r, v) : r + v;
                }
                y[yo + w] = op == ReduceOp.MEAN ? r / len : r;
            }
        });
    }

    @Override
    public void argmax(Tensor dst, Tensor src, int axis) {
        computable("argmax", src);
        Tensor x = src.contiguous();
        Tensor out = dst.isContiguous() ? dst : Tensor.empty(DType.I32, dst.shape());
        int[] oai = outerAxisInner(x.shape(), axis);
        int outer = oai[0], len = oai[1], inner = oai[2];
        int[] y = ints(out);
        int yo = out.offset();
        CpuStorage xs = st(x);
        int xo = x.offset();
        Parallel.forRange(outer * inner, len, (from, to) -> {
            for (int w = from; w < to; w++) {
                int o = w / inner, i = w % inner;
                int base = xo + o * len * inner + i;
                int best = 0;
                double bestValue = xs.get(base);
                for (int a = 1; a < len && bestValue == bestValue; a++) {
                    double v = xs.get(base + a * inner);
                    if (v > bestValue || v != v) {
                        best = a;
                        bestValue = v;
                    }
                }
                y[yo + w] = best;
            }
        });
        if (out != dst) copy(dst, out);
    }

    // ---- linear algebra ----

    @Override
    public void gemm(Tensor c, Tensor a, Tensor b, double alpha, double beta) {
        if (a.dtype() == DType.BF16) {
            // BF16 operands: exact widening to F32, an F32 product, and the output rounded once if it is BF16
            Tensor c32 = c.dtype() == DType.F32 ? c : beta == 0 ? Tensor.empty(DType.F32, c.shape()) : c.to(DType.F32);
            gemm(c32, a.to(DType.F32), b.to(DType.F32), alpha, beta);
            if (c32 != c) copy(c, c32);
            return;
        }
        computable("gemm", c, a, b);
        int batch = c.size(0), m = c.size(1), n = c.size(2), k = a.size(2);
        if (c.dtype() == DType.F32) {
            CpuGemm.sgemm(batch, m, n, k, (float) alpha,
                    f(a), a.offset(), a.stride(0), a.stride(1), a.stride(2),
                    f(b), b.offset(), b.stride(0), b.stride(1), b.stride(2),
                    (float) beta, f(c), c.offset(), c.stride(0), c.stride(1), c.stride(2));
        } else {
            CpuGemm.dgemm(batch, m, n, k, alpha,
                    d(a), a.offset(), a.stride(0), a.stride(1), a.stride(2),
                    d(b), b.offset(), b.stride(0), b.stride(1), b.stride(2),
                    beta, d(c), c.offset(), c.stride(0), c.stride(1), c.stride(2));
        }
    }

    // ---- indexing ----

    /** A view of t with the shape of {@code like} and t's strides, except a zero stride along {@code axis}. */
    private static Tensor alongAxisView(Tensor t, Tensor like, int axis) {
        int[] strides = new int[t.dim()];
        for (int i = 0; i < strides.length; i++) strides[i] = i == axis ? 0 : t.stride(i);
        return t.asStrided(like.shape(), strides, t.offset());
    }

    @Override
    public void gather(Tensor dst, Tensor src, int axis, Tensor index) {
        Tensor srcView = alongAxisView(src, index, axis);
        int axisStride = src.stride(axis);
        Runs runs = Runs.of(dst, index, srcView);
        int ys = runs.innerStride(0), is = runs.innerStride(1), xs = runs.innerStride(2);
        int[] idx = ints(index);
        CpuStorage y = st(dst), x = st(src);
        runs.forEach(2, (off, n) -> {
            for (int i = 0, yo = off[0], io = off[1], xo = off[2]; i < n; i++, yo += ys, io += is, xo += xs) {
                y.set(yo, x.get(xo + idx[io] * axisStride));
            }
        });
    }

    @Override
    public void scatterAdd(Tensor dst, int axis, Tensor index, Tensor src) {
        computable("scatterAdd", dst, src);
        Tensor dstView = alongAxisView(dst, index, axis);
        int axisStride = dst.stride(axis);
        Runs runs = Runs.of(dstView, index, src);
        int ys = runs.innerStride(0), is = runs.innerStride(1), xs = runs.innerStride(2);
        int[] idx = ints(index);
        CpuStorage y = st(dst), x = st(src);
        // serial: two source elements may land on one destination element
        int[] off = runs.offsets.clone();
        int nd = runs.shape.length;
        int[] pos = new int[nd];
        for (int row = 0; row < runs.rows; row++) {
            for (int i = 0, yo = off[0], io = off[1], xo = off[2]; i < runs.inner; i++, yo += ys, io += is, xo += xs) {
                int target = yo + idx[io] * axisStride;
                y.set(target, y.get(target) + x.get(xo));
            }
            for (int dd = nd - 2; dd >= 0; dd--) {
                pos[dd]++;
                for (int t = 0; t < 3; t++) off[t] += runs.strides[t][dd];
                if (pos[dd] < runs.shape[dd]) break;
                for (int t = 0; t < 3; t++) off[t] -= runs.strides[t][dd] * runs.shape[dd];
                pos[dd] = 0;
            }
        }
    }

    @Override
    public void indexSelect(Tensor dst, Tensor src, int axis, Tensor index) {
        int count = index.size(0);
        int[] idx = ints(index);
        int io = index.offset(), is = index.stride(0);
        long slice = Math.max(1, src.numel() / Math.max(1, src.size(axis)));
        Parallel.forRange(count, slice, (from, to) -> {
            for (int j = from; j < to; j++) {
                copy(dst.narrow(axis, j, 1), src.narrow(axis, idx[io + j * is], 1));
            }
        });
    }

    // ---- random ----

    @Override
    public void uniform(Tensor dst, long seed, long offset, double lo, double hi) {
        random(dst, seed, offset, false, lo, hi);
    }

    @Override
    public void normal(Tensor dst, long seed, long offset, double mean, double std) {
        random(dst, seed, offset, true, mean, std);
    }

    private void random(Tensor dst, long seed, long offset, boolean normal, double p0, double p1) {
        computable(normal ? "normal" : "uniform", dst);
        Tensor out = dst.isContiguous() ? dst : Tensor.empty(dst.dtype(), dst.shape());
        int numel = out.numel();
        int base = out.offset();
        int chunk = 1 << 14;
        int chunks = (numel + chunk - 1) / chunk;
        Parallel.forRange(chunks, chunk * 8L, (from, to) -> {
            for (int c = from; c < to; c++) {
                int first = c * chunk;
                int count = Math.min(chunk, numel - first);
                if (out.dtype() == DType.F32) {
                    if (normal) Philox.fillNormal(f(out), base + first, count, first, seed, offset, (float) p0, (float) p1);
                    else Philox.fillUniform(f(out), base + first, count, first, seed, offset, (float) p0, (float) p1);
                } else {
                    if (normal) Philox.fillNormal(d(out), base + first, count, first, seed, offset, p0, p1);
                    else Philox.fillUniform(d(out), base + first, count, first, seed, offset, p0, p1);
                }
            }
        });
        if (out != dst) copy(dst, out);
    }

    // ---- fused NN ops ----

    @Override
    public void softmax(Tensor y, Tensor x, boolean log) {
        computable("softmax", y, x);
        CpuNn.softmax(y, x, log);
    }

    @Override
    public void softmaxBackward(Tensor dx, Tensor dy, Tensor y, boolean log) {
        computable("softmaxBackward", dx, dy, y);
        CpuNn.softmaxBackward(dx, dy, y, log);
    }

    @Override
    public void tokenLogProbs(Tensor logp, Tensor lse, Tensor logits, Tensor targets, double temperature) {
        computable("tokenLogProbs", logp, lse, logits);
        CpuNn.tokenLogProbs(logp, lse, logits, targets, temperature);
    }

    @Override
    public void tokenLogProbsBackward(Tensor dlogits, Tensor g, Tensor logits, Tensor targets, Tensor lse,
                                      double temperature) {
        computable("tokenLogProbsBackward", dlogits, g, logits, lse);
        CpuNn.tokenLogProbsBackward(dlogits, g, logits, targets, lse, temperature);
    }

    @Override
    public void layerNorm(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor weight, Tensor bias, double eps) {
        computable("layerNorm", y, mean, rstd, x, weight, bias);
        CpuNn.layerNorm(y, mean, rstd, x, weight, bias, eps);
    }

    @Override
    public void layerNormBackward(Tensor dx, Tensor dweight, Tensor dbias, Tensor dy, Tensor x, Tensor weight,
                                  Tensor mean, Tensor rstd) {
        computable("layerNormBackward", dx, dweight, dbias, dy, x, weight, mean, rstd);
        CpuNn.layerNormBackward(dx, dweight, dbias, dy, x, weight, mean, rstd);
    }

    @Override
    public void geluBackward(Tensor dx, Tensor dy, Tensor x) {
        computable("geluBackward", dx, dy, x);
        CpuNn.geluBackward(dx, dy, x);
    }

    @Override
    public void attention(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, Tensor mask, double scale) {
        if (q.dtype() == DType.BF16) {
            // BF16 q, k, v (and out): widened to F32 exactly, computed in F32, out rounded once; lse stays F32
            Tensor out32 = Tensor.empty(DType.F32, out.shape());
            attention(out32, lse, f32(q), f32(k), f32(v), f32(mask), scale);
            copy(out, out32);
            return;
        }
        computable("attention", out, lse, q, k, v, mask);
        CpuAttention.attention(out, lse, q, k, v, mask, scale);
    }

    @Override
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v,
                                  Tensor out, Tensor lse, Tensor mask, double scale) {
        if (q.dtype() == DType.BF16) {
            Tensor dq32 = Tensor.empty(DType.F32, dq.shape()), dk32 = Tensor.empty(DType.F32, dk.shape());
            Tensor dv32 = Tensor.empty(DType.F32, dv.shape());
            attentionBackward(dq32, dk32, dv32, f32(dout), f32(q), f32(k), f32(v), f32(out), lse, f32(mask), scale);
            copy(dq, dq32);
            copy(dk, dk32);
            copy(dv, dv32);
            return;
        }
        computable("attentionBackward", dq, dk, dv, dout, q, k, v, out, lse, mask);
        CpuAttention.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, mask, scale);
    }

    @Override
    public void embeddingBackward(Tensor dweight, Tensor ids, Tensor dout) {
        computable("embeddingBackward", dweight, dout);
        CpuNn.embeddingBackward(dweight, ids, dout);
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2,
                      double eps, double weightDecay, long step) {
        computable("adamw", param, grad, m, v);
        CpuNn.adamw(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step);
    }
}
