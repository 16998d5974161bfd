package org.rlhf4j.tensor.cpu;

/**
 * The F32 row loops of the fused NN ops in {@link CpuNn}, over contiguous runs of {@code n} elements. Two twins
 * implement it: {@link ScalarNnKernels} (plain Java) and {@code VectorNnKernels} (Vector API), chosen by
 * {@link Simd}. Each method is one sweep over its run; {@link CpuNn} strings them together per row.
 */
interface NnKernels {
    /** max_i x[i] (NaN if any is NaN; -inf for n == 0). */
    float max(float[] x, int xo, int n);

    /** sum_i x[i]. */
    float sum(float[] x, int xo, int n);

    /** sum_i a[i] b[i]. */
    float dot(float[] a, int ao, float[] b, int bo, int n);

    /** sum_i exp(x[i] * scale - shift). */
    float sumExp(float[] x, int xo, int n, float scale, float shift);

    /** y[i] = exp(x[i] - shift); returns sum_i y[i]. */
    float expStore(float[] x, int xo, float[] y, int yo, int n, float shift);

    /** y[i] *= s. */
    void scale(float[] y, int yo, int n, float s);

    /** y[i] = (x[i] - shift) - logSum: log-softmax from the row max and log of the shifted sum. */
    void logSoftmax(float[] x, int xo, float[] y, int yo, int n, float shift, float logSum);

    /** dx[i] = y[i] (dy[i] - s): softmax backward, s = sum(dy y). */
    void softmaxBackward(float[] dx, int dxo, float[] dy, int dyo, float[] y, int yo, int n, float s);

    /** dx[i] = dy[i] - exp(y[i]) s: log-softmax backward, s = sum(dy). */
    void logSoftmaxBackward(float[] dx, int dxo, float[] dy, int dyo, float[] y, int yo, int n, float s);

    /** dx[i] = coef exp(x[i] * scale - shift): the softmax part of the token log-prob gradient. */
    void scaledExp(float[] x, int xo, float[] dx, int dxo, int n, float scale, float shift, float coef);

    /** sum_i (x[i] - mean)^2. */
    float sumSquaredDeviation(float[] x, int xo, int n, float mean);

    /** y[i] = (x[i] - mean) rstd w[i] + b[i]; w and b may be null (1 and 0). */
    void layerNorm(float[] x, int xo, float[] y, int yo, int n, float mean, float rstd, float[] w, int wo,
                   float[] b, int bo);

    /**
     * The two row sums of layer-norm backward, with dxhat = dy w and xhat = (x - mean) rstd:
     * out[0] = sum dxhat, out[1] = sum dxhat xhat. w may be null.
     */
    void layerNormBackwardSums(float[] dy, int dyo, float[] x, int xo, float[] w, int wo, int n, float mean,
                               float rstd, float[] out);

    /**
     * dx[i] = rstd (dy[i] w[i] - meanDxhat - xhat[i] meanDxhatXhat); and, where not null,
     * dw[i] += dy[i] xhat[i], db[i] += dy[i]. w may be null.
     */
    void layerNormBackward(float[] dx, int dxo, float[] dy, int dyo, float[] x, int xo, float[] w, int wo, int n,
                           float mean, float rstd, float meanDxhat, float meanDxhatXhat,
                           float[] dw, int dwo, float[] db, int dbo);

    /** acc[i] += x[i]. */
    void addInto(float[] x, int xo, float[] acc, int ao, int n);

    /** dx[i] = dy[i] gelu'(x[i]), tanh form. */
    void geluBackward(float[] dx, int dxo, float[] dy, int dyo, float[] x, int xo, int n);

    /**
     * One AdamW step over a run: p *= decay; m = b1 m + c1 g; v = b2 v + c2 g^2;
     * p -= stepSize m / (sqrt(v) invBc2Sqrt + eps), where c1 = 1 - b1, c2 = 1 - b2 (rounded from F64),
     * stepSize = lr / (1 - b1^t) and invBc2Sqrt = 1 / sqrt(1 - b2^t).
     */
    void adamw(float[] p, int po, float[] g, int go, float[] m, int mo, float[] v, int vo, int n, float decay,
               float b1, float c1, float b2, float c2, float stepSize, float invBc2Sqrt, float eps);

    /** The active twin. */
    static NnKernels get() {
        return Holder.INSTANCE;
    }

    final class Holder {
        static final NnKernels INSTANCE = Simd.ENABLED ? load() : new ScalarNnKernels();

        private static NnKernels load() {
            try {
                return (NnKernels) Class.forName("org.rlhf4j.tensor.cpu.VectorNnKernels")
                        .getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError e) {
                return new ScalarNnKernels();
            }
        }

        private Holder() {}
    }
}
