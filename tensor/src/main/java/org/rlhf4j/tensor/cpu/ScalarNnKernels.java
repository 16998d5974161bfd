package org.rlhf4j.tensor.cpu;

/**
 * Plain-Java F32 loops of the fused NN ops: the twin used when the Vector API is absent or disabled. Row sums
 * are accumulated in double, which costs nothing extra in scalar code.
 */
final class ScalarNnKernels implements NnKernels {
    private static final double GELU_C = org.rlhf4j.tensor.UnaryOp.GELU_C;
    private static final double GELU_K = 0.044715;

    @Override
    public float max(float[] x, int xo, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) m = Math.max(m, x[xo + i]);
        return m;
    }

    @Override
    public float sum(float[] x, int xo, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += x[xo + i];
        return (float) s;
    }

    @Override
    public float dot(float[] a, int ao, float[] b, int bo, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double) a[ao + i] * b[bo + i];
        return (float) s;
    }

    @Override
    public float sumExp(float[] x, int xo, int n, float scale, float shift) {
        double s = 0;
        for (int i = 0; i < n; i++) s += Math.exp(x[xo + i] * scale - shift);
        return (float) s;
    }

    @Override
    public float expStore(float[] x, int xo, float[] y, int yo, int n, float shift) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[xo + i] - shift);
            y[yo + i] = e;
            s += e;
        }
        return (float) s;
    }

    @Override
    public void scale(float[] y, int yo, int n, float s) {
        for (int i = 0; i < n; i++) y[yo + i] *= s;
    }

    @Override
    public void logSoftmax(float[] x, int xo, float[] y, int yo, int n, float shift, float logSum) {
        for (int i = 0; i < n; i++) y[yo + i] = (x[xo + i] - shift) - logSum;
    }

    @Override
    public void softmaxBackward(float[] dx, int dxo, float[] dy, int dyo, float[] y, int yo, int n, float s) {
        for (int i = 0; i < n; i++) dx[dxo + i] = y[yo + i] * (dy[dyo + i] - s);
    }

    @Override
    public void logSoftmaxBackward(float[] dx, int dxo, float[] dy, int dyo, float[] y, int yo, int n, float s) {
        for (int i = 0; i < n; i++) dx[dxo + i] = dy[dyo + i] - (float) Math.exp(y[yo + i]) * s;
    }

    @Override
    public void scaledExp(float[] x, int xo, float[] dx, int dxo, int n, float scale, float shift, float coef) {
        for (int i = 0; i < n; i++) dx[dxo + i] = coef * (float) Math.exp(x[xo + i] * scale - shift);
    }

    @Override
    public float sumSquaredDeviation(float[] x, int xo, int n, float mean) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            float d = x[xo + i] - mean;
            s += d * d;
        }
        return (float) s;
    }

    @Override
    public void layerNorm(float[] x, int xo, float[] y, int yo, int n, float mean, float rstd, float[] w, int wo,
                          float[] b, int bo) {
        for (int i = 0; i < n; i++) {
            float v = (x[xo + i] - mean) * rstd;
            if (w != null) v *= w[wo + i];
            if (b != null) v += b[bo + i];
            y[yo + i] = v;
        }
    }

    @Override
    public void layerNormBackwardSums(float[] dy, int dyo, float[] x, int xo, float[] w, int wo, int n, float mean,
                                      float rstd, float[] out) {
        double a = 0, b = 0;
        for (int i = 0; i < n; i++) {
            float dxhat = w == null ? dy[dyo + i] : dy[dyo + i] * w[wo + i];
            float xhat = (x[xo + i] - mean) * rstd;
            a += dxhat;
            b += dxhat * xhat;
        }
        out[0] = (float) a;
        out[1] = (float) b;
    }

    @Override
    public void layerNormBackward(float[] dx, int dxo, float[] dy, int dyo, float[] x, int xo, float[] w, int wo,
                                  int n, float mean, float rstd, float meanDxhat, float meanDxhatXhat,
                                  float[] dw, int dwo, float[] db, int dbo) {
        for (int i = 0; i < n; i++) {
            float g = dy[dyo + i];
            float dxhat = w == null ? g : g * w[wo + i];
            float xhat = (x[xo + i] - mean) * rstd;
            dx[dxo + i] = rstd * (dxhat - meanDxhat - xhat * meanDxhatXhat);
            if (dw != null) dw[dwo + i] += g * xhat;
            if (db != null) db[dbo + i] += g;
        }
    }

    @Override
    public void addInto(float[] x, int xo, float[] acc, int ao, int n) {
        for (int i = 0; i < n; i++) acc[ao + i] += x[xo + i];
    }

    /** d/dx of 0.5 x (1 + tanh(u)), u = c (x + k x^3): 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 k x^2). */
    static double geluGrad(double x) {
        double x2 = x * x;
        double t = Math.tanh(GELU_C * x * (1.0 + GELU_K * x2));
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_C * (1.0 + 3.0 * GELU_K * x2);
    }

    @Override
    public void geluBackward(float[] dx, int dxo, float[] dy, int dyo, float[] x, int xo, int n) {
        for (int i = 0; i < n; i++) dx[dxo + i] = dy[dyo + i] * (float) geluGrad(x[xo + i]);
    }

    @Override
    public void adamw(float[] p, int po, float[] g, int go, float[] m, int mo, float[] v, int vo, int n, float decay,
                      float b1, float c1, float b2, float c2, float stepSize, float invBc2Sqrt, float eps) {
        for (int i = 0; i < n; i++) {
            float gi = g[go + i];
            float mi = b1 * m[mo + i] + c1 * gi;
            float vi = b2 * v[vo + i] + c2 * (gi * gi);
            m[mo + i] = mi;
            v[vo + i] = vi;
            float denom = (float) Math.sqrt(vi) * invBc2Sqrt + eps;
            p[po + i] = p[po + i] * decay - stepSize * mi / denom;
        }
    }
}
