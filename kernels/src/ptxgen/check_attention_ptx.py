#!/usr/bin/env python3
"""Runs the attention PTX kernels in the emulator (ptxemu.py) on small random inputs and checks them against a
NumPy F64 reference with CpuAttention's semantics (keys at or below -1e9 masked outright; rows that see no key:
out 0, lse -inf, zero gradients). A development check for machines without a GPU: it runs the real PTX text,
instruction by instruction, but on an emulator (see ptxemu.py for what that does and does not model).

    python3 kernels/src/ptxgen/check_attention_ptx.py [--quick | --ci]

--ci is the subset the normal build runs (AttentionPtxInterpreterTest); no flag runs every case (minutes).
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptxemu  # noqa: E402

PTX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "main", "resources", "org", "rlhf4j", "kernels",
                   "ptx")
LOG2E = 1.4426950408889634
FAILURES = []


def reference(q, k, v, mask, scale, past=0):
    """q [B,H,Tq,D], k, v [B,H,Tk,D] (f64); mask [B,Tk] or None. Returns out, lse, and P for the backward."""
    B, H, Tq, D = q.shape
    Tk = k.shape[2]
    s = np.einsum("bhid,bhjd->bhij", q, k) * scale
    allowed = np.arange(Tk)[None, :] <= past + np.arange(Tq)[:, None]
    allowed = np.broadcast_to(allowed, (B, H, Tq, Tk)).copy()
    if mask is not None:
        allowed &= (mask > -1e9)[:, None, None, :]
        s = s + np.where(mask > -1e9, mask, 0)[:, None, None, :]
    s = np.where(allowed, s, -np.inf)
    mx = s.max(axis=-1, keepdims=True)
    none = ~np.isfinite(mx)
    mx = np.where(none, 0, mx)
    p = np.exp(s - mx)
    l = p.sum(axis=-1, keepdims=True)
    lse = np.where(none, -np.inf, mx + np.log(np.where(l == 0, 1, l)))[..., 0]
    p = np.where(none, 0, p / np.where(l == 0, 1, l))
    return np.einsum("bhij,bhjd->bhid", p, v), lse, p


def reference_backward(q, k, v, out, p, dout, scale):
    dp = np.einsum("bhid,bhjd->bhij", dout, v)
    rowdot = (dout * out).sum(-1, keepdims=True)
    ds = p * (dp - rowdot)
    return (scale * np.einsum("bhij,bhjd->bhid", ds, k), scale * np.einsum("bhij,bhid->bhjd", ds, q),
            np.einsum("bhij,bhid->bhjd", p, dout))


def rel(got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    inf = np.isinf(want) | np.isinf(got)
    if not np.array_equal(np.where(inf, want, 0), np.where(inf, got, 0)):
        return float("inf")
    if not np.all(np.isfinite(got[~inf])):
        return float("nan")
    den = np.linalg.norm(want[~inf])
    num = np.linalg.norm((got - want)[~inf])
    # an exact answer of 0 (e.g. dq, dk at T = 1, where p = 1 makes dS = dP - D = 0) is compared absolutely
    return num / den if den > 1e-6 else num


def check(name, got, want, tol):
    e = rel(got, want)
    ok = e < tol
    print(f"  {'ok  ' if ok else 'FAIL'} {name:<44} rel. error {e:.2e} (limit {tol:.0e})", flush=True)
    if not ok:
        FAILURES.append(name)


def random_inputs(rng, B, H, T, D, padded):
    q, k, v = (rng.standard_normal((B, H, T, D)).astype(np.float32) * 1.5 for _ in range(3))
    mask = None
    if padded:
        mask = np.zeros((B, T), dtype=np.float32)
        for b in range(1, B):
            pad = 1 if T == 1 else int(rng.integers(1, T))
            mask[b, :pad] = [-np.inf if j % 2 == 0 else -1e9 for j in range(pad)]
            mask[b, pad::5] = -0.5
    return q, k, v, mask


def to_bf16(x):
    b = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) >> 16
    return b.astype(np.uint16)


def from_bf16(h):
    return (h.astype(np.uint32) << 16).view(np.float32)


def f32_case(kernels, rng, B, H, T, D, padded, decode_chunk=None):
    label = f"B={B} H={H} T={T} D={D}{' padded' if padded else ''}"
    q, k, v, mask = random_inputs(rng, B, H, T, D, padded)
    scale = 1 / np.sqrt(D)
    mem = ptxemu.Memory()
    nan = np.float32(np.nan)
    if decode_chunk is None:
        out_ref, lse_ref, p = reference(q.astype(np.float64), k.astype(np.float64), v.astype(np.float64),
                                        None if mask is None else mask.astype(np.float64), scale)
        qa, ka, va = mem.alloc(q), mem.alloc(k), mem.alloc(v)
        ma = 0 if mask is None else mem.alloc(mask)
        oa = mem.alloc(np.full(q.shape, nan, np.float32))
        la = mem.alloc(np.full((B, H, T), nan, np.float32))
        fwd = kernels["attention_fwd_f32"]
        ptxemu.launch(fwd, mem, ((T + 15) // 16, B * H), 512,
                      [oa, la, qa, ka, va, ma, H, T, T, D, H * T * D, T * D, D, T, float(scale * LOG2E)])
        out = mem.array(oa, np.float32, q.size).reshape(q.shape)
        lse = mem.array(la, np.float32, B * H * T).reshape(B, H, T)
        check(f"f32 fwd out  {label}", out, out_ref, 1e-5)
        check(f"f32 fwd lse  {label}", lse, lse_ref, 1e-5)

        dout = rng.standard_normal(q.shape).astype(np.float32)
        dq_ref, dk_ref, dv_ref = reference_backward(q.astype(np.float64), k.astype(np.float64),
                                                    v.astype(np.float64), out.astype(np.float64), p,
                                                    dout.astype(np.float64), scale)
        da = mem.alloc(dout)
        ra = mem.alloc(np.full((B, H, T), nan, np.float32))
        ptxemu.launch(kernels["attention_bwd_dot_f32"], mem, ((B * H * T + 7) // 8, 1), 256, [ra, da, oa, B * H * T, D])
        rowdot = mem.array(ra, np.float32, B * H * T)
        check(f"f32 rowdot   {label}", rowdot, (dout.astype(np.float64) * out).sum(-1).ravel(), 1e-5)
        dqa, dka, dva = (mem.alloc(np.full(q.shape, nan, np.float32)) for _ in range(3))
        args = [qa, ka, va, da, la, ra, ma, H, T, D, T, float(scale * LOG2E), float(scale)]
        ptxemu.launch(kernels["attention_bwd_dkdv_f32"], mem, ((T + 7) // 8, B * H), 256, [dka, dva] + args)
        ptxemu.launch(kernels["attention_bwd_dq_f32"], mem, ((T + 7) // 8, B * H), 256, [dqa] + args)
        for nm, a, ref in (("dq", dqa, dq_ref), ("dk", dka, dk_ref), ("dv", dva, dv_ref)):
            check(f"f32 bwd {nm}   {label}", mem.array(a, np.float32, q.size).reshape(q.shape), ref, 1e-5)
    else:
        # decoding: the last `chunk` queries against a cache [B, H, maxLen, D] holding T keys
        chunk, max_len = decode_chunk, T + 9
        out_ref, lse_ref, _ = reference(q.astype(np.float64), k.astype(np.float64), v.astype(np.float64),
                                        None if mask is None else mask.astype(np.float64), scale)
        kc = np.full((B, H, max_len, D), nan, np.float32)
        vc = np.full((B, H, max_len, D), nan, np.float32)
        mc = np.full((B, max_len), nan, np.float32)
        kc[:, :, :T], vc[:, :, :T] = k, v
        mc[:, :T] = mask if mask is not None else 0
        qd = np.ascontiguousarray(q[:, :, T - chunk:])
        qa, ka, va, ma = mem.alloc(qd), mem.alloc(kc), mem.alloc(vc), mem.alloc(mc)
        oa = mem.alloc(np.full(qd.shape, nan, np.float32))
        la = mem.alloc(np.full((B, H, chunk), nan, np.float32))
        ptxemu.launch(kernels["attention_fwd_f32"], mem, ((chunk + 15) // 16, B * H), 512,
                      [oa, la, qa, ka, va, ma, H, chunk, T, D, H * max_len * D, max_len * D, D, max_len,
                       float(scale * LOG2E)])
        check(f"f32 cached out (t={chunk}) {label}", mem.array(oa, np.float32, qd.size).reshape(qd.shape),
              out_ref[:, :, T - chunk:], 1e-5)
        check(f"f32 cached lse (t={chunk}) {label}", mem.array(la, np.float32, B * H * chunk).reshape(B, H, chunk),
              lse_ref[:, :, T - chunk:], 1e-5)
        if chunk == 1:
            # the dedicated decoding kernel: keys split over 8 warps, states combined in warp order
            oa2 = mem.alloc(np.full(qd.shape, nan, np.float32))
            la2 = mem.alloc(np.full((B, H, 1), nan, np.float32))
            ptxemu.launch(kernels["attention_decode_f32"], mem, (B * H, 1), 256,
                          [oa2, la2, qa, ka, va, ma, H, T, D, H * max_len * D, max_len * D, D, max_len,
                           float(scale * LOG2E)])
            check(f"f32 decode kernel out {label}", mem.array(oa2, np.float32, qd.size).reshape(qd.shape),
                  out_ref[:, :, T - 1:], 1e-5)
            check(f"f32 decode kernel lse {label}", mem.array(la2, np.float32, B * H).reshape(B, H, 1),
                  lse_ref[:, :, T - 1:], 1e-5)


def bf16_case(kernels, rng, B, H, T, D, padded):
    label = f"B={B} H={H} T={T} D={D}{' padded' if padded else ''}"
    q, k, v, mask = random_inputs(rng, B, H, T, D, padded)
    qb, kb, vb = to_bf16(q), to_bf16(k), to_bf16(v)
    scale = 1 / np.sqrt(D)
    out_ref, lse_ref, _ = reference(from_bf16(qb).astype(np.float64), from_bf16(kb).astype(np.float64),
                                    from_bf16(vb).astype(np.float64),
                                    None if mask is None else mask.astype(np.float64), scale)
    mem = ptxemu.Memory()
    qa, ka, va = mem.alloc(qb), mem.alloc(kb), mem.alloc(vb)
    ma = 0 if mask is None else mem.alloc(mask)
    oa = mem.alloc(np.full(q.shape, 0x7FC0, np.uint16))
    la = mem.alloc(np.full((B, H, T), np.nan, np.float32))
    ptxemu.launch(kernels[f"attention_fwd_bf16_d{D}"], mem, ((T + 63) // 64, B * H), 128,
                  [oa, la, qa, ka, va, ma, H, T, T, H * T * D, T * D, D, T, float(scale * LOG2E)])
    out = from_bf16(mem.array(oa, np.uint16, q.size)).reshape(q.shape)
    lse = mem.array(la, np.float32, B * H * T).reshape(B, H, T)
    check(f"bf16 fwd out {label}", out, out_ref, 1e-2)
    check(f"bf16 fwd lse {label}", lse, lse_ref, 1e-2)

    # backward from the kernel's own out (bf16) and lse, against the F64 reference on the same values
    dout = rng.standard_normal(q.shape).astype(np.float32)
    dob = to_bf16(dout)
    f64 = lambda h: from_bf16(h).astype(np.float64)  # noqa: E731
    _, _, p = reference(f64(qb), f64(kb), f64(vb), None if mask is None else mask.astype(np.float64), scale)
    dq_ref, dk_ref, dv_ref = reference_backward(f64(qb), f64(kb), f64(vb), out.astype(np.float64), p, f64(dob),
                                                scale)
    da = mem.alloc(dob)
    ra = mem.alloc(np.full((B, H, T), np.nan, np.float32))
    ptxemu.launch(kernels["attention_bwd_dot_bf16"], mem, ((B * H * T + 7) // 8, 1), 256, [ra, da, oa, B * H * T, D])
    check(f"bf16 rowdot  {label}", mem.array(ra, np.float32, B * H * T),
          (f64(dob) * out.astype(np.float64)).sum(-1).ravel(), 1e-5)
    dqa, dka, dva = (mem.alloc(np.full(q.shape, 0x7FC0, np.uint16)) for _ in range(3))
    args = [qa, ka, va, da, la, ra, ma, H, T, T, float(scale * LOG2E), float(scale)]
    ptxemu.launch(kernels[f"attention_bwd_dkdv_bf16_d{D}"], mem, ((T + 63) // 64, B * H), 128, [dka, dva] + args)
    ptxemu.launch(kernels[f"attention_bwd_dq_bf16_d{D}"], mem, ((T + 63) // 64, B * H), 128, [dqa] + args)
    for nm, a, ref in (("dq", dqa, dq_ref), ("dk", dka, dk_ref), ("dv", dva, dv_ref)):
        check(f"bf16 bwd {nm}  {label}", from_bf16(mem.array(a, np.uint16, q.size)).reshape(q.shape), ref, 1e-2)


def ci(kernels, rng):
    """The subset the normal build runs (AttentionPtxInterpreterTest): every kernel once, tails and padding."""
    print("F32 forward and backward")
    f32_case(kernels, rng, 2, 1, 17, 64, True)
    print("F32 cached (decoding)")
    f32_case(kernels, rng, 2, 1, 37, 64, True, decode_chunk=1)
    print("BF16 forward and backward")
    bf16_case(kernels, rng, 2, 1, 17, 64, True)
    bf16_case(kernels, rng, 1, 1, 70, 128, False)


def main():
    quick = "--quick" in sys.argv
    kernels = {}
    for f in ("attention_f32.ptx", "attention_bf16.ptx"):
        with open(os.path.join(PTX, f)) as fh:
            kernels.update(ptxemu.parse(fh.read()))
    seed = int(time.time())
    rng = np.random.default_rng(seed)
    print(f"seed {seed}")
    t0 = time.time()
    if "--ci" in sys.argv:
        ci(kernels, rng)
        print(f"{len(FAILURES)} failures, {time.time() - t0:.0f} s")
        return 1 if FAILURES else 0
    print("F32 forward and backward")
    f32_case(kernels, rng, 1, 1, 1, 64, False)
    f32_case(kernels, rng, 2, 1, 17, 64, True)
    f32_case(kernels, rng, 1, 2, 33, 128, False)
    if not quick:
        f32_case(kernels, rng, 3, 1, 40, 32, True)
        f32_case(kernels, rng, 2, 1, 70, 64, True)
    print("F32 cached (decoding)")
    f32_case(kernels, rng, 2, 2, 37, 64, True, decode_chunk=1)
    f32_case(kernels, rng, 2, 1, 300, 128, True, decode_chunk=1)
    f32_case(kernels, rng, 2, 1, 1, 64, False, decode_chunk=1)
    f32_case(kernels, rng, 2, 1, 37, 128, True, decode_chunk=3)
    print("BF16 forward")
    bf16_case(kernels, rng, 2, 1, 17, 64, True)
    bf16_case(kernels, rng, 1, 1, 70, 64, False)
    bf16_case(kernels, rng, 2, 1, 70, 128, True)
    if not quick:
        bf16_case(kernels, rng, 1, 1, 1, 128, False)
        bf16_case(kernels, rng, 2, 1, 130, 64, True)
    print(f"{len(FAILURES)} failures, {time.time() - t0:.0f} s")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
