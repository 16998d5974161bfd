package org.rlhf4j.kernels.attention;

/**
 * A plain-Java transcription of the F32 kernels in {@code attention_f32.ptx}, thread by thread: the same grid,
 * warps and lanes, the same shared-memory arrays (sizes and padded strides as declared there, so an index past
 * them throws), the same tile loop bounds, causal skips, masking order, base-2 exponentials and butterfly sums.
 * It runs on the CPU and checks the kernels' blocked algorithm and index math against {@code CpuAttention}; it
 * does not run the PTX itself (only a GPU does).
 *
 * <p>Arrays are flat F32 in the kernels' layouts: q, out [B, H, Tq, D]; k, v through element strides
 * (b kvSb + h kvSh + t kvSt + d); mask [B, *] with row stride maskSb, or null.
 */
final class F32KernelModel {
    static final float LOG2E = 1.4426950408889634f;
    static final float LN2 = 0.6931471805599453f;
    static final float MASKED = -1e9f;
    static final float NEG_INF = Float.NEGATIVE_INFINITY;

    private F32KernelModel() {}

    /** ex2.approx.f32 stands in as a correctly rounded 2^x (the hardware errs by about 2^-22 more). */
    static float ex2(float x) {
        return (float) Math.pow(2.0, x);
    }

    static float lg2(float x) {
        return (float) (Math.log(x) / Math.log(2.0));
    }

    /** shfl.sync.bfly reductions over the 32 lanes, as the kernels run them (every lane ends with the same bits). */
    static float[] bflyMax(float[] lanes) {
        float[] x = lanes.clone();
        for (int m = 16; m >= 1; m >>= 1) {
            float[] y = new float[32];
            for (int l = 0; l < 32; l++) y[l] = Math.max(x[l], x[l ^ m]);
            x = y;
        }
        return x;
    }

    static float[] bflySum(float[] lanes) {
        float[] x = lanes.clone();
        for (int m = 16; m >= 1; m >>= 1) {
            float[] y = new float[32];
            for (int l = 0; l < 32; l++) y[l] = x[l] + x[l ^ m];
            x = y;
        }
        return x;
    }

    /** The kernels' view of a launch's tensors. */
    record Args(int batch, int heads, int tq, int tk, int d, float[] q, float[] k, float[] v, float[] mask,
                int kvSb, int kvSh, int kvSt, int maskSb, float scale) {
        float scaleLog2e() {
            return scale * LOG2E;
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // attention_fwd_f32: grid (ceil(Tq / 16), B H), 16 warps, key tiles of 32
    // ---------------------------------------------------------------------------------------------------------

    static void forward(Args a, float[] out, float[] lse) {
        int nqt = (a.tq + 15) / 16;
        for (int bh = 0; bh < a.batch * a.heads; bh++) {
            for (int cx = 0; cx < nqt; cx++) forwardBlock(a, out, lse, nqt - 1 - cx, bh);
        }
    }

    private static void forwardBlock(Args a, float[] out, float[] lse, int qt, int bh) {
        int D = a.d, D1 = D + 1;
        float[] sQ = new float[2048], sK = new float[4128], sV = new float[4096];
        int b = bh / a.heads, h = bh % a.heads;
        int i0 = qt * 16, past = a.tk - a.tq;
        long kbase = (long) b * a.kvSb + (long) h * a.kvSh;
        float c = a.scaleLog2e();
        // per warp state (registers of every lane; lanes of a warp hold the same m2 and l)
        float[] m2 = new float[16], l = new float[16];
        float[][] acc = new float[16 * 32][4];
        java.util.Arrays.fill(m2, NEG_INF);

        for (int warp = 0; warp < 16; warp++) {
            int i = i0 + warp;
            boolean prow = i < a.tq;
            for (int lane = 0; lane < 32; lane++) {
                for (int cc = 0; cc < 4; cc++) {
                    int d = lane + 32 * cc;
                    if (d >= D) continue;
                    float x = prow ? a.q[(bh * a.tq + i) * D + d] : 0f;
                    sQ[warp * D + d] = x;
                }
            }
        }
        int lastrow = Math.min(i0 + 15, a.tq - 1);
        int ntile = (past + lastrow) / 32 + 1;
        for (int t = 0, j0 = 0; t < ntile; t++, j0 += 32) {
            // bar.sync; load rows warp and warp + 16; bar.sync
            for (int warp = 0; warp < 16; warp++) {
                for (int r = warp; r < 32; r += 16) {
                    int j = j0 + r;
                    for (int lane = 0; lane < 32; lane++) {
                        for (int cc = 0; cc < 4; cc++) {
                            int d = lane + 32 * cc;
                            if (d >= D) continue;
                            float x = 0f, y = 0f;
                            if (j < a.tk) {
                                x = a.k[(int) (kbase + (long) j * a.kvSt + d)];
                                y = a.v[(int) (kbase + (long) j * a.kvSt + d)];
                            }
                            sK[r * D1 + d] = x;
                            sV[r * D + d] = y;
                        }
                    }
                }
            }
            for (int warp = 0; warp < 16; warp++) {
                int i = i0 + warp, qpos = past + i;
                float[] s = new float[32];
                for (int lane = 0; lane < 32; lane++) {
                    int j = j0 + lane;
                    float dot = 0f;
                    for (int d = 0; d < D; d += 4) {
                        for (int u = 0; u < 4; u++) dot = Math.fma(sQ[warp * D + d + u], sK[lane * D1 + d + u], dot);
                    }
                    boolean key = j < a.tk;
                    boolean ok = key && j <= qpos;
                    float mv = (key && a.mask != null) ? a.mask[b * a.maskSb + j] : 0f;
                    ok &= mv > MASKED;
                    mv *= LOG2E;
                    s[lane] = ok ? Math.fma(dot, c, mv) : NEG_INF;
                }
                float mnew = Math.max(m2[warp], bflyMax(s)[0]);
                if (mnew == NEG_INF) continue;
                float[] p = new float[32];
                for (int lane = 0; lane < 32; lane++) p[lane] = ex2(s[lane] - mnew);
                float alpha = ex2(m2[warp] - mnew);
                float psum = bflySum(p)[0];
                l[warp] = Math.fma(l[warp], alpha, psum);
                m2[warp] = mnew;
                int jmax = Math.min(Math.min(a.tk - j0, 32), qpos + 1 - j0);
                for (int lane = 0; lane < 32; lane++) {
                    float[] ac = acc[warp * 32 + lane];
                    for (int cc = 0; cc < 4; cc++) ac[cc] *= alpha;
                    for (int jj = 0; jj < jmax; jj++) {
                        // the kernel reads all four slots (past D: another row of sV, inside the array)
                        for (int cc = 0; cc < 4; cc++) ac[cc] = Math.fma(p[jj], sV[jj * D + lane + 32 * cc], ac[cc]);
                    }
                }
            }
        }
        for (int warp = 0; warp < 16; warp++) {
            int i = i0 + warp;
            if (i >= a.tq) continue;
            boolean none = m2[warp] == NEG_INF;
            float inv = none ? 0f : 1f / l[warp];
            int row = bh * a.tq + i;
            for (int lane = 0; lane < 32; lane++) {
                for (int cc = 0; cc < 4; cc++) {
                    int d = lane + 32 * cc;
                    if (d < D) out[row * D + d] = acc[warp * 32 + lane][cc] * inv;
                }
            }
            if (lse != null) lse[row] = none ? NEG_INF : (m2[warp] + lg2(l[warp])) * LN2;
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // attention_decode_f32: a block per (b, h), 8 warps taking key chunks 32 w, 32 (w + 8), ...; Tq = 1
    // ---------------------------------------------------------------------------------------------------------

    static void decode(Args a, float[] out, float[] lse) {
        int D = a.d;
        float c = a.scaleLog2e();
        for (int bh = 0; bh < a.batch * a.heads; bh++) {
            int b = bh / a.heads, h = bh % a.heads;
            long kbase = (long) b * a.kvSb + (long) h * a.kvSh;
            float[] sq = new float[128];
            for (int tx = 0; tx < D; tx++) sq[tx] = a.q[bh * D + tx];
            float[] sm2 = new float[8], sl = new float[8], sacc = new float[1024];
            for (int warp = 0; warp < 8; warp++) {
                float m2 = NEG_INF, l = 0f;
                float[][] acc = new float[32][4];
                for (int c32 = 32 * warp; c32 < a.tk; c32 += 256) {
                    float[] s = new float[32];
                    for (int lane = 0; lane < 32; lane++) {
                        int j = c32 + lane;
                        boolean key = j < a.tk;
                        float dot = 0f;
                        if (key) {
                            for (int d = 0; d < D; d++) dot = Math.fma(sq[d], a.k[(int) (kbase + (long) j * a.kvSt + d)], dot);
                        }
                        float mv = (key && a.mask != null) ? a.mask[b * a.maskSb + j] : 0f;
                        key &= mv > MASKED;
                        s[lane] = key ? Math.fma(dot, c, mv * LOG2E) : NEG_INF;
                    }
                    float mnew = Math.max(m2, bflyMax(s)[0]);
                    if (mnew == NEG_INF) continue;
                    float[] p = new float[32];
                    for (int lane = 0; lane < 32; lane++) p[lane] = ex2(s[lane] - mnew);
                    float alpha = ex2(m2 - mnew);
                    l = Math.fma(l, alpha, bflySum(p)[0]);
                    m2 = mnew;
                    int jmax = Math.min(a.tk - c32, 32);
                    for (int lane = 0; lane < 32; lane++) {
                        for (int cc = 0; cc < 4; cc++) {
                            acc[lane][cc] *= alpha;
                            int d = lane + 32 * cc;
                            if (d >= D) continue;
                            for (int jj = 0; jj < jmax; jj++) {
                                acc[lane][cc] = Math.fma(p[jj], a.v[(int) (kbase + (long) (c32 + jj) * a.kvSt + d)],
                                        acc[lane][cc]);
                            }
                        }
                    }
                }
                sm2[warp] = m2;
                sl[warp] = l;
                for (int lane = 0; lane < 32; lane++) {
                    for (int cc = 0; cc < 4; cc++) {
                        if (lane + 32 * cc < D) sacc[warp * 128 + lane + 32 * cc] = acc[lane][cc];
                    }
                }
            }
            float big = NEG_INF;
            for (int w = 0; w < 8; w++) big = Math.max(big, sm2[w]);
            float total = 0f;
            for (int tx = 0; tx < D; tx++) {
                float o = 0f, sum = 0f;
                if (big != NEG_INF) {
                    for (int w = 0; w < 8; w++) {
                        float aw = ex2(sm2[w] - big);
                        sum = Math.fma(aw, sl[w], sum);
                        if (sm2[w] != NEG_INF) o = Math.fma(aw, sacc[w * 128 + tx], o);
                    }
                    o *= 1f / sum;
                }
                out[bh * D + tx] = o;
                total = sum;
            }
            if (lse != null) lse[bh] = big == NEG_INF ? NEG_INF : (big + lg2(total)) * LN2;
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // attention_bwd_dot_f32, attention_bwd_dkdv_f32, attention_bwd_dq_f32 (Tq = Tk = T, contiguous k and v)
    // ---------------------------------------------------------------------------------------------------------

    static float[] rowDots(float[] dout, float[] out, int rows, int D) {
        float[] rowdot = new float[rows];
        for (int row = 0; row < rows; row++) {
            float[] part = new float[32];
            for (int lane = 0; lane < 32; lane++) {
                float sum = 0f;
                for (int dd = lane; dd < D; dd += 32) sum = Math.fma(dout[row * D + dd], out[row * D + dd], sum);
                part[lane] = sum;
            }
            rowdot[row] = bflySum(part)[0];
        }
        return rowdot;
    }

    /** p and ds of one (query, key) pair, by the instructions both backward kernels use. */
    private static float[] pAndDs(float s, float dp, float c, float mk2, float l2, float rowdot, boolean ok) {
        float p = ok ? ex2(Math.fma(s, c, mk2) - l2) : 0f;
        return new float[] {p, p * (dp - rowdot)};
    }

    static void backward(Args a, float[] dout, float[] lse, float[] rowdot, float[] dq, float[] dk, float[] dv) {
        int T = a.tq;
        int nblk = (T + 7) / 8;
        for (int bh = 0; bh < a.batch * a.heads; bh++) {
            for (int x = 0; x < nblk; x++) dkdvBlock(a, dout, lse, rowdot, dk, dv, x, bh);
            for (int x = 0; x < nblk; x++) dqBlock(a, dout, lse, rowdot, dq, nblk - 1 - x, bh);
        }
    }

    private static void dkdvBlock(Args a, float[] dout, float[] lse, float[] rowdot, float[] dk, float[] dv,
                                  int cx, int bh) {
        int T = a.tq, D = a.d, D1 = D + 1;
        float[] sKj = new float[1024], sVj = new float[1024], sQ = new float[4128], sO = new float[4128];
        float[] sL = new float[32], sR = new float[32];
        int b = bh / a.heads;
        int head = bh * T * D;
        int j0 = cx * 8;
        float c = a.scaleLog2e();
        boolean[] pkey = new boolean[8];
        float[] mk2 = new float[8];
        float[][] dkAcc = new float[8 * 32][4], dvAcc = new float[8 * 32][4];
        for (int warp = 0; warp < 8; warp++) {
            int j = j0 + warp;
            boolean key = j < T;
            for (int lane = 0; lane < 32; lane++) {
                for (int cc = 0; cc < 4; cc++) {
                    int d = lane + 32 * cc;
                    if (d >= D) continue;
                    sKj[warp * D + d] = key ? a.k[head + j * D + d] : 0f;
                    sVj[warp * D + d] = key ? a.v[head + j * D + d] : 0f;
                }
            }
            float mv = (key && a.mask != null) ? a.mask[b * a.maskSb + j] : 0f;
            pkey[warp] = key && mv > MASKED;
            mk2[warp] = mv * LOG2E;
        }
        for (int it0 = j0 & -32; it0 < T; it0 += 32) {
            for (int warp = 0; warp < 8; warp++) {
                for (int r = warp; r < 32; r += 8) {
                    int i = it0 + r;
                    for (int lane = 0; lane < 32; lane++) {
                        for (int cc = 0; cc < 4; cc++) {
                            int d = lane + 32 * cc;
                            if (d >= D) continue;
                            sQ[r * D1 + d] = i < T ? a.q[head + i * D + d] : 0f;
                            sO[r * D1 + d] = i < T ? dout[head + i * D + d] : 0f;
                        }
                    }
                }
            }
            for (int lane = 0; lane < 32; lane++) {
                int i = it0 + lane;
                sL[lane] = (i < T ? lse[bh * T + i] : NEG_INF) * LOG2E;
                sR[lane] = i < T ? rowdot[bh * T + i] : 0f;
            }
            for (int warp = 0; warp < 8; warp++) {
                int j = j0 + warp;
                float[] p = new float[32], ds = new float[32];
                boolean any = false;
                for (int lane = 0; lane < 32; lane++) {
                    int i = it0 + lane;
                    float s = 0f, dp = 0f;
                    for (int d = 0; d < D; d++) {
                        s = Math.fma(sQ[lane * D1 + d], sKj[warp * D + d], s);
                        dp = Math.fma(sO[lane * D1 + d], sVj[warp * D + d], dp);
                    }
                    boolean ok = i < T && pkey[warp] && i >= j && sL[lane] != NEG_INF;
                    float[] pd = pAndDs(s, dp, c, mk2[warp], sL[lane], sR[lane], ok);
                    p[lane] = pd[0];
                    ds[lane] = pd[1];
                    any |= ok;
                }
                if (!any) continue;
                int iimax = Math.min(T - it0, 32);
                for (int lane = 0; lane < 32; lane++) {
                    float[] dka = dkAcc[warp * 32 + lane], dva = dvAcc[warp * 32 + lane];
                    for (int ii = 0; ii < iimax; ii++) {
                        for (int cc = 0; cc < 4; cc++) {
                            dva[cc] = Math.fma(p[ii], sO[ii * D1 + lane + 32 * cc], dva[cc]);
                            dka[cc] = Math.fma(ds[ii], sQ[ii * D1 + lane + 32 * cc], dka[cc]);
                        }
                    }
                }
            }
        }
        for (int warp = 0; warp < 8; warp++) {
            int j = j0 + warp;
            if (j >= T) continue;
            for (int lane = 0; lane < 32; lane++) {
                for (int cc = 0; cc < 4; cc++) {
                    int d = lane + 32 * cc;
                    if (d >= D) continue;
                    dk[head + j * D + d] = dkAcc[warp * 32 + lane][cc] * a.scale;
                    dv[head + j * D + d] = dvAcc[warp * 32 + lane][cc];
                }
            }
        }
    }

    private static void dqBlock(Args a, float[] dout, float[] lse, float[] rowdot, float[] dq, int qb, int bh) {
        int T = a.tq, D = a.d, D1 = D + 1;
        float[] sQi = new float[1024], sOi = new float[1024], sK = new float[4128], sV = new float[4128];
        int b = bh / a.heads;
        int head = bh * T * D;
        int i0 = qb * 8;
        float c = a.scaleLog2e();
        boolean[] prow = new boolean[8];
        float[] l2 = new float[8], rd = new float[8];
        float[][] dqAcc = new float[8 * 32][4];
        for (int warp = 0; warp < 8; warp++) {
            int i = i0 + warp;
            boolean row = i < T;
            for (int lane = 0; lane < 32; lane++) {
                for (int cc = 0; cc < 4; cc++) {
                    int d = lane + 32 * cc;
                    if (d >= D) continue;
                    sQi[warp * D + d] = row ? a.q[head + i * D + d] : 0f;
                    sOi[warp * D + d] = row ? dout[head + i * D + d] : 0f;
                }
            }
            l2[warp] = (row ? lse[bh * T + i] : NEG_INF) * LOG2E;
            rd[warp] = row ? rowdot[bh * T + i] : 0f;
            prow[warp] = row && l2[warp] != NEG_INF;
        }
        int lastkey = Math.min(i0 + 7, T - 1);
        int ntile = lastkey / 32 + 1;
        for (int t = 0, j0 = 0; t < ntile; t++, j0 += 32) {
            for (int warp = 0; warp < 8; warp++) {
                for (int r = warp; r < 32; r += 8) {
                    int j = j0 + r;
                    for (int lane = 0; lane < 32; lane++) {
                        for (int cc = 0; cc < 4; cc++) {
                            int d = lane + 32 * cc;
                            if (d >= D) continue;
                            sK[r * D1 + d] = j < T ? a.k[head + j * D + d] : 0f;
                            sV[r * D1 + d] = j < T ? a.v[head + j * D + d] : 0f;
                        }
                    }
                }
            }
            for (int warp = 0; warp < 8; warp++) {
                int i = i0 + warp;
                float[] ds = new float[32];
                boolean any = false;
                for (int lane = 0; lane < 32; lane++) {
                    int j = j0 + lane;
                    float s = 0f, dp = 0f;
                    for (int d = 0; d < D; d++) {
                        s = Math.fma(sQi[warp * D + d], sK[lane * D1 + d], s);
                        dp = Math.fma(sOi[warp * D + d], sV[lane * D1 + d], dp);
                    }
                    boolean key = j < T;
                    boolean ok = key && j <= i && prow[warp];
                    float mv = (key && a.mask != null) ? a.mask[b * a.maskSb + j] : 0f;
                    ok &= mv > MASKED;
                    ds[lane] = pAndDs(s, dp, c, mv * LOG2E, l2[warp], rd[warp], ok)[1];
                    any |= ok;
                }
                if (!any) continue;
                int jmax = Math.min(Math.min(T - j0, 32), i + 1 - j0);
                for (int lane = 0; lane < 32; lane++) {
                    float[] dqa = dqAcc[warp * 32 + lane];
                    for (int jj = 0; jj < jmax; jj++) {
                        for (int cc = 0; cc < 4; cc++) dqa[cc] = Math.fma(ds[jj], sK[jj * D1 + lane + 32 * cc], dqa[cc]);
                    }
                }
            }
        }
        for (int warp = 0; warp < 8; warp++) {
            int i = i0 + warp;
            if (i >= T) continue;
            for (int lane = 0; lane < 32; lane++) {
                for (int cc = 0; cc < 4; cc++) {
                    int d = lane + 32 * cc;
                    if (d < D) dq[head + i * D + d] = dqAcc[warp * 32 + lane][cc] * a.scale;
                }
            }
        }
    }
}
