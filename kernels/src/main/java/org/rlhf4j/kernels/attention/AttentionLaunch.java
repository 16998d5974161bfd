package org.rlhf4j.kernels.attention;

import java.util.ArrayList;
import java.util.List;
import org.rlhf4j.kernels.CudaContext;
import org.rlhf4j.kernels.KernelArgs;

/**
 * One launch of an attention kernel: the PTX entry, the grid and block, and the parameters by the names and types
 * of the entry's {@code .param} list (so a test can compare them with the PTX without a GPU). Addresses are
 * device addresses (0 for an absent lse or mask).
 */
record AttentionLaunch(String ptx, String entry, int gridX, int gridY, int block, List<Param> params) {
    /** A kernel parameter: its PTX name, its PTX type (u64, u32 or f32), and its value. */
    record Param(String name, String type, Number value) {}

    /** CUDA's limit on gridDim.y, which counts (b, h) pairs here. */
    static final int MAX_GRID_Y = 65535;

    AttentionLaunch {
        if (gridY > MAX_GRID_Y) {
            throw new IllegalArgumentException(entry + ": B * H = " + gridY + " exceeds the " + MAX_GRID_Y
                    + " (batch, head) pairs one launch can cover");
        }
        params = List.copyOf(params);
    }

    static final String F32_PTX = "attention_f32.ptx", BF16_PTX = "attention_bf16.ptx";
    /** Rows (queries or keys) per block: F32 forward, F32 backward passes, every BF16 kernel. */
    static final int F32_ROWS = 16, F32_BWD_ROWS = 8, BF16_ROWS = 64;

    void run(CudaContext context) {
        KernelArgs args = KernelArgs.create();
        for (Param p : params) {
            switch (p.type) {
                case "u64" -> args.ptr(p.value.longValue());
                case "u32" -> args.i32(p.value.intValue());
                default -> args.f32(p.value.floatValue());
            }
        }
        context.kernel(ptx, entry).launch(gridX, gridY, 1, block, 1, 1, 0, args);
    }

    private static final class Builder {
        final List<Param> params = new ArrayList<>();

        Builder ptr(String name, long address) {
            params.add(new Param(name, "u64", address));
            return this;
        }

        Builder u32(String name, int v) {
            params.add(new Param(name, "u32", v));
            return this;
        }

        Builder f32(String name, float v) {
            params.add(new Param(name, "f32", v));
            return this;
        }
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    /**
     * Forward, F32 or BF16 (BF16 takes no D: one entry per head dim). k and v by element strides (kvSb, kvSh,
     * kvSt); the mask by its row stride.
     */
    static AttentionLaunch forward(boolean bf16, long out, long lse, long q, long k, long v, long mask, int heads,
                                   int tq, int tk, int d, int kvSb, int kvSh, int kvSt, int maskSb, int bh,
                                   float scaleLog2e) {
        Builder b = new Builder().ptr("p_out", out).ptr("p_lse", lse).ptr("p_q", q).ptr("p_k", k).ptr("p_v", v)
                .ptr("p_mask", mask).u32("p_heads", heads).u32("p_tq", tq).u32("p_tk", tk);
        if (!bf16) b.u32("p_d", d);
        b.u32("p_kv_sb", kvSb).u32("p_kv_sh", kvSh).u32("p_kv_st", kvSt).u32("p_mask_sb", maskSb)
                .f32("p_scale_log2e", scaleLog2e);
        return bf16
                ? new AttentionLaunch(BF16_PTX, "attention_fwd_bf16_d" + d, ceilDiv(tq, BF16_ROWS), bh, 128, b.params)
                : new AttentionLaunch(F32_PTX, "attention_fwd_f32", ceilDiv(tq, F32_ROWS), bh, 32 * F32_ROWS, b.params);
    }

    /**
     * Decoding in F32: one query per (b, h) against tk cached keys, a block per (b, h) whose 8 warps split the
     * keys. k and v by element strides (all multiples of 4, rows 16-byte aligned).
     */
    static AttentionLaunch decode(long out, long lse, long q, long k, long v, long mask, int heads, int tk, int d,
                                  int kvSb, int kvSh, int kvSt, int maskSb, int bh, float scaleLog2e) {
        Builder b = new Builder().ptr("p_out", out).ptr("p_lse", lse).ptr("p_q", q).ptr("p_k", k).ptr("p_v", v)
                .ptr("p_mask", mask).u32("p_heads", heads).u32("p_tk", tk).u32("p_d", d).u32("p_kv_sb", kvSb)
                .u32("p_kv_sh", kvSh).u32("p_kv_st", kvSt).u32("p_mask_sb", maskSb).f32("p_scale_log2e", scaleLog2e);
        return new AttentionLaunch(F32_PTX, "attention_decode_f32", bh, 1, 256, b.params);
    }

    /** Backward pass 1: rowdot_i = dout_i . out_i over rows = B H T rows. */
    static AttentionLaunch rowDot(boolean bf16, long rowdot, long dout, long out, int rows, int d) {
        Builder b = new Builder().ptr("p_rowdot", rowdot).ptr("p_dout", dout).ptr("p_out", out).u32("p_rows", rows)
                .u32("p_d", d);
        return new AttentionLaunch(bf16 ? BF16_PTX : F32_PTX, bf16 ? "attention_bwd_dot_bf16" : "attention_bwd_dot_f32",
                ceilDiv(rows, 8), 1, 256, b.params);
    }

    /** Backward pass 2 (dk, dv) or 3 (dq); outputs are the first one or two addresses. */
    static AttentionLaunch gradients(boolean bf16, boolean keys, long[] outputs, long q, long k, long v, long dout,
                                     long lse, long rowdot, long mask, int heads, int t, int d, int maskSb, int bh,
                                     float scaleLog2e, float scale) {
        Builder b = new Builder();
        if (keys) b.ptr("p_dk", outputs[0]).ptr("p_dv", outputs[1]);
        else b.ptr("p_dq", outputs[0]);
        b.ptr("p_q", q).ptr("p_k", k).ptr("p_v", v).ptr("p_dout", dout).ptr("p_lse", lse).ptr("p_rowdot", rowdot)
                .ptr("p_mask", mask).u32("p_heads", heads).u32("p_t", t);
        if (!bf16) b.u32("p_d", d);
        b.u32("p_mask_sb", maskSb).f32("p_scale_log2e", scaleLog2e).f32("p_scale", scale);
        String pass = keys ? "dkdv" : "dq";
        return bf16
                ? new AttentionLaunch(BF16_PTX, "attention_bwd_" + pass + "_bf16_d" + d, ceilDiv(t, BF16_ROWS), bh, 128,
                        b.params)
                : new AttentionLaunch(F32_PTX, "attention_bwd_" + pass + "_f32", ceilDiv(t, F32_BWD_ROWS), bh,
                        32 * F32_BWD_ROWS, b.params);
    }
}
