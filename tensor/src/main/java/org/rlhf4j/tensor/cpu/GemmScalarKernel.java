package org.rlhf4j.tensor.cpu;

/**
 * The plain-Java micro-kernel of {@link CpuGemm}, used when the Vector API is off. Same packed layouts as
 * {@link GemmSimdKernel}: A micro-panel {@code [kc][MR]}, B micro-panel {@code [kc][NR]}. The accumulators
 * live in a small {@code [MR][NR]} array; the inner loop over NR is a plain loop that C2 auto-vectorizes.
 */
final class GemmScalarKernel {
    static final int MR = 4;
    static final int NR = 16;

    private GemmScalarKernel() {}

    /** acc[i][j] = sum_p ap[p][i] * bp[p][j] over one packed micro-panel pair. */
    static void kernel(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] acc) {
        for (int j = 0; j < MR * NR; j++) acc[j] = 0f;
        for (int p = 0; p < kc; p++) {
            int ai = aIdx + p * MR;
            int bi = bIdx + p * NR;
            for (int i = 0; i < MR; i++) {
                float av = ap[ai + i];
                int o = i * NR;
                for (int j = 0; j < NR; j++) {
                    acc[o + j] += av * bp[bi + j];
                }
            }
        }
    }
}
