package org.rlhf4j.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API micro-kernels of {@link CpuGemm}. Only {@link CpuGemm} touches this class, and only when
 * {@link Simd#ENABLED} is true, so the JVM never loads {@code jdk.incubator.vector} otherwise.
 *
 * <p>A micro-kernel multiplies a packed MR x kc micro-panel of A (layout {@code [kc][MR]}) by a packed
 * kc x NR micro-panel of B (layout {@code [kc][NR]}, NR = two vectors) into MR x NR accumulators held in
 * registers, and stores them to {@code tile} ({@code [MR][NR]}). The write-back to C is a separate method:
 * kept out of the kernel, the kernel stays small enough for C2 to intrinsify every vector operation.
 */
final class GemmSimdKernel {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Floats per vector: 16 with AVX-512, 8 with AVX2. */
    static final int V = F.length();
    static final int NR = 2 * V;
    /** 12 rows need 24 accumulators (32 registers with AVX-512); 6 rows need 12 (16 registers with AVX2). */
    static final int MR = V >= 16 ? 12 : 6;

    private GemmSimdKernel() {}

    /**
     * Runs the micro-kernel on one fixed-depth panel, on this thread alone, until C2 has compiled it (batches of
     * 100 calls, at most 2 s; see {@link WarmUp}); returns the milliseconds spent. With the AVX2 kernel's 15 of 16
     * vector registers in use, C2's register allocation depends on the profile: compiled from real products
     * (two threads, mixed depths), the 6 x 16 kernel came out in about half of the JVMs with its accumulators
     * split across registers and one spilled to the stack, at half speed.
     */
    static double warmUp() {
        int kc = CpuGemm.KC;
        float[] ap = new float[MR * kc];
        float[] bp = new float[NR * kc];
        float[] tile = new float[MR * NR];
        for (int i = 0; i < ap.length; i++) ap[i] = (i % 7) * 0.125f;
        for (int i = 0; i < bp.length; i++) bp[i] = (i % 5) * 0.25f;
        return WarmUp.untilFlat(() -> {
            for (int r = 0; r < 100; r++) kernel(kc, ap, 0, bp, 0, tile);
        }, 20, 2_000_000_000L);
    }

    /** tile[i][j] = sum_p ap[p][i] * bp[p][j]. */
    static void kernel(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] tile) {
        if (MR == 12) {
            kernel12(kc, ap, aIdx, bp, bIdx, tile);
        } else {
            kernel6(kc, ap, aIdx, bp, bIdx, tile);
        }
    }

    /** Full tile of row-major C: c[i][j] = alpha * tile[i][j] + beta * c[i][j]; beta == 0 never reads C. */
    static void update(float[] tile, float alpha, float beta, float[] c, int cIdx, int ldc) {
        FloatVector alphaV = FloatVector.broadcast(F, alpha);
        if (beta == 0f) {
            for (int i = 0; i < MR; i++) {
                int row = cIdx + i * ldc;
                FloatVector.fromArray(F, tile, i * NR).mul(alphaV).intoArray(c, row);
                FloatVector.fromArray(F, tile, i * NR + V).mul(alphaV).intoArray(c, row + V);
            }
        } else {
            FloatVector betaV = FloatVector.broadcast(F, beta);
            for (int i = 0; i < MR; i++) {
                int row = cIdx + i * ldc;
                FloatVector old0 = FloatVector.fromArray(F, c, row).mul(betaV);
                FloatVector old1 = FloatVector.fromArray(F, c, row + V).mul(betaV);
                FloatVector.fromArray(F, tile, i * NR).fma(alphaV, old0).intoArray(c, row);
                FloatVector.fromArray(F, tile, i * NR + V).fma(alphaV, old1).intoArray(c, row + V);
            }
        }
    }

    /**
     * The first {@code panels} full MR-row micro-panels of {@link CpuGemm#packA}, written from {@code dstOff} on,
     * for a column-major A (element (i, p) at {@code base + p*cs + i}), column by column. Each column of a panel
     * is copied as one whole vector, whose last V - MR floats spill into the panel's next column and are
     * overwritten by it; the last column, and any read that would run past the end of {@code a}, is copied float
     * by float. Only one vector species is used:
     * C2 intrinsifies a vector load or store only where a single species reaches it.
     */
    static void packColumnMajor(int panels, int kc, float[] a, int base, int cs, float[] dst, int dstOff) {
        int panelSize = MR * kc;
        boolean wide = V >= MR && V - MR <= MR;
        for (int p = 0; p < kc; p++) {
            int s = base + p * cs;
            int o = dstOff + p * MR;
            boolean vector = wide && p < kc - 1;
            for (int q = 0; q < panels; q++, s += MR, o += panelSize) {
                if (vector && s + V <= a.length) {
                    FloatVector.fromArray(F, a, s).intoArray(dst, o);
                } else {
                    for (int i = 0; i < MR; i++) dst[o + i] = a[s + i];
                }
            }
        }
    }

    /** One full NR-column micro-panel of {@link CpuGemm#packB} from a row-major B (row p at {@code base + p*rs}). */
    static void packRowMajorB(int kc, float[] b, int base, int rs, float[] dst, int d) {
        for (int p = 0; p < kc; p++) {
            int s = base + p * rs;
            int o = d + p * NR;
            FloatVector.fromArray(F, b, s).intoArray(dst, o);
            FloatVector.fromArray(F, b, s + V).intoArray(dst, o + V);
        }
    }

    /** 12 x NR tile: 24 accumulators + 2 B vectors + 1 broadcast of A. */
    static void kernel12(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] tile) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector c00 = zero, c01 = zero;
        FloatVector c10 = zero, c11 = zero;
        FloatVector c20 = zero, c21 = zero;
        FloatVector c30 = zero, c31 = zero;
        FloatVector c40 = zero, c41 = zero;
        FloatVector c50 = zero, c51 = zero;
        FloatVector c60 = zero, c61 = zero;
        FloatVector c70 = zero, c71 = zero;
        FloatVector c80 = zero, c81 = zero;
        FloatVector c90 = zero, c91 = zero;
        FloatVector c100 = zero, c101 = zero;
        FloatVector c110 = zero, c111 = zero;
        for (int p = 0; p < kc; p++) {
            int ai = aIdx + p * 12;
            int bi = bIdx + p * NR;
            FloatVector b0 = FloatVector.fromArray(F, bp, bi);
            FloatVector b1 = FloatVector.fromArray(F, bp, bi + V);
            FloatVector a0 = FloatVector.broadcast(F, ap[ai + 0]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(F, ap[ai + 1]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(F, ap[ai + 2]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(F, ap[ai + 3]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(F, ap[ai + 4]);
            c40 = a4.fma(b0, c40);
            c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(F, ap[ai + 5]);
            c50 = a5.fma(b0, c50);
            c51 = a5.fma(b1, c51);
            FloatVector a6 = FloatVector.broadcast(F, ap[ai + 6]);
            c60 = a6.fma(b0, c60);
            c61 = a6.fma(b1, c61);
            FloatVector a7 = FloatVector.broadcast(F, ap[ai + 7]);
            c70 = a7.fma(b0, c70);
            c71 = a7.fma(b1, c71);
            FloatVector a8 = FloatVector.broadcast(F, ap[ai + 8]);
            c80 = a8.fma(b0, c80);
            c81 = a8.fma(b1, c81);
            FloatVector a9 = FloatVector.broadcast(F, ap[ai + 9]);
            c90 = a9.fma(b0, c90);
            c91 = a9.fma(b1, c91);
            FloatVector a10 = FloatVector.broadcast(F, ap[ai + 10]);
            c100 = a10.fma(b0, c100);
            c101 = a10.fma(b1, c101);
            FloatVector a11 = FloatVector.broadcast(F, ap[ai + 11]);
            c110 = a11.fma(b0, c110);
            c111 = a11.fma(b1, c111);
        }
        c00.intoArray(tile, 0 * NR);
        c01.intoArray(tile, 0 * NR + V);
        c10.intoArray(tile, 1 * NR);
        c11.intoArray(tile, 1 * NR + V);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + V);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + V);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + V);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + V);
        c60.intoArray(tile, 6 * NR);
        c61.intoArray(tile, 6 * NR + V);
        c70.intoArray(tile, 7 * NR);
        c71.intoArray(tile, 7 * NR + V);
        c80.intoArray(tile, 8 * NR);
        c81.intoArray(tile, 8 * NR + V);
        c90.intoArray(tile, 9 * NR);
        c91.intoArray(tile, 9 * NR + V);
        c100.intoArray(tile, 10 * NR);
        c101.intoArray(tile, 10 * NR + V);
        c110.intoArray(tile, 11 * NR);
        c111.intoArray(tile, 11 * NR + V);
    }

    /**
     * 6 x NR tile: 12 accumulators + 2 B vectors + 1 broadcast of A. The loop runs on the two panel indexes
     * themselves rather than on p: C2 then removes the bounds checks of the A loads and computes no
     * {@code p * 6}, which leaves few enough scalar instructions per 12 FMAs to keep both FMA pipes busy (a
     * loop on p ran at 88% of the FMA peak on Zen 3, this one at 98%). Unrolling, by hand or by C2, is slower:
     * C2 then schedules the B loads of several steps first and spills accumulators.
     */
    static void kernel6(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] tile) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector c00 = zero, c01 = zero;
        FloatVector c10 = zero, c11 = zero;
        FloatVector c20 = zero, c21 = zero;
        FloatVector c30 = zero, c31 = zero;
        FloatVector c40 = zero, c41 = zero;
        FloatVector c50 = zero, c51 = zero;
        int aEnd = aIdx + kc * 6;
        for (int ai = aIdx, bi = bIdx; ai < aEnd; ai += 6, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(F, bp, bi);
            FloatVector b1 = FloatVector.fromArray(F, bp, bi + V);
            FloatVector a0 = FloatVector.broadcast(F, ap[ai + 0]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(F, ap[ai + 1]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(F, ap[ai + 2]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(F, ap[ai + 3]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(F, ap[ai + 4]);
            c40 = a4.fma(b0, c40);
            c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(F, ap[ai + 5]);
            c50 = a5.fma(b0, c50);
            c51 = a5.fma(b1, c51);
        }
        c00.intoArray(tile, 0 * NR);
        c01.intoArray(tile, 0 * NR + V);
        c10.intoArray(tile, 1 * NR);
        c11.intoArray(tile, 1 * NR + V);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + V);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + V);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + V);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + V);
    }
}
