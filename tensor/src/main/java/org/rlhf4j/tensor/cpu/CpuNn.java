package org.rlhf4j.tensor.cpu;

import java.util.Arrays;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Shapes;
import org.rlhf4j.tensor.Tensor;

/**
 * CPU kernels of the fused NN ops, forward and backward side by side. F32 rows go through {@link NnKernels}
 * (Vector API or plain twin); F64 takes plain loops, accumulating in F64, for gradient checks. Work is split
 * over rows with {@link Parallel}.
 *
 * <p>Shapes: {@code R} rows (the product of all leading dimensions), {@code V} the softmax / vocabulary axis,
 * {@code C} channels, {@code N} ids. Inputs may be any strided view (they are made contiguous here); outputs
 * are fresh contiguous tensors of the right shape and dtype. Shapes are validated by the caller; this class
 * only checks what is cheap (dtypes, element counts, contiguity of outputs, index ranges).
 */
public final class CpuNn {
    private static final NnKernels K = NnKernels.get();

    /** Token log-probs read a row in blocks this long: each is swept twice (max, then sum) while in L1. */
    private static final int LSE_BLOCK = 2048;

    /** Layer-norm backward sums dweight/dbias over at most this many fixed row blocks, whatever the threads. */
    private static final int LN_PARTIALS = 64;

    private CpuNn() {}

    // =====================================================================================================
    // softmax / log-softmax over the last axis: x, y [R, V]
    // =====================================================================================================

    /** y = softmax(x) or log_softmax(x) over the last axis, with the row max subtracted. */
    public static void softmax(Tensor y, Tensor x, boolean log) {
        String op = log ? "logSoftmax" : "softmax";
        x = x.contiguous();
        requireOut(op, "y", y, x.dtype(), x.numel());
        int n = x.numel();
        int cols = lastDim(x);
        if (n == 0 || cols == 0) return;
        int rows = n / cols;
        long cost = 12L * cols;
        if (x.dtype() == DType.F32) {
            float[] xs = floats(x), ys = floats(y);
            int xo = x.offset(), yo = y.offset();
            Parallel.forRange(rows, cost, (from, to) -> {
                for (int r = from; r < to; r++) {
                    int xr = xo + r * cols, yr = yo + r * cols;
                    float m = K.max(xs, xr, cols);
                    if (log) {
                        float s = K.sumExp(xs, xr, cols, 1f, m);
                        K.logSoftmax(xs, xr, ys, yr, cols, m, (float) Math.log(s));
                    } else {
                        float s = K.expStore(xs, xr, ys, yr, cols, m);
                        K.scale(ys, yr, cols, 1f / s);
                    }
                }
            });
        } else {
            requireF64(op, x);
            double[] xs = doubles(x), ys = doubles(y);
            int xo = x.offset(), yo = y.offset();
            Parallel.forRange(rows, cost, (from, to) -> {
                for (int r = from; r < to; r++) {
                    int xr = xo + r * cols, yr = yo + r * cols;
                    double m = Double.NEGATIVE_INFINITY;
                    for (int i = 0; i < cols; i++) m = Math.max(m, xs[xr + i]);
                    double s = 0;
                    if (log) {
                        for (int i = 0; i < cols; i++) s += Math.exp(xs[xr + i] - m);
                        double logSum = Math.log(s);
                        for (int i = 0; i < cols; i++) ys[yr + i] = (xs[xr + i] - m) - logSum;
                    } else {
                        for (int i = 0; i < cols; i++) {
                            double e = Math.exp(xs[xr + i] - m);
                            ys[yr + i] = e;
                            s += e;
                        }
                        double inv = 1.0 / s;
                        for (int i = 0; i < cols; i++) ys[yr + i] *= inv;
                    }
                }
            });
        }
    }

    /**
     * dx from dy and the forward output y. softmax: dx = y (dy - sum_v dy y); log-softmax:
     * dx = dy - exp(y) sum_v dy.
     */
    public static void softmaxBackward(Tensor dx, Tensor dy, Tensor y, boolean log) {
        String op = log ? "logSoftmaxBackward" : "softmaxBackward";
        dy = dy.contiguous();
        y = y.contiguous();
        requireSame(op, "dy", dy, y);
        requireOut(op, "dx", dx, y.dtype(), y.numel());
        int n = y.numel();
        int cols = lastDim(y);
        if (n == 0 || cols == 0) return;
        int rows = n / cols;
        long cost = (log ? 12L : 4L) * cols;
        if (y.dtype() == DType.F32) {
            float[] dxs = floats(dx), dys = floats(dy), ys = floats(y);
            int dxo = dx.offset(), dyo = dy.offset(), yo = y.offset();
            Parallel.forRange(rows, cost, (from, to) -> {
                for (int r = from; r < to; r++) {
                    int o = r * cols;
                    if (log) {
                        float s = K.sum(dys, dyo + o, cols);
                        K.logSoftmaxBackward(dxs, dxo + o, dys, dyo + o, ys, yo + o, cols, s);
                    } else {
                        float s = K.dot(dys, dyo + o, ys, yo + o, cols);
                        K.softmaxBackward(dxs, dxo + o, dys, dyo + o, ys, yo + o, cols, s);
                    }
                }
            });
        } else {
            requireF64(op, y);
            double[] dxs = doubles(dx), dys = doubles(dy), ys = doubles(y);
            int dxo = dx.offset(), dyo = dy.offset(), yo = y.offset();
            Parallel.forRange(rows, cost, (from, to) -> {
                for (int r = from; r < to; r++) {
                    int o = r * cols;
                    double s = 0;
                    if (log) {
                        for (int i = 0; i < cols; i++) s += dys[dyo + o + i];
                        for (int i = 0; i < cols; i++) {
                            dxs[dxo + o + i] = dys[dyo + o + i] - Math.exp(ys[yo + o + i]) * s;
                        }
                    } else {
                        for (int i = 0; i < cols; i++) s += dys[dyo + o + i] * ys[yo + o + i];
                        for (int i = 0; i < cols; i++) dxs[dxo + o + i] = ys[yo + o + i] * (dys[dyo + o + i] - s);
                    }
                }
            });
        }
    }

    // =====================================================================================================
    // token log-probs: logits [R, V], targets [R] I32 -> logp [R], lse [R]
    // =====================================================================================================

    /**
     * z = logits / T; lse[r] = logsumexp_v z[r, v]; logp[r] = z[r, target[r]] - lse[r]. One pass over each row
     * (online max and sum over L1-sized blocks); nothing of size R x V is allocated.
     */
    public static void tokenLogProbs(Tensor logp, Tensor lse, Tensor logits, Tensor targets, double temperature) {
        String op = "tokenLogProbs";
        logits = logits.contiguous();
        int n = logits.numel();
        int cols = lastDim(logits);
        int rows = cols == 0 ? 0 : n / cols;
        requirePositive(op, temperature);
        requireOut(op, "logp", logp, logits.dtype(), rows);
        requireOut(op, "lse", lse, logits.dtype(), rows);
        int[] tg = targetsOf(op, targets, rows, cols);
        if (rows == 0) return;
        long cost = 10L * cols;
        if (logits.dtype() == DType.F32) {
            float[] xs = floats(logits), lp = floats(logp), ls = floats(lse);
            int xo = logits.offset(), lpo = logp.offset(), lso = lse.offset();
            float scale = (float) (1.0 / temperature);
            Parallel.forRange(rows, cost, (from, to) -> {
                for (int r = from; r < to; r++) {
                    int xr = xo + r * cols;
                    // max of z = scale * (max of x): rounding is monotone, so this is exactly the max of the z's.
                    float m = Float.NEGATIVE_INFINITY;
                    double s = 0;
                    for (int b = 0; b < cols; b += LSE_BLOCK) {
                        int len = Math.min(LSE_BLOCK, cols - b);
                        float bm = K.max(xs, xr + b, len) * scale;
                        if (bm != bm) s = Double.NaN; // NaN must reach lse even when the row is otherwise -inf
                        if (bm > m) {
                            s *= Math.exp((double) m - bm);
                            m = bm;
                        }
                        if (m == Float.NEGATIVE_INFINITY) continue; // every z so far is -inf: they add exactly 0
                        s += K.sumExp(xs, xr + b, len, scale, m);
                    }
                    double logSum = Math.log(s);
                    ls[lso + r] = (float) (m + logSum);
                    // (z_t - max) - log(sum): keeps the precision that m + log(sum) would round away.
                    lp[lpo + r] = (float) ((xs[xr + tg[r]] * scale - m) - logSum);
                }
            });
        } else {
            requireF64(op, logits);
            double[] xs = doubles(logits), lp = doubles(logp), ls = doubles(lse);
            int xo = logits.offset(), lpo = logp.offset(), lso = lse.offset();
            Parallel.forRange(rows, cost, (from, to) -> {
                for (int r = from; r < to; r++) {
                    int xr = xo + r * cols;
                    double m = Double.NEGATIVE_INFINITY, s = 0;
                    for (int b = 0; b < cols; b += LSE_BLOCK) {
                        int end = Math.min(cols, b + LSE_BLOCK);
                        double bm = Double.NEGATIVE_INFINITY;
                        for (int i = b; i < end; i++) bm = Math.max(bm, xs[xr + i]);
                        bm /= temperature;
                        if (bm != bm) s = Double.NaN;
                        if (bm > m) {
                            s *= Math.exp(m - bm);
                            m = bm;
                        }
                        if (m == Double.NEGATIVE_INFINITY) continue;
                        for (int i = b; i < end; i++) s += Math.exp(xs[xr + i] / temperature - m);
                    }
                    double logSum = Math.log(s);
                    ls[lso + r] = m + logSum;
                    lp[lpo + r] = (xs[xr + tg[r]] / temperature - m) - logSum;
                }
            });
        }
    }

    /**
     * dlogits[r, v] = g[r] (onehot(v == target[r]) - exp(logits[r, v] / T - lse[r])) / T, from the logits and
     * the saved lse only. Rows with g[r] == 0 (masked) get exact zeros without any exp.
     */
    public static void tokenLogProbsBackward(Tensor dlogits, Tensor g, Tensor logits, Tensor targets, Tensor lse,
                                             double temperature) {
        String op = "tokenLogProbsBackward";
        logits = logits.contiguous();
        g = g.contiguous();
        lse = lse.contiguous();
        int n = logits.numel();
        int cols = lastDim(logits);
        int rows = cols == 0 ? 0 : n / cols;
        requirePositive(op, temperature);
        requireOut(op, "dlogits", dlogits, logits.dtype(), n);
        requireInput(op, "g", g, logits.dtype(), rows);
        requireInput(op, "lse", lse, logits.dtype(), rows);
        int[] tg = targetsOf(op, targets, rows, cols);
        if (rows == 0) return;
        long cost = 8L * cols;
        if (logits.dtype() == DType.F32) {
            float[] xs = floats(logits), dl = floats(dlogits), gs = floats(g), ls = floats(lse);
            int xo = logits.offset(), dlo = dlogits.offset(), go = g.offset(), lso = lse.offset();
            float scale = (float) (1.0 / temperature);
            Parallel.forRange(rows, cost, (from, to) -> {
                for (int r = from; r < to; r++) {
                    int dr = dlo + r * cols;
                    float gr = gs[go + r];
                    if (gr == 0f) {
                        Arrays.fill(dl, dr, dr + cols, 0f);
                        continue;
                    }
                    float gt = (float) (gr / temperature);
                    K.scaledExp(xs, xo + r * cols, dl, dr, cols, scale, ls[lso + r], -gt);
                    dl[dr + tg[r]] += gt;
                }
            });
        } else {
            requireF64(op, logits);
            double[] xs = doubles(logits), dl = doubles(dlogits), gs = doubles(g), ls = doubles(lse);
            int xo = logits.offset(), dlo = dlogits.offset(), go = g.offset(), lso = lse.offset();
            Parallel.forRange(rows, cost, (from, to) -> {
                for (int r = from; r < to; r++) {
                    int dr = dlo + r * cols, xr = xo + r * cols;
                    double gr = gs[go + r];
                    if (gr == 0.0) {
                        Arrays.fill(dl, dr, dr + cols, 0.0);
                        continue;
                    }
                    double gt = gr / temperature, l = ls[lso + r];
                    for (int i = 0; i < cols; i++) dl[dr + i] = -gt * Math.exp(xs[xr + i] / temperature - l);
                    dl[dr + tg[r]] += gt;
                }
            });
        }
    }

    // =====================================================================================================
    // layer norm over the last axis: x, y [R, C]; weight, bias [C]; mean, rstd [R]
    // =====================================================================================================

    /**
     * y = (x - mean) rstd weight + bias, rstd = 1 / sqrt(var + eps) with the biased variance (as PyTorch);
     * mean and rstd are saved for the backward. weight and bias may be null.
     */
    public static void layerNorm(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor weight, Tensor bias,
                                 double eps) {
        String op = "layerNorm";
        x = x.contiguous();
        int n = x.numel();
        int cols = lastDim(x);
        int rows = cols == 0 ? 0 : n / cols;
        requireOut(op, "y", y, x.dtype(), n);
        requireOut(op, "mean", mean, x.dtype(), rows);
        requireOut(op, "rstd", rstd, x.dtype(), rows);
        Tensor w = weight == null ? null : requireInput(op, "weight", weight.contiguous(), x.dtype(), cols);
        Tensor b = bias == null ? null : requireInput(op, "bias", bias.contiguous(), x.dtype(), cols);
        if (rows == 0) return;
        long cost = 6L * cols;
        if (x.dtype() == DType.F32) {
            float[] xs = floats(x), ys = floats(y), ms = floats(mean), rs = floats(rstd);
            float[] ws = w == null ? null : floats(w), bs = b == null ? null : floats(b);
            int xo = x.offset(), yo = y.offset(), mo = mean.offset(), ro = rstd.offset();
            int wo = w == null ? 0 : w.offset(), bo = b == null ? 0 : b.offset();
            Parallel.forRange(rows, cost, (from, to) -> {
                for (int r = from; r < to; r++) {
                    int xr = xo + r * cols;
                    float mu = (float) ((double) K.sum(xs, xr, cols) / cols);
                    double var = (double) K.sumSquaredDeviation(xs, xr, cols, mu) / cols;
                    float inv = (float) (1.0 / Math.sqrt(var + eps));
                    K.layerNorm(xs, xr, ys, yo + r * cols, cols, mu, inv, ws, wo, bs, bo);
                    ms[mo + r] = mu;
                    rs[ro + r] = inv;
                }
            });
        } else {
            requireF64(op, x);
            double[] xs = doubles(x), ys = doubles(y), ms = doubles(mean), rs = doubles(rstd);
            double[] ws = w == null ? null : doubles(w), bs = b == null ? null : doubles(b);
            int xo = x.offset(), yo = y.offset(), mo = mean.offset(), ro = rstd.offset();
            int wo = w == null ? 0 : w.offset(), bo = b == null ? 0 : b.offset();
            Parallel.forRange(rows, cost, (from, to) -> {
                for (int r = from; r < to; r++) {
                    int xr = xo + r * cols, yr = yo + r * cols;
                    double s = 0;
                    for (int i = 0; i < cols; i++) s += xs[xr + i];
                    double mu = s / cols;
                    double ss = 0;
                    for (int i = 0; i < cols; i++) {
                        double d = xs[xr + i] - mu;
                        ss += d * d;
                    }
                    double inv = 1.0 / Math.sqrt(ss / cols + eps);
                    for (int i = 0; i < cols; i++) {
                        double v = (xs[xr + i] - mu) * inv;
                        if (ws != null) v *= ws[wo + i];
                        if (bs != null) v += bs[bo + i];
                        ys[yr + i] = v;
                    }
                    ms[mo + r] = mu;
                    rs[ro + r] = inv;
                }
            });
        }
    }

    /**
     * Layer-norm backward. With xhat = (x - mean) rstd and dxhat = dy w:
     * dx = rstd (dxhat - mean_c(dxhat) - xhat mean_c(dxhat xhat)); dweight = sum_r dy xhat; dbias = sum_r dy.
     * dweight and dbias (null when not wanted) are overwritten. They are summed over a fixed split of the rows
     * into at most {@value #LN_PARTIALS} blocks, then the blocks in order, so the result does not depend on
     * the thread count.
     */
    public static void layerNormBackward(Tensor dx, Tensor dweight, Tensor dbias, Tensor dy, Tensor x,
                                         Tensor weight, Tensor mean, Tensor rstd) {
        String op = "layerNormBackward";
        x = x.contiguous();
        dy = dy.contiguous();
        mean = mean.contiguous();
        rstd = rstd.contiguous();
        int n = x.numel();
        int cols = lastDim(x);
        int rows = cols == 0 ? 0 : n / cols;
        DType dt = x.dtype();
        requireInput(op, "dy", dy, dt, n);
        requireInput(op, "mean", mean, dt, rows);
        requireInput(op, "rstd", rstd, dt, rows);
        requireOut(op, "dx", dx, dt, n);
        if (dweight != null) requireOut(op, "dweight", dweight, dt, cols);
        if (dbias != null) requireOut(op, "dbias", dbias, dt, cols);
        Tensor w = weight == null ? null : requireInput(op, "weight", weight.contiguous(), dt, cols);
        boolean params = dweight != null || dbias != null;
        if (rows == 0) {
            if (dweight != null) dweight.fill(0);
            if (dbias != null) dbias.fill(0);
            return;
        }
        int blocks = Math.min(rows, LN_PARTIALS);
        long blockCost = 12L * cols * (rows / blocks + 1);
        if (dt == DType.F32) {
            float[] dxs = floats(dx), dys = floats(dy), xs = floats(x), ms = floats(mean), rs = floats(rstd);
            float[] ws = w == null ? null : floats(w);
            float[] pw = dweight == null ? null : new float[blocks * cols];
            float[] pb = dbias == null ? null : new float[blocks * cols];
            int dxo = dx.offset(), dyo = dy.offset(), xo = x.offset(), mo = mean.offset(), ro = rstd.offset();
            int wo = w == null ? 0 : w.offset();
            float invCols = 1f / cols;
            Parallel.forRange(blocks, blockCost, (from, to) -> {
                float[] sums = new float[2];
                for (int blk = from; blk < to; blk++) {
                    for (int r = rowStart(rows, blocks, blk), end = rowStart(rows, blocks, blk + 1); r < end; r++) {
                        int o = r * cols;
                        float mu = ms[mo + r], inv = rs[ro + r];
                        K.layerNormBackwardSums(dys, dyo + o, xs, xo + o, ws, wo, cols, mu, inv, sums);
                        K.layerNormBackward(dxs, dxo + o, dys, dyo + o, xs, xo + o, ws, wo, cols, mu, inv,
                                sums[0] * invCols, sums[1] * invCols, pw, blk * cols, pb, blk * cols);
                    }
                }
            });
            if (params) {
                float[] dws = dweight == null ? null : floats(dweight), dbs = dbias == null ? null : floats(dbias);
                int dwo = dweight == null ? 0 : dweight.offset(), dbo = dbias == null ? 0 : dbias.offset();
                Parallel.forRange(cols, 2L * blocks, (from, to) -> {
                    int len = to - from;
                    if (dws != null) combinePartials(pw, blocks, cols, from, len, dws, dwo + from);
                    if (dbs != null) combinePartials(pb, blocks, cols, from, len, dbs, dbo + from);
                });
            }
        } else {
            requireF64(op, x);
            double[] dxs = doubles(dx), dys = doubles(dy), xs = doubles(x), ms = doubles(mean), rs = doubles(rstd);
            double[] ws = w == null ? null : doubles(w);
            double[] pw = dweight == null ? null : new double[blocks * cols];
            double[] pb = dbias == null ? null : new double[blocks * cols];
            int dxo = dx.offset(), dyo = dy.offset(), xo = x.offset(), mo = mean.offset(), ro = rstd.offset();
            int wo = w == null ? 0 : w.offset();
            Parallel.forRange(blocks, blockCost, (from, to) -> {
                for (int blk = from; blk < to; blk++) {
                    int po = blk * cols;
                    for (int r = rowStart(rows, blocks, blk), end = rowStart(rows, blocks, blk + 1); r < end; r++) {
                        int o = r * cols;
                        double mu = ms[mo + r], inv = rs[ro + r];
                        double a = 0, b = 0;
                        for (int i = 0; i < cols; i++) {
                            double dxhat = ws == null ? dys[dyo + o + i] : dys[dyo + o + i] * ws[wo + i];
                            a += dxhat;
                            b += dxhat * (xs[xo + o + i] - mu) * inv;
                        }
                        a /= cols;
                        b /= cols;
                        for (int i = 0; i < cols; i++) {
                            double g = dys[dyo + o + i];
                            double dxhat = ws == null ? g : g * ws[wo + i];
                            double xhat = (xs[xo + o + i] - mu) * inv;
                            dxs[dxo + o + i] = inv * (dxhat - a - xhat * b);
                            if (pw != null) pw[po + i] += g * xhat;
                            if (pb != null) pb[po + i] += g;
                        }
                    }
                }
            });
            if (params) {
                double[] dws = dweight == null ? null : doubles(dweight), dbs = dbias == null ? null : doubles(dbias);
                int dwo = dweight == null ? 0 : dweight.offset(), dbo = dbias == null ? 0 : dbias.offset();
                Parallel.forRange(cols, 2L * blocks, (from, to) -> {
                    for (int c = from; c < to; c++) {
                        double sw = 0, sb = 0;
                        for (int blk = 0; blk < blocks; blk++) {
                            if (pw != null) sw += pw[blk * cols + c];
                            if (pb != null) sb += pb[blk * cols + c];
                        }
                        if (dws != null) dws[dwo + c] = sw;
                        if (dbs != null) dbs[dbo + c] = sb;
                    }
                });
            }
        }
    }

    /** First row of block {@code blk} of {@code blocks} equal splits of {@code rows}. */
    private static int rowStart(int rows, int blocks, int blk) {
        return (int) ((long) rows * blk / blocks);
    }

    /** out[0..len) = sum over blocks, in order, of partials[blk * cols + from ..]. */
    private static void combinePartials(float[] partials, int blocks, int cols, int from, int len, float[] out,
                                        int oo) {
        System.arraycopy(partials, from, out, oo, len);
        for (int blk = 1; blk < blocks; blk++) K.addInto(partials, blk * cols + from, out, oo, len);
    }

    // =====================================================================================================
    // GELU (tanh form) backward: dx, dy, x any shape
    // =====================================================================================================

    /** dx = dy d/dx[0.5 x (1 + tanh(c (x + 0.044715 x^3)))], c = sqrt(2 / pi). */
    public static void geluBackward(Tensor dx, Tensor dy, Tensor x) {
        String op = "geluBackward";
        x = x.contiguous();
        dy = dy.contiguous();
        int n = x.numel();
        requireInput(op, "dy", dy, x.dtype(), n);
        requireOut(op, "dx", dx, x.dtype(), n);
        if (x.dtype() == DType.F32) {
            float[] dxs = floats(dx), dys = floats(dy), xs = floats(x);
            int dxo = dx.offset(), dyo = dy.offset(), xo = x.offset();
            Parallel.forRange(n, 20, (from, to) -> K.geluBackward(dxs, dxo + from, dys, dyo + from, xs, xo + from,
                    to - from));
        } else {
            requireF64(op, x);
            double[] dxs = doubles(dx), dys = doubles(dy), xs = doubles(x);
            int dxo = dx.offset(), dyo = dy.offset(), xo = x.offset();
            Parallel.forRange(n, 20, (from, to) -> {
                for (int i = from; i < to; i++) dxs[dxo + i] = dys[dyo + i] * ScalarNnKernels.geluGrad(xs[xo + i]);
            });
        }
    }

    // =====================================================================================================
    // embedding backward: dweight [V, C], ids [N] I32, dout [N, C]
    // =====================================================================================================

    /**
     * dweight[ids[n], :] += dout[n, :] (dweight is the accumulated gradient: added into). The ids are sorted
     * with their positions, and each distinct id's row is summed by one task in increasing n, so the result is
     * the same for any thread count.
     */
    public static void embeddingBackward(Tensor dweight, Tensor ids, Tensor dout) {
        String op = "embeddingBackward";
        dout = dout.contiguous();
        int vocab = dweight.dim() == 0 ? 0 : dweight.size(0);
        int cols = vocab == 0 ? 0 : dweight.numel() / vocab;
        int[] id = indices(op, ids);
        int count = id.length;
        requireOut(op, "dweight", dweight, dweight.dtype(), dweight.numel());
        requireInput(op, "dout", dout, dweight.dtype(), (long) count * cols);
        long[] keys = new long[count];
        for (int i = 0; i < count; i++) {
            int v = id[i];
            if (v < 0 || v >= vocab) {
                throw new IndexOutOfBoundsException(op + ": id " + v + " at position " + i + " is out of range [0, "
                        + vocab + ")");
            }
            keys[i] = ((long) v << 32) | i;
        }
        if (count == 0 || cols == 0) return;
        Arrays.sort(keys);
        // runStart[k]..runStart[k+1]: the sorted keys of the k-th distinct id.
        int[] runStart = new int[count + 1];
        int runs = 0;
        for (int i = 0; i < count; i++) {
            if (i == 0 || (keys[i] >>> 32) != (keys[i - 1] >>> 32)) runStart[runs++] = i;
        }
        runStart[runs] = count;
        int distinct = runs;
        long cost = 2L * cols * Math.max(1, count / distinct);
        if (dweight.dtype() == DType.F32) {
            float[] dw = floats(dweight), d = floats(dout);
            int dwo = dweight.offset(), doo = dout.offset();
            Parallel.forRange(distinct, cost, (from, to) -> {
                for (int k = from; k < to; k++) {
                    int row = dwo + (int) (keys[runStart[k]] >>> 32) * cols;
                    for (int j = runStart[k]; j < runStart[k + 1]; j++) {
                        K.addInto(d, doo + (int) keys[j] * cols, dw, row, cols);
                    }
                }
            });
        } else {
            requireF64(op, dweight);
            double[] dw = doubles(dweight), d = doubles(dout);
            int dwo = dweight.offset(), doo = dout.offset();
            Parallel.forRange(distinct, cost, (from, to) -> {
                for (int k = from; k < to; k++) {
                    int row = dwo + (int) (keys[runStart[k]] >>> 32) * cols;
                    for (int j = runStart[k]; j < runStart[k + 1]; j++) {
                        int src = doo + (int) keys[j] * cols;
                        for (int i = 0; i < cols; i++) dw[row + i] += d[src + i];
                    }
                }
            });
        }
    }

    // =====================================================================================================
    // AdamW: param, grad, m, v same shape, updated in place
    // =====================================================================================================

    /**
     * One AdamW step in place, PyTorch semantics: p -= lr wd p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
     * p -= lr mhat / (sqrt(vhat) + eps), with mhat = m / (1 - b1^step), vhat = v / (1 - b2^step).
     */
    public static void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2,
                             double eps, double weightDecay, long step) {
        String op = "adamw";
        if (step < 1) throw new IllegalArgumentException(op + ": step must be >= 1, found " + step);
        grad = grad.contiguous();
        int n = param.numel();
        DType dt = param.dtype();
        requireOut(op, "param", param, dt, n);
        requireOut(op, "m", m, dt, n);
        requireOut(op, "v", v, dt, n);
        requireInput(op, "grad", grad, dt, n);
        double decay = 1.0 - lr * weightDecay;
        double stepSize = lr / (1.0 - Math.pow(beta1, step));
        double invBc2Sqrt = 1.0 / Math.sqrt(1.0 - Math.pow(beta2, step));
        int po = param.offset(), go = grad.offset(), mo = m.offset(), vo = v.offset();
        if (dt == DType.F32) {
            float[] ps = floats(param), gs = floats(grad), ms = floats(m), vs = floats(v);
            float fDecay = (float) decay, b1 = (float) beta1, c1 = (float) (1.0 - beta1), b2 = (float) beta2;
            float c2 = (float) (1.0 - beta2), fStep = (float) stepSize, fInv = (float) invBc2Sqrt, fEps = (float) eps;
            Parallel.forRange(n, 16, (from, to) -> K.adamw(ps, po + from, gs, go + from, ms, mo + from, vs, vo + from,
                    to - from, fDecay, b1, c1, b2, c2, fStep, fInv, fEps));
        } else {
            requireF64(op, param);
            double[] ps = doubles(param), gs = doubles(grad), ms = doubles(m), vs = doubles(v);
            double c1 = 1.0 - beta1, c2 = 1.0 - beta2;
            Parallel.forRange(n, 16, (from, to) -> {
                for (int i = from; i < to; i++) {
                    double g = gs[go + i];
                    double mi = beta1 * ms[mo + i] + c1 * g;
                    double vi = beta2 * vs[vo + i] + c2 * (g * g);
                    ms[mo + i] = mi;
                    vs[vo + i] = vi;
                    ps[po + i] = ps[po + i] * decay - stepSize * mi / (Math.sqrt(vi) * invBc2Sqrt + eps);
                }
            });
        }
    }

    // =====================================================================================================
    // checks and array access
    // =====================================================================================================

    private static int lastDim(Tensor t) {
        return t.dim() == 0 ? 1 : t.size(-1);
    }

    private static float[] floats(Tensor t) {
        return ((CpuStorage) t.storage()).floats();
    }

    private static double[] doubles(Tensor t) {
        return ((CpuStorage) t.storage()).doubles();
    }

    private static void requireF64(String op, Tensor t) {
        if (t.dtype() != DType.F64) {
            throw new IllegalArgumentException(op + ": expected F32 or F64, found " + t.dtype());
        }
    }

    private static void requirePositive(String op, double temperature) {
        if (!(temperature > 0)) {
            throw new IllegalArgumentException(op + ": temperature must be > 0, found " + temperature);
        }
    }

    /** An output (or in-place operand): contiguous, of dtype and element count, on the CPU. */
    private static void requireOut(String op, String name, Tensor out, DType dtype, long numel) {
        if (out.dtype() != dtype || out.numel() != numel || !out.isContiguous() || !out.device().isCpu()) {
            throw new IllegalArgumentException(op + ": expected " + name + " as a contiguous CPU " + dtype
                    + " tensor of " + numel + " elements, found " + describe(out));
        }
    }

    /** An input already made contiguous: of dtype and element count. Returns it. */
    private static Tensor requireInput(String op, String name, Tensor t, DType dtype, long numel) {
        if (t.dtype() != dtype || t.numel() != numel || !t.device().isCpu()) {
            throw new IllegalArgumentException(op + ": expected " + name + " as a CPU " + dtype + " tensor of "
                    + numel + " elements, found " + describe(t));
        }
        return t;
    }

    private static void requireSame(String op, String name, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype() || !Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException(op + ": " + name + " " + describe(a) + " does not match "
                    + describe(b));
        }
    }

    private static String describe(Tensor t) {
        return t.dtype() + Shapes.str(t.shape()) + (t.isContiguous() ? "" : " (strided)")
                + (t.device().isCpu() ? "" : " on " + t.device());
    }

    /** The ids of an I32 tensor, flattened, in row-major order (a copy only when the view is strided). */
    private static int[] indices(String op, Tensor ids) {
        if (ids.dtype() != DType.I32) {
            throw new IllegalArgumentException(op + ": ids must be I32, found " + describe(ids));
        }
        Tensor c = ids.contiguous();
        int[] all = ((CpuStorage) c.storage()).ints();
        int o = c.offset(), n = c.numel();
        return o == 0 && n == all.length ? all : Arrays.copyOfRange(all, o, o + n);
    }

    /** The targets, one per row, each checked to lie in [0, cols). */
    private static int[] targetsOf(String op, Tensor targets, int rows, int cols) {
        int[] tg = indices(op, targets);
        if (tg.length != rows) {
            throw new IllegalArgumentException(op + ": expected " + rows + " targets (one per row), found "
                    + describe(targets));
        }
        for (int r = 0; r < rows; r++) {
            if (tg[r] < 0 || tg[r] >= cols) {
                throw new IndexOutOfBoundsException(op + ": target " + tg[r] + " of row " + r + " is out of range [0, "
                        + cols + ")");
            }
        }
        return tg;
    }
}
