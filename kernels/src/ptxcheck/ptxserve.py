#!/usr/bin/env python3
"""Serves an emulated device to the JVM over stdin/stdout, one JSON object per line: the host side of the CUDA
backend runs unchanged on a driverless context (CudaContext's test constructor) whose memory operations, kernel
launches and cuBLAS calls come here. Used by EmulatedDevice (cuda:6).

Kernels run on simt.py, the vectorized PTX interpreter (all threads of many blocks as NumPy arrays), except the
BF16 tensor-core attention kernels, which run on ../ptxgen/ptxemu.py. With RLHF4J_PTX_INTERPRETER=scalar in the
environment every kernel runs on the per-thread interpreter its family's check uses instead (ptxrun.py for
elementwise, reduce, index, philox; ../ptxgen/fused_ptxsim.py for softmax, logprobs, crossentropy, layernorm, gelu,
adamw, embedding; ptxemu.py for attention): slower by tens of times, for telling an interpreter's fault from a
kernel's. check_simt.py runs the three checks on simt. The JVM sends each PTX module's text before its first launch
(the resource it would hand the driver). GEMM follows cuBLAS's column-major
definition of the strided-batched call in NumPy (see gemm below).

Requests: {"op": "alloc"|"free"|"copy"|"memset"|"upload"|"download"|"module"|"launch"|"gemm", ...}; replies
{"ok": true, ...} or {"ok": false, "error": "..."}.
"""
import bisect
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "ptxgen"))
import numpy as np  # noqa: E402

import fused_ptxsim  # noqa: E402
import ptxemu  # noqa: E402
import ptxrun  # noqa: E402
import simt  # noqa: E402
from ptxrun import PtxError  # noqa: E402

RUNTIME = {"elementwise.ptx", "reduce.ptx", "index.ptx", "philox.ptx"}
ATTENTION = {"attention_f32.ptx", "attention_bf16.ptx"}
TENSOR_CORES = {"attention_bf16.ptx"}  # mma, ldmatrix, cp.async: ptxemu only
SCALAR = os.environ.get("RLHF4J_PTX_INTERPRETER") == "scalar"


class DeviceMemory:
    """Buffers at the addresses the JVM's allocator hands out; the interface of all three interpreters."""

    def __init__(self):
        self.bases = []  # sorted
        self.bufs = {}
        self.last = None

    def alloc(self, addr, n):
        self.bufs[addr] = bytearray(b"\xA5" * n)  # garbage, not zeros
        bisect.insort(self.bases, addr)

    def free(self, addr):
        del self.bufs[addr]
        self.bases.pop(bisect.bisect_left(self.bases, addr))
        self.last = None

    def find(self, a, n):
        last = self.last
        if last is not None and last[0] <= a and a + n <= last[0] + len(last[1]):
            return last[1], a - last[0]
        i = bisect.bisect_right(self.bases, a) - 1
        if i >= 0:
            base = self.bases[i]
            raw = self.bufs[base]
            if a + n <= base + len(raw):
                self.last = (base, raw)
                return raw, a - base
        raise PtxError(f"access of {n} bytes at {a:#x} outside every buffer")

    def read(self, a, n):
        if n in (2, 4, 8, 16) and a % n:
            raise PtxError(f"misaligned read of {n} bytes at {a:#x}")
        raw, o = self.find(a, n)
        return bytes(raw[o:o + n])

    def write(self, a, data):
        n = len(data)
        if n in (2, 4, 8, 16) and a % n:
            raise PtxError(f"misaligned write of {n} bytes at {a:#x}")
        raw, o = self.find(a, n)
        raw[o:o + n] = data


class FusedSim(fused_ptxsim.Sim):
    """fused_ptxsim's interpreter with its global memory on the device's buffers."""

    def __init__(self, text, mem):  # noqa: super().__init__ reads a file
        self.funcs, self.shared_syms, self.static_size, self.extern = fused_ptxsim.parse_module(text)
        self.mem = mem
        self.count = 0

    def load(self, space, addr, typ):
        if space == "shared" or (space == "" and addr >= fused_ptxsim.SHARED_WINDOW):
            return super().load(space, addr, typ)
        return int.from_bytes(self.mem.read(addr, fused_ptxsim.typsize(typ)), "little")

    def store(self, space, addr, typ, v):
        if space == "shared" or (space == "" and addr >= fused_ptxsim.SHARED_WINDOW):
            return super().store(space, addr, typ, v)
        size = fused_ptxsim.typsize(typ)
        self.mem.write(addr, (v & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))


# ---- GEMM: cuBLAS's strided-batched call by its definition ----

GEMM_TYPES = {("F32", "F32", "F32", "F32"), ("F32", "F32", "F32", "F32_FAST_TF32"), ("F64", "F64", "F64", "F64"),
              ("BF16", "BF16", "F32", "F32"), ("BF16", "BF16", "BF16", "F32")}
ELEMENT = {"F32": (np.float32, 4), "F64": (np.float64, 8), "BF16": (np.uint16, 2)}


def bf16_to_f32(h):
    return (h.astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16(x):
    b = np.ascontiguousarray(x, np.float32).view(np.uint32).astype(np.uint64)
    nan = (b & 0x7F800000) == 0x7F800000
    nan &= (b & 0x7FFFFF) != 0
    r = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(nan, np.uint16(0x7FC0), r)


def to_tf32(x):
    """F32 rounded to TF32's 10 mantissa bits (to nearest, ties away from zero)."""
    b = np.ascontiguousarray(x, np.float32).view(np.uint32)
    finite = (b & 0x7F800000) != 0x7F800000
    r = np.where(finite, (b + np.uint32(0x1000)) & np.uint32(0xFFFFE000), b)
    return r.astype(np.uint32).view(np.float32)


def matrices(mem, addr, typ, rows, cols, ld, stride, batch):
    """[batch, rows, cols] strided view of a column-major operand in device memory (writable)."""
    dtype, size = ELEMENT[typ]
    if addr % size:
        raise PtxError(f"gemm: {typ} operand at {addr:#x} is not aligned to {size} bytes")
    if rows == 0 or cols == 0 or batch == 0:
        return np.zeros((batch, rows, cols), dtype)
    span = ((batch - 1) * stride + (cols - 1) * ld + rows) * size
    raw, o = mem.find(addr, span)
    return np.ndarray((batch, rows, cols), dtype=dtype, buffer=raw, offset=o,
                      strides=(stride * size, size, ld * size))


def gemm(mem, r):
    """C_p = alpha op(A_p) op(B_p) + beta C_p, column-major, for p < batch. Compute F32 (BF16 or F32 inputs,
    F32 accumulation), F32_FAST_TF32 (inputs rounded to TF32) or F64. beta == 0: C is not read."""
    m, n, k, batch = r["m"], r["n"], r["k"], r["batch"]
    ta, tb = r["transA"], r["transB"]
    for name, rows in (("lda", k if ta else m), ("ldb", n if tb else k), ("ldc", m)):
        if r[name] < max(1, rows):
            raise PtxError(f"gemm: {name} {r[name]} < max(1, {rows}) (CUBLAS_STATUS_INVALID_VALUE)")
    types = (r["aType"], r["bType"], r["cType"], r["compute"])
    if types not in GEMM_TYPES:
        raise PtxError(f"gemm: {types[0]} x {types[1]} -> {types[2]} with compute {types[3]} (CUBLAS_STATUS_NOT_SUPPORTED)")
    a = matrices(mem, r["a"], r["aType"], k if ta else m, m if ta else k, r["lda"], r["strideA"], batch)
    b = matrices(mem, r["b"], r["bType"], n if tb else k, k if tb else n, r["ldb"], r["strideB"], batch)
    c = matrices(mem, r["c"], r["cType"], m, n, r["ldc"], r["strideC"], batch)
    compute = r["compute"]
    work = np.float64 if compute == "F64" else np.float32

    def as_work(x, typ):
        return (bf16_to_f32(x) if typ == "BF16" else x).astype(work)
    op_a, op_b = as_work(a, r["aType"]), as_work(b, r["bType"])
    if compute == "F32_FAST_TF32":
        op_a, op_b = to_tf32(op_a), to_tf32(op_b)
    if ta:
        op_a = op_a.transpose(0, 2, 1)
    if tb:
        op_b = op_b.transpose(0, 2, 1)
    alpha, beta = work(r["alpha"]), work(r["beta"])
    with np.errstate(all="ignore"):
        result = alpha * (np.matmul(op_a, op_b) if k > 0 else np.zeros((batch, m, n), work))
        if beta != 0:
            result = result + beta * as_work(c, r["cType"])
    if c.size:
        c[...] = f32_to_bf16(result) if r["cType"] == "BF16" else result.astype(c.dtype)


# ---- the device ----

class Device:
    def __init__(self):
        self.mem = DeviceMemory()
        self.texts = {}
        self.modules = {}

    def interpreter(self, f):
        if not SCALAR and f not in TENSOR_CORES:
            return "simt"
        return "ptxrun" if f in RUNTIME else "ptxemu" if f in ATTENTION else "fused"

    def module(self, f):
        if f not in self.modules:
            if f not in self.texts:
                raise PtxError(f"launch from {f} before its module text was sent")
            text = self.texts[f]
            if self.interpreter(f) == "simt":
                self.modules[f] = simt.Module(text)
            elif f in RUNTIME:
                self.modules[f] = ptxrun.Module(text)
            elif f in ATTENTION:
                self.modules[f] = ptxemu.parse(text)
            else:
                self.modules[f] = FusedSim(text, self.mem)
        return self.modules[f]

    def launch(self, req):
        f, entry = req["file"], req["entry"]
        gx, gy, gz = req["grid"]
        bx, by, bz = req["block"]
        if by != 1 or bz != 1 or gz != 1 or (gy != 1 and f not in ATTENTION):
            raise PtxError(f"{f}:{entry}: grid {req['grid']} block {req['block']}: the interpreters take "
                           "x-only blocks and x (attention: x, y) grids")
        args = [bytes.fromhex(a) for a in req["args"]]
        mod = self.module(f)
        kind = self.interpreter(f)
        if kind == "simt":
            simt.launch(mod, self.mem, entry, (gx, gy), bx, args, req.get("shared", 0))
        elif kind == "ptxrun":
            ptxrun.launch(mod, self.mem, entry, gx, bx, args)
        elif kind == "ptxemu":
            if entry not in mod:
                raise PtxError(f"no entry {entry} in {f}")
            ptxemu.launch(mod[entry], self.mem, (gx, gy), bx, [int.from_bytes(a, "little") for a in args])
        else:
            if entry not in mod.funcs:
                raise PtxError(f"no entry {entry} in {f}")
            mod.launch(entry, gx, bx, [int.from_bytes(a, "little") for a in args], req.get("shared", 0))

    def serve(self, req):
        op = req["op"]
        mem = self.mem
        out = {"ok": True}
        if op == "alloc":
            mem.alloc(req["addr"], req["bytes"])
        elif op == "free":
            mem.free(req["addr"])
        elif op == "copy":
            n = req["bytes"]
            raw, o = mem.find(req["src"], n)
            data = bytes(raw[o:o + n])
            raw2, o2 = mem.find(req["dst"], n)
            raw2[o2:o2 + n] = data
        elif op == "memset":
            es, n = req["esize"], req["count"]
            pattern = (req["value"] & ((1 << (8 * es)) - 1)).to_bytes(es, "little")
            raw, o = mem.find(req["dst"], es * n)
            raw[o:o + es * n] = pattern * n
        elif op == "upload":
            data = bytes.fromhex(req["data"])
            raw, o = mem.find(req["dst"], len(data))
            raw[o:o + len(data)] = data
        elif op == "download":
            raw, o = mem.find(req["src"], req["bytes"])
            out["data"] = bytes(raw[o:o + req["bytes"]]).hex()
        elif op == "module":
            self.texts[req["file"]] = bytes.fromhex(req["text"]).decode("utf-8")
            self.modules.pop(req["file"], None)
        elif op == "launch":
            self.launch(req)
        elif op == "gemm":
            gemm(mem, req)
        else:
            raise PtxError("unknown request " + op)
        return out


def main():
    device = Device()
    for line in sys.stdin:
        req = json.loads(line)
        try:
            out = device.serve(req)
        except Exception as e:  # reported to the JVM, which fails the test with it
            out = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
