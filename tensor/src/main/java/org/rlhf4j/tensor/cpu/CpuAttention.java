package org.rlhf4j.tensor.cpu;

import java.util.Arrays;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Shapes;
import org.rlhf4j.tensor.Tensor;

/**
 * Causal multi-head attention on the CPU, flash-style: the softmax runs online over key blocks, so no [T, T]
 * matrix is ever stored, and the backward recomputes the probabilities block by block from q, k and the saved
 * per-row logsumexp.
 *
 * <p>Shapes: {@code B} batch, {@code H} heads, {@code T} time, {@code D} head dimension. q, k, v, out and their
 * gradients are [B, H, T, D]; lse is [B, H, T]; the padding mask is [B, T] and additive over key positions.
 *
 * <pre>
 *   s_ij  = scale q_i.k_j + mask[b, j]             (j &lt;= i)
 *   lse_i = log sum_j exp(s_ij)
 *   out_i = sum_j exp(s_ij - lse_i) v_j
 * </pre>
 *
 * A mask value at or below {@link #MASKED} (or -inf) masks its key outright: the key contributes exactly zero,
 * whatever large negative the caller chose. A query row whose allowed keys are all masked (a left-padding
 * position) gets out = 0 and lse = -inf, and gives zero gradients.
 *
 * <p>F32 is blocked: query blocks of {@value #BQ} rows against key blocks of {@value #BK} keys. A first pass
 * writes scale * K^T (and, for the backward, V^T and D_i = dout_i.out_i) once per call, [B*H, D, T] rounded up,
 * so that every block product reads its operands in place with the long dimension contiguous: S = Q (scale K^T),
 * dP = dO V^T, P V, dS K, P^T dO and dS^T Q all run on one register-blocked kernel
 * ({@link AttentionKernels#gemm}: 4 rows by 2 vectors of C in registers, A broadcast, B streamed). Per worker
 * the only scratch is two [BQ, BK] tiles (32 KiB); the output rows themselves accumulate P V, dq, dk and dv.
 * Memory is O(B H T D) for the transposed copies, never O(T^2). F64 runs plain loops row by row (O(T)
 * scratch per worker), for gradient checks.
 *
 * <p>Parallelism and determinism. The forward splits over (b, h, query block), heaviest blocks first. The
 * backward has two schemes that give bitwise equal results, because they issue the same block products in the
 * same order for every output element:
 * <ul>
 *   <li>one task per (b, h), when there are enough heads to keep the workers busy: for each key block in
 *       turn, over the query blocks at or after it, accumulate the block's dk and dv and add its share to dq
 *       (5 block products per pair);</li>
 *   <li>otherwise, finer tasks in one parallel loop: (b, h, key block) tasks accumulate dk and dv as above;
 *       (b, h, query block) tasks loop over the key blocks at or before them and accumulate dq. This computes
 *       S and dP twice (7 products per pair) to get parallelism over blocks with no atomics and no O(T^2)
 *       partial sums.</li>
 * </ul>
 * Each output element is written by exactly one task, which sums in a fixed order, so results do not depend
 * on the thread count. The Vector-API kernels avoid the operations whose results may differ between
 * interpreted and compiled code (see {@code VectorAttentionKernels}), so they do not depend on warm-up either.
 */
public final class CpuAttention {
    /** Mask values at or below this count as masked (as -inf). */
    public static final double MASKED = -1e9;

    /** Query rows per block (F32). */
    static final int BQ = 64;
    /** Keys per block (F32); a multiple of twice the widest vector (16 floats). */
    static final int BK = 64;

    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    private CpuAttention() {}

    // =====================================================================================================
    // API
    // =====================================================================================================

    /**
     * Causal attention: {@code out[b,h,i,:] = sum_{j<=i} softmax_j(scale q_i.k_j + mask[b,j]) v_j}.
     *
     * @param out  [B, H, T, D], written
     * @param lse  [B, H, T], written: the natural-log logsumexp of each row's scores, saved for the backward
     * @param q    [B, H, T, D]; q, k and v may be non-contiguous views
     * @param k    [B, H, T, D]
     * @param v    [B, H, T, D]
     * @param mask null, or an additive padding mask [B, T] over key positions (0 for real tokens, -inf or a large
     *             negative for padding)
     */
    public static void attention(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, Tensor mask, double scale) {
        final String op = "attention";
        int[] shape = checkQkv(op, q, k, v);
        DType dtype = q.dtype();
        int b = shape[0], h = shape[1], t = shape[2];
        checkLike(op, "out", out, dtype, shape);
        checkLike(op, "lse", lse, dtype, b, h, t);
        if (mask != null) checkLike(op, "mask", mask, dtype, b, t);
        if (out.numel() == 0 && lse.numel() == 0) return;

        Tensor outC = target(out), lseC = target(lse);
        Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
        Tensor mc = mask == null ? null : mask.contiguous();
        if (dtype == DType.F32) {
            new F32(shape, qc, kc, vc, mc, (float) scale).forward(outC, lseC);
        } else {
            new F64(shape, qc, kc, vc, mc, scale).forward(outC, lseC);
        }
        writeBack(out, outC);
        writeBack(lse, lseC);
    }

    /**
     * The backward of {@link #attention}. dq, dk and dv are overwritten:
     * <pre>
     *   P_ij  = exp(scale q_i.k_j + mask_j - lse_i)      D_i = dout_i.out_i
     *   dS_ij = P_ij (dout_i.v_j - D_i)
     *   dq_i  = scale sum_j dS_ij k_j    dk_j = scale sum_i dS_ij q_i    dv_j = sum_i P_ij dout_i
     * </pre>
     */
    public static void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v,
                                         Tensor out, Tensor lse, Tensor mask, double scale) {
        final String op = "attentionBackward";
        int[] shape = checkQkv(op, q, k, v);
        DType dtype = q.dtype();
        int b = shape[0], h = shape[1], t = shape[2];
        checkLike(op, "dq", dq, dtype, shape);
        checkLike(op, "dk", dk, dtype, shape);
        checkLike(op, "dv", dv, dtype, shape);
        checkLike(op, "dout", dout, dtype, shape);
        checkLike(op, "out", out, dtype, shape);
        checkLike(op, "lse", lse, dtype, b, h, t);
        if (mask != null) checkLike(op, "mask", mask, dtype, b, t);
        if (dq.numel() == 0) return;

        Tensor dqC = target(dq), dkC = target(dk), dvC = target(dv);
        Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
        Tensor mc = mask == null ? null : mask.contiguous();
        Tensor doutC = dout.contiguous(), outC = out.contiguous(), lseC = lse.contiguous();
        if (dtype == DType.F32) {
            new F32(shape, qc, kc, vc, mc, (float) scale).backward(dqC, dkC, dvC, doutC, outC, lseC);
        } else {
            new F64(shape, qc, kc, vc, mc, scale).backward(dqC, dkC, dvC, doutC, outC, lseC);
        }
        writeBack(dq, dqC);
        writeBack(dk, dkC);
        writeBack(dv, dvC);
    }

    // =====================================================================================================
    // checks and plumbing
    // =====================================================================================================

    private static int[] checkQkv(String op, Tensor q, Tensor k, Tensor v) {
        if (q.dtype() != DType.F32 && q.dtype() != DType.F64) {
            throw new IllegalArgumentException(op + ": expected F32 or F64 q, found " + q.dtype());
        }
        if (q.dim() != 4) {
            throw new IllegalArgumentException(op + ": expected q of shape [B, H, T, D], found "
                    + Shapes.str(q.shape()));
        }
        checkLike(op, "q", q, q.dtype(), q.shape());
        checkLike(op, "k", k, q.dtype(), q.shape());
        checkLike(op, "v", v, q.dtype(), q.shape());
        return q.shape();
    }

    private static void checkLike(String op, String name, Tensor t, DType dtype, int... shape) {
        if (t == null) throw new NullPointerException(op + ": " + name + " is null");
        if (!t.device().isCpu()) {
            throw new IllegalArgumentException(op + ": " + name + " must be on the CPU, found " + t.device());
        }
        if (t.dtype() != dtype) {
            throw new IllegalArgumentException(op + ": expected " + name + " of dtype " + dtype + " (as q), found "
                    + t.dtype());
        }
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(op + ": expected " + name + " of shape " + Shapes.str(shape)
                    + ", found " + Shapes.str(t.shape()));
        }
    }

    /** Where to write an output: itself when contiguous, else a contiguous stand-in copied back afterwards. */
    private static Tensor target(Tensor t) {
        return t.isContiguous() ? t : Tensor.empty(t.dtype(), t.shape());
    }

    private static void writeBack(Tensor dst, Tensor written) {
        if (dst != written) dst.backend().copy(dst, written);
    }

    private static float[] floats(Tensor t) {
        return ((CpuStorage) t.storage()).floats();
    }

    private static double[] doubles(Tensor t) {
        return ((CpuStorage) t.storage()).doubles();
    }

    /** Runs {@code tasks} independent tasks, each on one worker, or all on the caller when the job is small. */
    private static void forEachTask(int tasks, long costPerTask, Parallel.RangeBody body) {
        if (Parallel.threads() == 1 || (long) tasks * costPerTask < Parallel.SERIAL_GRAIN) {
            body.run(0, tasks);
        } else {
            Parallel.forEachTask(tasks, body);
        }
    }

    // =====================================================================================================
    // F32: blocked
    // =====================================================================================================

    /** One worker's tiles; reused across tasks, and every region read is written first. */
    private static final class Scratch {
        final float[] s = new float[BQ * BK];   // [BQ, BK] scores, then probabilities
        final float[] dps = new float[BQ * BK]; // [BQ, BK] dP, then dS
        final float[] mb = new float[BK];       // the key block's additive mask, -inf where masked or past T
        boolean mbZero;                         // mb is all zeros: nothing to add
        final float[] rowMax = new float[BQ], rowSum = new float[BQ];
        final float[] lanes = new float[AttentionKernels.get().lanes()];

        private static final ThreadLocal<Scratch> LOCAL = ThreadLocal.withInitial(Scratch::new);

        static Scratch get() {
            return LOCAL.get();
        }
    }

    private static final class F32 {
        final AttentionKernels kern = AttentionKernels.get();
        final int nb, nh, nt, nd, tp, nQB, nKB;
        final float scale;
        final float[] q, k, v, mask;
        final int qo, ko, vo, mo;
        /** scale * k transposed, [B*H, D, Tp] with Tp = T rounded up to BK plus 16, zero past T. */
        float[] kt;

        F32(int[] shape, Tensor q, Tensor k, Tensor v, Tensor mask, float scale) {
            nb = shape[0];
            nh = shape[1];
            nt = shape[2];
            nd = shape[3];
            nQB = (nt + BQ - 1) / BQ;
            nKB = (nt + BK - 1) / BK;
            // One extra cache line per row, so that the rows of a block (a power of two apart when T is) do not
            // all fall into the same L1 sets.
            tp = nKB * BK + 16;
            this.scale = scale;
            this.q = floats(q);
            this.k = floats(k);
            this.v = floats(v);
            this.mask = mask == null ? null : floats(mask);
            qo = q.offset();
            ko = k.offset();
            vo = v.offset();
            mo = mask == null ? 0 : mask.offset();
        }

        /** Rough multiply-adds of one block task, for the serial cut-off. */
        private long taskCost() {
            return (long) BQ * Math.min(nt, 4 * BK) * nd;
        }

        /** dst[bh, d, j] = s * x[bh, j, d] for j < T, 0 for T <= j < Tp. */
        private void transposeHead(float[] dst, float[] x, int xo, int bh, float s) {
            int src = xo + bh * nt * nd, base = bh * nd * tp;
            for (int j = 0; j < nt; j++) {
                for (int d = 0; d < nd; d++) dst[base + d * tp + j] = s * x[src + j * nd + d];
            }
            for (int d = 0; d < nd; d++) Arrays.fill(dst, base + d * tp + nt, base + d * tp + tp, 0f);
        }

        // ---- forward ----

        void forward(Tensor outT, Tensor lseT) {
            float[] out = floats(outT), lse = floats(lseT);
            int oo = outT.offset(), lo = lseT.offset();
            int bh = nb * nh;
            kt = new float[bh * nd * tp];
            forEachTask(bh, (long) nt * nd, (from, to) -> {
                for (int h = from; h < to; h++) transposeHead(kt, k, ko, h, scale);
            });
            // Heaviest (last) query blocks first.
            forEachTask(bh * nQB, taskCost(), (from, to) -> {
                Scratch w = Scratch.get();
                for (int task = from; task < to; task++) {
                    forwardBlock(w, task % bh, nQB - 1 - task / bh, out, oo, lse, lo);
                }
            });
        }

        /** Query rows [i0, i0 + BQ) of one head; the output rows themselves hold the running sum of P V. */
        private void forwardBlock(Scratch w, int bh, int qb, float[] out, int oo, float[] lse, int lo) {
            int b = bh / nh;
            int head = bh * nt * nd;
            int i0 = qb * BQ, mq = Math.min(BQ, nt - i0);
            int last = i0 + mq - 1;
            int acc = oo + head + i0 * nd; // [mq, D]
            float[] s = w.s, rowMax = w.rowMax, rowSum = w.rowSum;
            Arrays.fill(out, acc, acc + mq * nd, 0f);
            Arrays.fill(rowMax, 0, mq, NEG_INF);
            Arrays.fill(rowSum, 0, mq, 0f);

            for (int j0 = 0; j0 <= last; j0 += BK) {
                int nk = Math.min(BK, nt - j0);
                if (!maskBlock(w, b, j0, nk)) continue;
                // S = Q (scale K^T) over the whole padded block; columns past T are masked below.
                kern.gemm(mq, BK, nd, q, qo + head + i0 * nd, nd, 1, kt, bh * nd * tp + j0, tp, s, 0, BK, false);
                for (int r = 0; r < mq; r++) {
                    int so = r * BK;
                    maskRow(w, s, so, i0 + r - j0);
                    float mOld = rowMax[r];
                    float mNew = Math.max(mOld, kern.max(s, so, BK));
                    if (mNew == NEG_INF) { // nothing allowed yet in this row
                        Arrays.fill(s, so, so + BK, 0f);
                        continue;
                    }
                    float sum = kern.expSubSum(s, so, BK, mNew, w.lanes);
                    if (mNew != mOld) {
                        // m' = max(m, rowmax); l = l e^(m - m') + sum; acc = acc e^(m - m') + P V
                        float alpha = (float) Math.exp(mOld - mNew);
                        rowSum[r] *= alpha;
                        kern.scale(out, acc + r * nd, nd, alpha);
                        rowMax[r] = mNew;
                    }
                    rowSum[r] += sum;
                }
                // Keys past the block's last query are masked for every row: leave them out of P V.
                int used = Math.min(nk, last - j0 + 1);
                kern.gemm(mq, nd, used, s, 0, BK, 1, v, vo + head + j0 * nd, nd, out, acc, nd, true);
            }

            for (int r = 0; r < mq; r++) {
                int row = acc + r * nd, l = lo + bh * nt + i0 + r;
                if (rowMax[r] == NEG_INF) { // every allowed key masked: out = 0 (already), lse = -inf
                    lse[l] = NEG_INF;
                } else {
                    kern.scale(out, row, nd, 1f / rowSum[r]);
                    lse[l] = rowMax[r] + (float) Math.log(rowSum[r]);
                }
            }
        }

        // ---- backward ----

        /** The backward's tensors: inputs read, gradient outputs written (all contiguous). */
        private static final class Grads {
            final float[] dq, dk, dv, dout, out, lse;
            final int dqo, dko, dvo, doo, oo, lo;
            float[] vt;   // v transposed, [B*H, D, Tp], zero past T
            float[] rowD; // D_i = dout_i.out_i, [B*H, T]

            Grads(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor out, Tensor lse) {
                this.dq = floats(dq);
                this.dk = floats(dk);
                this.dv = floats(dv);
                this.dout = floats(dout);
                this.out = floats(out);
                this.lse = floats(lse);
                dqo = dq.offset();
                dko = dk.offset();
                dvo = dv.offset();
                doo = dout.offset();
                oo = out.offset();
                lo = lse.offset();
            }
        }

        void backward(Tensor dqT, Tensor dkT, Tensor dvT, Tensor doutT, Tensor outT, Tensor lseT) {
            Grads g = new Grads(dqT, dkT, dvT, doutT, outT, lseT);
            int bh = nb * nh;
            kt = new float[bh * nd * tp];
            g.vt = new float[bh * nd * tp];
            g.rowD = new float[bh * nt];
            forEachTask(bh, 3L * nt * nd, (from, to) -> {
                for (int h = from; h < to; h++) {
                    transposeHead(kt, k, ko, h, scale);
                    transposeHead(g.vt, v, vo, h, 1f);
                    for (int i = 0; i < nt; i++) {
                        int row = h * nt * nd + i * nd;
                        float dot = 0f;
                        for (int d = 0; d < nd; d++) dot += g.dout[g.doo + row + d] * g.out[g.oo + row + d];
                        g.rowD[h * nt + i] = dot;
                    }
                }
            });
            int threads = Parallel.threads();
            int rounds = (bh + threads - 1) / threads;
            if (4 * bh >= 3 * rounds * threads) {
                // Enough heads to keep the workers at least 3/4 busy: one task per head, one pass.
                forEachTask(bh, 5L * nt * nt * nd / 2, (from, to) -> {
                    Scratch w = Scratch.get();
                    for (int h = from; h < to; h++) {
                        int dqHead = g.dqo + h * nt * nd;
                        Arrays.fill(g.dq, dqHead, dqHead + nt * nd, 0f);
                        for (int kb = 0; kb < nKB; kb++) keyBlockGrads(w, g, h, kb, true);
                        kern.scale(g.dq, dqHead, nt * nd, scale);
                    }
                });
                return;
            }
            int keyTasks = bh * nKB;
            // Key-block tasks (dk, dv), heaviest (first) blocks first; then query-block tasks (dq), heaviest last.
            forEachTask(keyTasks + bh * nQB, 2 * taskCost(), (from, to) -> {
                Scratch w = Scratch.get();
                for (int task = from; task < to; task++) {
                    if (task < keyTasks) {
                        keyBlockGrads(w, g, task % bh, task / bh, false);
                    } else {
                        int u = task - keyTasks;
                        queryBlockGrads(w, g, u % bh, nQB - 1 - u / bh);
                    }
                }
            });
        }

        /**
         * dk and dv of keys [j0, j0 + BK) of one head: sums over the query blocks that can see them. With
         * {@code withDq} it also adds this key block's share to the (unscaled) dq rows of those query blocks, by
         * the very calls {@link #queryBlockGrads} makes, so that both schemes give bitwise equal results.
         */
        private void keyBlockGrads(Scratch w, Grads g, int bh, int kb, boolean withDq) {
            int b = bh / nh;
            int head = bh * nt * nd;
            int j0 = kb * BK, nk = Math.min(BK, nt - j0);
            int dkRows = g.dko + head + j0 * nd, dvRows = g.dvo + head + j0 * nd; // [nk, D]
            Arrays.fill(g.dk, dkRows, dkRows + nk * nd, 0f);
            Arrays.fill(g.dv, dvRows, dvRows + nk * nd, 0f);
            if (!maskBlock(w, b, j0, nk)) return;
            for (int i0 = j0 / BQ * BQ; i0 < nt; i0 += BQ) {
                int mq = Math.min(BQ, nt - i0);
                probabilitiesAndScoreGrads(w, g, bh, i0, mq, j0);
                // dV += P^T dO;  dK += dS^T Q   (times scale below)
                kern.gemm(nk, nd, mq, w.s, 0, 1, BK, g.dout, g.doo + head + i0 * nd, nd, g.dv, dvRows, nd, true);
                kern.gemm(nk, nd, mq, w.dps, 0, 1, BK, q, qo + head + i0 * nd, nd, g.dk, dkRows, nd, true);
                if (withDq) {
                    int used = Math.min(nk, i0 + mq - j0);
                    kern.gemm(mq, nd, used, w.dps, 0, BK, 1, k, ko + head + j0 * nd, nd,
                            g.dq, g.dqo + head + i0 * nd, nd, true);
                }
            }
            kern.scale(g.dk, dkRows, nk * nd, scale);
        }

        /** dq of queries [i0, i0 + BQ) of one head: sums over the key blocks they can see. */
        private void queryBlockGrads(Scratch w, Grads g, int bh, int qb) {
            int b = bh / nh;
            int head = bh * nt * nd;
            int i0 = qb * BQ, mq = Math.min(BQ, nt - i0);
            int last = i0 + mq - 1;
            int dqRows = g.dqo + head + i0 * nd; // [mq, D]
            Arrays.fill(g.dq, dqRows, dqRows + mq * nd, 0f);
            for (int j0 = 0; j0 <= last; j0 += BK) {
                int nk = Math.min(BK, nt - j0);
                if (!maskBlock(w, b, j0, nk)) continue;
                probabilitiesAndScoreGrads(w, g, bh, i0, mq, j0);
                // dQ += dS K   (times scale below)
                int used = Math.min(nk, last - j0 + 1);
                kern.gemm(mq, nd, used, w.dps, 0, BK, 1, k, ko + head + j0 * nd, nd, g.dq, dqRows, nd, true);
            }
            kern.scale(g.dq, dqRows, mq * nd, scale);
        }

        /**
         * Query rows [i0, i0 + mq) against the key block at j0 (its mask in w.mb): w.s = P = exp(scale q.k + mask
         * - lse) and w.dps = dS = P (dout.v - D), both [mq, BK].
         */
        private void probabilitiesAndScoreGrads(Scratch w, Grads g, int bh, int i0, int mq, int j0) {
            float[] s = w.s, dps = w.dps;
            int rows = bh * nt * nd + i0 * nd;
            kern.gemm(mq, BK, nd, q, qo + rows, nd, 1, kt, bh * nd * tp + j0, tp, s, 0, BK, false);
            kern.gemm(mq, BK, nd, g.dout, g.doo + rows, nd, 1, g.vt, bh * nd * tp + j0, tp, dps, 0, BK, false);
            for (int r = 0; r < mq; r++) {
                int so = r * BK;
                float lseI = g.lse[g.lo + bh * nt + i0 + r];
                if (lseI == NEG_INF) { // a fully masked row: no probability anywhere
                    Arrays.fill(s, so, so + BK, 0f);
                    Arrays.fill(dps, so, so + BK, 0f);
                    continue;
                }
                maskRow(w, s, so, i0 + r - j0);
                kern.expSub(s, so, BK, lseI);
                kern.softmaxGrad(s, so, dps, so, BK, g.rowD[bh * nt + i0 + r]);
            }
        }

        // ---- masking ----

        /**
         * w.mb[c] = the additive mask of key j0 + c, -inf where it is masked or past T. Returns false when every
         * key of the block is masked, so that the block can be skipped.
         */
        private boolean maskBlock(Scratch w, int b, int j0, int nk) {
            float[] mb = w.mb;
            boolean any = false, zero = true;
            for (int c = 0; c < BK; c++) {
                float m;
                if (c >= nk) m = NEG_INF;
                else if (mask == null) m = 0f;
                else {
                    m = mask[mo + b * nt + j0 + c];
                    if (m <= MASKED) m = NEG_INF;
                }
                mb[c] = m;
                any |= m != NEG_INF;
                zero &= m == 0f;
            }
            w.mbZero = zero;
            return any;
        }

        /** Adds the key mask to one score row and masks the keys after the query (c > diag, diag = i - j0). */
        private void maskRow(Scratch w, float[] s, int so, int diag) {
            if (!w.mbZero) kern.add(w.mb, 0, s, so, BK);
            if (diag < BK - 1) Arrays.fill(s, so + Math.max(0, diag + 1), so + BK, NEG_INF);
        }
    }

    // =====================================================================================================
    // F64: plain loops, one query row at a time (for gradient checks)
    // =====================================================================================================

    private static final class F64 {
        final int nb, nh, nt, nd;
        final double scale;
        final double[] q, k, v, mask;
        final int qo, ko, vo, mo;

        F64(int[] shape, Tensor q, Tensor k, Tensor v, Tensor mask, double scale) {
            nb = shape[0];
            nh = shape[1];
            nt = shape[2];
            nd = shape[3];
            this.scale = scale;
            this.q = doubles(q);
            this.k = doubles(k);
            this.v = doubles(v);
            this.mask = mask == null ? null : doubles(mask);
            qo = q.offset();
            ko = k.offset();
            vo = v.offset();
            mo = mask == null ? 0 : mask.offset();
        }

        /** The additive mask of key j in batch b; -inf when masked. */
        private double maskAt(int b, int j) {
            if (mask == null) return 0;
            double m = mask[mo + b * nt + j];
            return m <= MASKED ? Double.NEGATIVE_INFINITY : m;
        }

        private double dot(double[] x, int xo, double[] y, int yo) {
            double sum = 0;
            for (int d = 0; d < nd; d++) sum += x[xo + d] * y[yo + d];
            return sum;
        }

        void forward(Tensor outT, Tensor lseT) {
            double[] out = doubles(outT), lse = doubles(lseT);
            int oo = outT.offset(), lo = lseT.offset();
            Parallel.forRange(nb * nh, (long) nt * nt * nd, (from, to) -> {
                double[] p = new double[nt];
                for (int bh = from; bh < to; bh++) {
                    int b = bh / nh, head = bh * nt * nd;
                    for (int i = 0; i < nt; i++) {
                        int qi = qo + head + i * nd, o = oo + head + i * nd;
                        double max = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j <= i; j++) {
                            double m = maskAt(b, j);
                            p[j] = m == Double.NEGATIVE_INFINITY ? m : scale * dot(q, qi, k, ko + head + j * nd) + m;
                            max = Math.max(max, p[j]);
                        }
                        Arrays.fill(out, o, o + nd, 0);
                        if (max == Double.NEGATIVE_INFINITY) {
                            lse[lo + bh * nt + i] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double sum = 0;
                        for (int j = 0; j <= i; j++) {
                            p[j] = Math.exp(p[j] - max);
                            sum += p[j];
                        }
                        for (int j = 0; j <= i; j++) {
                            double pj = p[j] / sum;
                            if (pj == 0) continue;
                            int vj = vo + head + j * nd;
                            for (int d = 0; d < nd; d++) out[o + d] += pj * v[vj + d];
                        }
                        lse[lo + bh * nt + i] = max + Math.log(sum);
                    }
                }
            });
        }

        void backward(Tensor dqT, Tensor dkT, Tensor dvT, Tensor doutT, Tensor outT, Tensor lseT) {
            double[] dq = doubles(dqT), dk = doubles(dkT), dv = doubles(dvT);
            double[] dout = doubles(doutT), out = doubles(outT), lse = doubles(lseT);
            int dqo = dqT.offset(), dko = dkT.offset(), dvo = dvT.offset();
            int doo = doutT.offset(), oo = outT.offset(), lo = lseT.offset();
            // One task per head: it owns that head's rows of dq, dk and dv, and sums in a fixed order.
            Parallel.forRange(nb * nh, 2L * nt * nt * nd, (from, to) -> {
                for (int bh = from; bh < to; bh++) {
                    int b = bh / nh, head = bh * nt * nd;
                    Arrays.fill(dq, dqo + head, dqo + head + nt * nd, 0);
                    Arrays.fill(dk, dko + head, dko + head + nt * nd, 0);
                    Arrays.fill(dv, dvo + head, dvo + head + nt * nd, 0);
                    for (int i = 0; i < nt; i++) {
                        double lseI = lse[lo + bh * nt + i];
                        if (lseI == Double.NEGATIVE_INFINITY) continue;
                        int row = head + i * nd;
                        double di = dot(dout, doo + row, out, oo + row);
                        for (int j = 0; j <= i; j++) {
                            double m = maskAt(b, j);
                            if (m == Double.NEGATIVE_INFINITY) continue;
                            int col = head + j * nd;
                            double p = Math.exp(scale * dot(q, qo + row, k, ko + col) + m - lseI);
                            double ds = p * (dot(dout, doo + row, v, vo + col) - di);
                            for (int d = 0; d < nd; d++) {
                                dq[dqo + row + d] += scale * ds * k[ko + col + d];
                                dk[dko + col + d] += scale * ds * q[qo + row + d];
                                dv[dvo + col + d] += p * dout[doo + row + d];
                            }
                        }
                    }
                }
            });
        }
    }
}
