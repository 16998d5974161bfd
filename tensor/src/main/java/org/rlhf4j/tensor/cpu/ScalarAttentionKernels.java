package org.rlhf4j.tensor.cpu;

/** Plain-Java twin of {@link AttentionKernels}; the inner loops run along contiguous rows, so C2 vectorizes them. */
final class ScalarAttentionKernels implements AttentionKernels {
    // e^x constants (Cephes expf), shared with the vector twin.
    static final float EXP_LO = -87.3f, EXP_HI = 88f;
    static final float LOG2E = 1.44269504088896341f, ROUND = 12582912f; // 1.5 * 2^23
    static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /** e^x by the same steps as the vector twin's, lane for lane (the vector twin uses it for its tails). */
    static float expf(float x) {
        if (x < EXP_LO) return 0f;
        x = Math.min(x, EXP_HI);
        float n = x * LOG2E + ROUND - ROUND;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = P0;
        p = Math.fma(p, r, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        p = p * (r * r) + r + 1f;
        return p * Float.intBitsToFloat(((int) n + 127) << 23);
    }

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
    public void expSub(float[] x, int off, int n, float sub) {
        for (int i = off; i < off + n; i++) x[i] = (float) Math.exp(x[i] - sub);
    }

    @Override
    public float expSubSum(float[] x, int off, int n, float sub, float[] lanes) {
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
