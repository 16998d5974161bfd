package org.rlhf4j.tensor.cpu;

/**
 * The F32 inner loops of {@link CpuAttention}: a small register-blocked matrix product over packed blocks and
 * the row operations of the online softmax. Two twins implement it: {@link ScalarAttentionKernels} (plain Java)
 * and {@code VectorAttentionKernels} (Vector API), chosen by {@link Simd}.
 */
interface AttentionKernels {
    /**
     * {@code C[m, n] (+)= A[m, k] B[k, n]}, where {@code A(r, p) = a[aOff + r*ars + p*aks]} (so a transposed A
     * costs nothing), B is row-major with row stride {@code ldb} and C row-major with row stride {@code ldc}.
     * With {@code accumulate} false C is overwritten. Within each element the k products are summed in order.
     */
    void gemm(int m, int n, int k, float[] a, int aOff, int ars, int aks, float[] b, int bOff, int ldb,
              float[] c, int cOff, int ldc, boolean accumulate);

    /** The vector length in floats (1 for the plain twin). */
    int lanes();

    /** The largest of x[off..off+n) (-inf when every element is -inf). */
    float max(float[] x, int off, int n);

    /** x = exp(x - sub) in place. -inf elements become exactly 0. */
    void expSub(float[] x, int off, int n, float sub);

    /**
     * x = exp(x - sub) in place, returning the sum of the new values, added up in an order fixed by n alone;
     * {@code lanes} is scratch of at least {@link #lanes()} floats.
     */
    float expSubSum(float[] x, int off, int n, float sub, float[] lanes);

    /** y[yo..yo+n) += x[xo..xo+n). */
    void add(float[] x, int xo, float[] y, int yo, int n);

    /** x[off..off+n) *= s. */
    void scale(float[] x, int off, int n, float s);

    /** dp = p * (dp - d): the softmax backward of one row, dS = P (dP - D). */
    void softmaxGrad(float[] p, int pOff, float[] dp, int dpOff, int n, float d);

    /** The active twin. */
    static AttentionKernels get() {
        return Holder.INSTANCE;
    }

    final class Holder {
        static final AttentionKernels INSTANCE = Simd.ENABLED ? load() : new ScalarAttentionKernels();

        private static AttentionKernels load() {
            try {
                return (AttentionKernels) Class.forName("org.rlhf4j.tensor.cpu.VectorAttentionKernels")
                        .getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError e) {
                return new ScalarAttentionKernels();
            }
        }

        private Holder() {}
    }
}
