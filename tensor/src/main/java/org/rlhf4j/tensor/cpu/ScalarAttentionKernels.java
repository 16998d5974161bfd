package org.rlhf4j.tensor.cpu;

/** Plain-Java twin of {@link AttentionKernels}; the inner loops run along contiguous rows, so C2 vectorizes them. */
final class ScalarAttentionKernels implements AttentionKernels {
    @Override
    public void gemm(int m, int n, int k, float[] a, int aOff, int ars, int aks, float[] b, int bOff, int ldb,
                     float[] c, int cOff, int ldc, boolean accumulate) {
        for (int r = 0; r < m; r++) {
            int cr = cOff + r * ldc;
            if (!accumulate) java.util.Arrays.fill(c, cr, cr + n, 0f);
            int ar = aOff + r * ars;
            for (int p = 0; p < k; p++) {
                float av = a[ar + p * aks];
                if (av == 0f) continue; // masked probabilities and padding: nothing to add
                int bp = bOff + p * ldb;
                for (int j = 0; j < n; j++) c[cr + j] += av * b[bp + j];
            }
        }
    }

    @Override
    public int lanes() {
        return 1;
    }

    @Override
    public float max(float[] x, int off, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = off; i < off + n; i++) m = Math.max(m, x[i]);
        return m;
    }

    @Override
    public float expSub(float[] x, int off, int n, float sub) {
        float sum = 0f;
        for (int i = off; i < off + n; i++) {
            float e = (float) Math.exp(x[i] - sub);
            x[i] = e;
            sum += e;
        }
        return sum;
    }

    @Override
    public void add(float[] x, int xo, float[] y, int yo, int n) {
        for (int i = 0; i < n; i++) y[yo + i] += x[xo + i];
    }

    @Override
    public void scale(float[] x, int off, int n, float s) {
        for (int i = off; i < off + n; i++) x[i] *= s;
    }

    @Override
    public void softmaxGrad(float[] p, int pOff, float[] dp, int dpOff, int n, float d) {
        for (int i = 0; i < n; i++) dp[dpOff + i] = p[pOff + i] * (dp[dpOff + i] - d);
    }
}
