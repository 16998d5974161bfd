package org.rlhf4j.kernels.attention;

import java.util.Arrays;
import org.rlhf4j.kernels.CudaContext;
import org.rlhf4j.kernels.CudaScope;
import org.rlhf4j.kernels.DeviceBuffer;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Shapes;
import org.rlhf4j.tensor.Tensor;

/**
 * Causal flash-style attention on the GPU, forward and backward: the twin of {@code CpuAttention}, with the same
 * semantics (a mask value at or below -1e9 masks its key outright; a query row that sees no key gets out = 0,
 * lse = -inf and zero gradients). {@code CudaBackend} delegates {@code attention} and {@code attentionBackward}
 * here. Kernels: {@code attention_f32.ptx} (F32, scalar fma: the exactness path) and {@code attention_bf16.ptx}
 * (BF16 inputs on the tensor cores with F32 accumulation, D = 64 or 128). Both have a forward and a backward in
 * three passes (rowdot, dK/dV, dQ) with no atomics, so results are the same bits on every run.
 *
 * <p>BF16 with another head dim (16 or 32 in small mixed-precision models) keeps the BF16 contract through the
 * F32 kernels: the BF16 inputs (q, k, v; dout and out in the backward) are widened to F32 copies (exact), the F32
 * kernels run on them, and each BF16 output (out; dq, dk, dv) is rounded once from its F32 result; lse is
 * computed in F32 and written as the caller's lse dtype (F32 or BF16).
 *
 * <p>Shapes: {@code B} batch, {@code H} heads, {@code T} time, {@code D} head dim; q, k, v, out [B, H, T, D],
 * lse [B, H, T], mask null or additive [B, T].
 *
 * <p>{@link #attentionCached} is the decoding form: the t newest queries against a KV cache of Tk keys, read in
 * place through its strides ({@code KvCache}'s [B, H, maxLen, D] narrowed to Tk).
 */
public final class CudaAttention {
    static final double LOG2E = 1.4426950408889634;

    private final CudaContext context;

    public CudaAttention(CudaContext context) {
        this.context = context;
    }

    /** The context (device, stream, allocator, modules) these kernels run on. */
    public CudaContext context() {
        return context;
    }

    // =====================================================================================================
    // forward
    // =====================================================================================================

    /**
     * {@code out[b,h,i,:] = sum_{j<=i} softmax_j(scale q_i.k_j + mask[b,j]) v_j}; lse is the natural-log
     * logsumexp of each row. F32 q, k, v, out, lse, mask; or BF16 q, k, v, out with lse F32 or BF16 and mask F32
     * or BF16 (D = 64 or 128 on the tensor cores; other D, up to 128 and a multiple of 4, through F32 copies and
     * the F32 kernels, out rounded once to BF16).
     */
    public void attention(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, Tensor mask, double scale) {
        final String op = "attention";
        int[] shape = checkQkv(op, q, k, v);
        int b = shape[0], h = shape[1], t = shape[2];
        checkLike(op, "out", out, q.dtype(), shape);
        checkLse(op, lse, q.dtype(), b, h, t);
        if (mask != null) checkMask(op, mask, q.dtype(), b, t);
        forward(op, out, lse, q, k, v, mask, scale);
    }

    /**
     * Attention of the t newest queries against a KV cache: q, out [B, H, t, D] are the queries at positions
     * Tk - t .. Tk - 1; keys and values [B, H, Tk, D] may be views with any strides over B, H and T (the last
     * dimension contiguous), e.g. the cache narrowed to the Tk tokens seen so far; mask null or additive
     * [B, Tk] (a view is fine). Query i sees keys j <= Tk - t + i. lse [B, H, t] may be null.
     */
    public void attentionCached(Tensor out, Tensor lse, Tensor q, Tensor keys, Tensor values, Tensor mask,
                                double scale) {
        final String op = "attentionCached";
        if (q.dim() != 4) throw new IllegalArgumentException(op + ": expected q of shape [B, H, t, D], found "
                + Shapes.str(q.shape()));
        int b = q.size(0), h = q.size(1), t = q.size(2), d = q.size(3);
        if (keys.dim() != 4 || keys.size(0) != b || keys.size(1) != h || keys.size(3) != d || keys.size(2) < t) {
            throw new IllegalArgumentException(op + ": expected keys of shape [" + b + ", " + h + ", Tk >= " + t
                    + ", " + d + "], found " + Shapes.str(keys.shape()));
        }
        int tk = keys.size(2);
        checkLike(op, "values", values, q.dtype(), keys.shape());
        checkLike(op, "keys", keys, q.dtype(), keys.shape());
        checkLike(op, "out", out, q.dtype(), q.shape());
        if (lse != null) checkLse(op, lse, q.dtype(), b, h, t);
        if (mask != null) checkMask(op, mask, q.dtype(), b, tk);
        forward(op, out, lse, q, keys, values, mask, scale);
    }

    private void forward(String op, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, Tensor mask,
                         double scale) {
        int b = q.size(0), h = q.size(1), tq = q.size(2), d = q.size(3), tk = k.size(2);
        if (out.numel() == 0) return;
        boolean bf16 = q.dtype() == DType.BF16, tensorCores = bf16 && tensorCoreHeadDim(d);
        checkHeadDim(op, d);
        // temporaries (contiguous copies, conversions) go back to the allocator when the launches are enqueued
        try (CudaScope temporaries = CudaScope.open()) {
            if (bf16 && !tensorCores) {
                // BF16 at a head dim without a tensor-core kernel: exact F32 copies, the F32 kernels, one rounding
                Tensor out32 = Tensor.empty(DType.F32, out.device(), out.shape());
                forwardLaunch(out32, lse, q.to(DType.F32), k.to(DType.F32), v.to(DType.F32), mask, scale, b, h, tq, d,
                        tk, false);
                out.backend().copy(out, out32);
            } else {
                forwardLaunch(out, lse, q, k, v, mask, scale, b, h, tq, d, tk, bf16);
            }
        }
    }

    /** The head dims of the BF16 tensor-core kernels; BF16 at any other goes through the F32 kernels. */
    static boolean tensorCoreHeadDim(int d) {
        return d == 64 || d == 128;
    }

    private void forwardLaunch(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, Tensor mask, double scale,
                               int b, int h, int tq, int d, int tk, boolean bf16) {
        Tensor qc = bf16 ? aligned(q) : q.contiguous();
        Tensor[] kv = keysAndValues(k, v, bf16 || tq == 1);
        Tensor kc = kv[0], vc = kv[1];
        Tensor mc = maskF32(mask);
        Tensor outC = bf16 ? alignedTarget(out) : target(out);
        Tensor lseC = lse == null ? null
                : lse.isContiguous() && lse.dtype() == DType.F32 ? lse
                : Tensor.empty(DType.F32, lse.device(), lse.shape());
        int[] ks = kc.strides();
        float scaleLog2e = (float) (scale * LOG2E);
        if (!bf16 && tq == 1) {
            // one query per sequence (a decoding step): the keys split over the block's warps
            AttentionLaunch.decode(address(outC), lseC == null ? 0L : address(lseC), address(qc), address(kc),
                    address(vc), mc == null ? 0L : address(mc), h, tk, d, ks[0], ks[1], ks[2],
                    mc == null ? 0 : mc.stride(0), b * h, scaleLog2e).run(context);
        } else {
            AttentionLaunch.forward(bf16, address(outC), lseC == null ? 0L : address(lseC), address(qc), address(kc),
                address(vc), mc == null ? 0L : address(mc), h, tq, tk, d, ks[0], ks[1], ks[2],
                    mc == null ? 0 : mc.stride(0), b * h, scaleLog2e).run(context);
        }
        if (outC != out) out.backend().copy(out, outC);
        if (lse != null && lseC != lse) lse.backend().copy(lse, lseC);
    }

    // =====================================================================================================
    // backward
    // =====================================================================================================

    /**
     * The backward of {@link #attention} (F32, or BF16 with lse in F32 or BF16; BF16 at a head dim other than 64
     * or 128 runs the F32 passes on F32 copies of dout, q, k, v, out and lse and rounds dq, dk and dv once to
     * BF16). dq, dk and dv are overwritten:
     * <pre>
     *   P_ij  = exp(scale q_i.k_j + mask_j - lse_i)      D_i = dout_i.out_i
     *   dS_ij = P_ij (dout_i.v_j - D_i)
     *   dq_i  = scale sum_j dS_ij k_j    dk_j = scale sum_i dS_ij q_i    dv_j = sum_i P_ij dout_i
     * </pre>
     * Three passes: D (a warp per row), dk and dv (a block per 8 keys, looping over the query tiles that see
     * them), dq (a block per 8 queries, looping over the key tiles they see). Each element is summed by one
     * thread in a fixed order: the same bits on every run.
     */
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v,
                                  Tensor out, Tensor lse, Tensor mask, double scale) {
        final String op = "attentionBackward";
        int[] shape = checkQkv(op, q, k, v);
        int b = shape[0], h = shape[1], t = shape[2], d = shape[3];
        boolean bf16 = q.dtype() == DType.BF16;
        for (String name : new String[] {"dq", "dk", "dv", "dout", "out"}) {
            Tensor x = switch (name) {
                case "dq" -> dq;
                case "dk" -> dk;
                case "dv" -> dv;
                case "dout" -> dout;
                default -> out;
            };
            checkLike(op, name, x, q.dtype(), shape);
        }
        checkLse(op, lse, q.dtype(), b, h, t);
        if (mask != null) checkMask(op, mask, q.dtype(), b, t);
        if (dq.numel() == 0) return;
        checkHeadDim(op, d);
        try (CudaScope temporaries = CudaScope.open()) {
            if (bf16 && tensorCoreHeadDim(d)) {
                backwardBf16(dq, dk, dv, dout, q, k, v, out, lse, mask, scale);
            } else if (bf16) {
                Tensor dq32 = Tensor.empty(DType.F32, dq.device(), dq.shape());
                Tensor dk32 = Tensor.empty(DType.F32, dk.device(), dk.shape());
                Tensor dv32 = Tensor.empty(DType.F32, dv.device(), dv.shape());
                backwardF32(dq32, dk32, dv32, dout.to(DType.F32), q.to(DType.F32), k.to(DType.F32), v.to(DType.F32),
                        out.to(DType.F32), lse.dtype() == DType.F32 ? lse : lse.to(DType.F32), mask, scale);
                copyBack(dq, dq32, dk, dk32, dv, dv32);
            } else {
                backwardF32(dq, dk, dv, dout, q, k, v, out, lse, mask, scale);
            }
        }
    }

    private void backwardF32(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v,
                             Tensor out, Tensor lse, Tensor mask, double scale) {
        Tensor dqC = target(dq), dkC = target(dk), dvC = target(dv);
        gradientPasses(false, dqC, dkC, dvC, dout.contiguous(), q.contiguous(), k.contiguous(), v.contiguous(),
                out.contiguous(), lse.contiguous(), maskF32(mask), scale);
        copyBack(dq, dqC, dk, dkC, dv, dvC);
    }

    /**
     * BF16 backward on the tensor cores (F32 accumulation, bf16 P and dS in the second products): rowdot, then
     * dK/dV (a block per 64 keys) and dQ (a block per 64 queries). lse is read in F32.
     */
    private void backwardBf16(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v,
                              Tensor out, Tensor lse, Tensor mask, double scale) {
        Tensor lseC = lse.dtype() == DType.F32 ? lse.contiguous() : lse.to(DType.F32);
        Tensor dqC = alignedTarget(dq), dkC = alignedTarget(dk), dvC = alignedTarget(dv);
        gradientPasses(true, dqC, dkC, dvC, aligned(dout), aligned(q), aligned(k), aligned(v), aligned(out), lseC,
                maskF32(mask), scale);
        copyBack(dq, dqC, dk, dkC, dv, dvC);
    }

    /** Pairs (destination, what was written): copies where a stand-in was written. */
    private static void copyBack(Tensor... pairs) {
        for (int i = 0; i < pairs.length; i += 2) {
            if (pairs[i] != pairs[i + 1]) pairs[i].backend().copy(pairs[i], pairs[i + 1]);
        }
    }

    /** The three passes on contiguous operands: rowdot into scratch, then dk/dv, then dq. */
    private void gradientPasses(boolean bf16, Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k,
                                Tensor v, Tensor out, Tensor lse, Tensor mask, double scale) {
        int b = q.size(0), h = q.size(1), t = q.size(2), d = q.size(3);
        int rows = b * h * t;
        long maskAddress = mask == null ? 0L : address(mask);
        int maskStride = mask == null ? 0 : mask.stride(0);
        float scaleLog2e = (float) (scale * LOG2E);
        try (DeviceBuffer rowdot = context.scratch(4L * rows)) {
            AttentionLaunch.rowDot(bf16, rowdot.address(), address(dout), address(out), rows, d).run(context);
            AttentionLaunch.gradients(bf16, true, new long[] {address(dk), address(dv)}, address(q), address(k),
                    address(v), address(dout), address(lse), rowdot.address(), maskAddress, h, t, d, maskStride,
                    b * h, scaleLog2e, (float) scale).run(context);
            AttentionLaunch.gradients(bf16, false, new long[] {address(dq)}, address(q), address(k), address(v),
                    address(dout), address(lse), rowdot.address(), maskAddress, h, t, d, maskStride, b * h,
                    scaleLog2e, (float) scale).run(context);
        }
    }

    // =====================================================================================================
    // checks and plumbing
    // =====================================================================================================

    private static long address(Tensor t) {
        return org.rlhf4j.kernels.Cuda.address(t);
    }

    /** t itself when contiguous with a 16-byte aligned start (cp.async reads 16-byte chunks), else a copy. */
    private static Tensor aligned(Tensor t) {
        return t.isContiguous() && address(t) % 16 == 0 ? t : contiguousCopy(t);
    }

    private static Tensor alignedTarget(Tensor t) {
        return t.isContiguous() && address(t) % 16 == 0 ? t : Tensor.empty(t.dtype(), t.device(), t.shape());
    }

    private static Tensor target(Tensor t) {
        return t.isContiguous() ? t : Tensor.empty(t.dtype(), t.device(), t.shape());
    }

    /**
     * k and v with the last dimension contiguous and the same strides; with {@code vectorRows} also with every
     * row starting on 16 bytes (the BF16 kernels' cp.async and the decoding kernel's 16-byte loads).
     */
    private static Tensor[] keysAndValues(Tensor k, Tensor v, boolean vectorRows) {
        boolean ok = k.stride(3) == 1 && Arrays.equals(k.strides(), v.strides());
        if (ok && vectorRows) {
            int perChunk = 16 / k.dtype().byteSize();
            ok = k.stride(2) % perChunk == 0 && k.stride(1) % perChunk == 0 && k.stride(0) % perChunk == 0
                    && address(k) % 16 == 0 && address(v) % 16 == 0;
        }
        // Sizes of 1 have meaningless strides; a contiguous copy also fixes those.
        if (ok) return new Tensor[] {k, v};
        return new Tensor[] {contiguousCopy(k), contiguousCopy(v)};
    }

    private static Tensor contiguousCopy(Tensor t) {
        Tensor c = Tensor.empty(t.dtype(), t.device(), t.shape());
        c.backend().copy(c, t);
        return c;
    }

    /** The mask as the kernels read it: F32 with a contiguous last dimension, or null. */
    private static Tensor maskF32(Tensor mask) {
        if (mask == null) return null;
        Tensor m = mask.dtype() == DType.F32 ? mask : mask.to(DType.F32);
        return m.stride(1) == 1 ? m : contiguousCopy(m);
    }

    /** Every head dim the F32 kernels take; BF16 adds nothing (64 and 128 are among them). */
    private static void checkHeadDim(String op, int d) {
        if (d > 128 || d % 4 != 0) {
            throw new UnsupportedOperationException("cuda: " + op + " supports head dims up to 128 that are a "
                    + "multiple of 4 (BF16: 64 and 128 on the tensor cores, the others through F32), found " + d);
        }
    }

    private static int[] checkQkv(String op, Tensor q, Tensor k, Tensor v) {
        if (q.dtype() != DType.F32 && q.dtype() != DType.BF16) {
            throw new IllegalArgumentException(op + ": expected F32 or BF16 q on the GPU, found " + q.dtype());
        }
        if (q.dim() != 4) {
            throw new IllegalArgumentException(op + ": expected q of shape [B, H, T, D], found "
                    + Shapes.str(q.shape()));
        }
        checkLike(op, "k", k, q.dtype(), q.shape());
        checkLike(op, "v", v, q.dtype(), q.shape());
        return q.shape();
    }

    private static void checkLike(String op, String name, Tensor t, DType dtype, int... shape) {
        if (t == null) throw new NullPointerException(op + ": " + name + " is null");
        if (t.device().isCpu()) {
            throw new IllegalArgumentException(op + ": " + name + " must be on a CUDA device, found " + t.device());
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

    /** lse has q's dtype, or F32 when q is BF16 (the backward wants it exact). */
    private static void checkLse(String op, Tensor lse, DType dtype, int... shape) {
        checkLike(op, "lse", lse, lse != null && dtype == DType.BF16 && lse.dtype() == DType.F32 ? DType.F32 : dtype,
                shape);
    }

    private static void checkMask(String op, Tensor mask, DType dtype, int... shape) {
        checkLike(op, "mask", mask, dtype == DType.BF16 && mask.dtype() == DType.F32 ? DType.F32 : dtype, shape);
    }
}
