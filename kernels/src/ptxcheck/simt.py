#!/usr/bin/env python3
"""A vectorized PTX interpreter: all threads of many blocks step together as NumPy arrays, so the emulated device
(ptxserve.py) runs kernels tens of times faster than the per-thread interpreters (ptxrun.py,
../ptxgen/fused_ptxsim.py, ../ptxgen/ptxemu.py). It covers the instructions of every kernel except the
tensor-core BF16 attention (mma, ldmatrix, cp.async stay on ptxemu).

Execution: a launch runs its blocks in chunks of whole blocks; every thread has a program counter, and each step
runs the instruction at the lowest program counter among the threads that can run, for all threads there at once
(min-PC scheduling: divergent paths run one after the other and meet again where they join). .func calls are
inlined at parse time (the kernels do not recurse). bar.sync releases a block once all its threads wait at a
barrier; shfl.sync and vote.sync need every live lane of the warp at the same instruction (else: an error, as
divergence at a warp collective is undefined on hardware).

Strict where hardware would give garbage: a global access outside every buffer or misaligned raises; shared
memory starts as 0xFF bytes (NaN), new registers as 0xFF bits, a register read before any write raises.
Floating point: f32 and f64 arithmetic is IEEE with round to nearest (NumPy); fma is exactly rounded (through
round-to-odd sums); ex2/lg2/rcp.approx are exact (hardware errs by about 2^-22); bf16 conversion rounds to
nearest even. atom.add applies the additions in thread order; the old value it returns is exact only where no two
threads hit the same address.

    launch(module, mem, entry, grid, block, args, dyn_shared=0)

module: Module(ptx_text); mem: anything with find(address, nbytes) -> (buffer, offset), the buffer a bytearray or
a NumPy uint8 array; grid: (gx, gy); block: threads (x only); args: one bytes object per .param (little-endian).
"""

import re

import numpy as np

np.seterr(all="ignore")

SHARED_WINDOW = 0x7F0000000000  # generic addresses of shared memory (cvta.shared): as fused_ptxsim
PARAM_BASE = 0x100000           # addresses of the kernel parameters (mov.u64 %r, param_name)
CHUNK_THREADS = 1 << 16          # threads stepped together at most (whole blocks)
M32, M64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


class PtxError(Exception):
    pass


# ---- types: every PTX type belongs to a storage class, the NumPy dtype of its registers ----

CLASS = {"f32": "f32", "f64": "f64", "u32": "b32", "s32": "b32", "b32": "b32", "u64": "b64", "s64": "b64",
         "b64": "b64", "u16": "b16", "s16": "b16", "b16": "b16", "bf16": "b16", "u8": "b8", "s8": "b8", "b8": "b8",
         "pred": "pred", "bf16x2": "b32"}
DTYPE = {"f32": np.float32, "f64": np.float64, "b32": np.uint32, "b64": np.uint64, "b16": np.uint16,
         "b8": np.uint8, "pred": np.bool_}
DCLASS = {np.dtype(v): k for k, v in DTYPE.items()}
NPDTYPE = {k: np.dtype(v) for k, v in DTYPE.items()}
SIZE = {"f32": 4, "f64": 8, "b32": 4, "b64": 8, "b16": 2, "b8": 1}
UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
SIGNED = {"b32": np.int32, "b64": np.int64, "b16": np.int16, "b8": np.int8}


def as_cls(v, cls):
    """v (an array or NumPy scalar) as storage class cls: floats and same-size ints by their bits, ints of
    another size zero-extended or truncated, predicates as 0 / 1."""
    want = DTYPE[cls]
    dt = v.dtype
    if dt == want:
        return v
    if dt == np.bool_:
        return v.astype(want)
    if cls == "pred":
        return as_int(v) != 0
    if cls == "f32":
        return as_cls(v, "b32").view(np.float32)
    if cls == "f64":
        return as_cls(v, "b64").view(np.float64)
    return as_int(v).astype(want)


def as_int(v):
    if v.dtype == np.float32:
        return v.view(np.uint32)
    if v.dtype == np.float64:
        return v.view(np.uint64)
    return v


def bf16_bits(x):
    """float32 array -> bf16 bits, round to nearest even; NaN -> 0x7FFF (the hardware's canonical NaN)."""
    b = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    nan = ((b & 0x7F800000) == 0x7F800000) & ((b & 0x7FFFFF) != 0)
    r = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint32) & 0xFFFF
    return np.where(nan, np.uint32(0x7FFF), r).astype(np.uint32)


# ---- exactly rounded fma ----

def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _round_odd_sum(a, b):
    """a + b rounded to odd (float64): exact, or the neighbour with an odd last bit."""
    s, e = _two_sum(a, b)
    bits = s.view(np.int64)
    fix = (e != 0) & ((bits & 1) == 0) & np.isfinite(s)
    toward = np.where(e > 0, np.inf, -np.inf)
    return np.where(fix, np.nextafter(s, toward), s)


def _split(a):
    c = 134217729.0 * a  # 2^27 + 1
    hi = c - (c - a)
    return hi, a - hi


def fma_f64(a, b, c):
    """round(a * b + c) for float64 arrays (Boldo and Melquiond: exact product, round-to-odd, one rounding)."""
    a, b, c = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(c, np.float64))
    a, b, c = a.copy(), b.copy(), c.copy()
    ph = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    pl = ((ah * bh - ph) + ah * bl + al * bh) + al * bl
    th, tl = _two_sum(c, ph)
    r = th + _round_odd_sum(tl, pl)
    # where the splitting or the error terms leave double range, or inputs are not finite: one at a time
    big = np.abs(a) + np.abs(b)
    odd = ~(np.isfinite(ph) & np.isfinite(c) & (big < 1e150) & ((np.abs(ph) > 1e-250) | (ph == 0))
            & (np.abs(c) < 1e300))
    if odd.any():
        from fractions import Fraction
        for i in np.nonzero(odd.ravel())[0]:
            x, y, z = float(a.flat[i]), float(b.flat[i]), float(c.flat[i])
            if all(np.isfinite(v) for v in (x, y, z)):
                try:
                    r.flat[i] = float(Fraction(x) * Fraction(y) + Fraction(z))
                except OverflowError:
                    r.flat[i] = x * y + z
            else:
                r.flat[i] = x * y + z
    return r


def fma_f32(a, b, c):
    """round_f32(a * b + c). The product is exact in float64 and the sum rounded once there; rounding that to
    f32 is exact unless the float64 sum sits on an f32 rounding midpoint (or is an f32 subnormal): those few are
    summed again rounded to odd, which makes the second rounding exact."""
    p = np.asarray(a, np.float64) * np.asarray(b, np.float64)
    c64 = np.asarray(c, np.float64)
    s = np.atleast_1d(p + c64)
    bits = s.view(np.uint64)
    risky = ((bits & np.uint64(0x1FFFFFFF)) == np.uint64(0x10000000)) | ((np.abs(s) < 1.2e-38) & (s != 0))
    if risky.any():
        pp, cc = np.broadcast_arrays(np.atleast_1d(p), np.atleast_1d(c64))
        at = np.nonzero(risky)[0]
        s = s.copy()
        s[at] = _round_odd_sum(pp[at], cc[at])
    r = s.astype(np.float32)
    return r[0] if np.ndim(p) == 0 and np.ndim(c64) == 0 else r


# ---- parsing ----

SPECIAL_NAMES = {"tid", "ntid", "ctaid", "nctaid", "laneid", "warpid", "nwarpid"}
REG = re.compile(r"%[A-Za-z_$][\w$]*")


def split_args(s):
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def statements(body):
    """Statements of a function body; labels as 'NAME:'; scope braces and declarations dropped."""
    out = []
    for chunk in body.split(";"):
        chunk = chunk.strip()
        while True:
            chunk = chunk.lstrip("{} \t\n")
            m = re.match(r"([A-Za-z_$][\w$]*):(?!:)\s*(.*)", chunk, re.S)
            if not m:
                break
            out.append(m.group(1) + ":")
            chunk = m.group(2)
        chunk = " ".join(chunk.split())
        if chunk and not chunk.startswith("."):
            out.append(chunk)
        elif chunk.startswith(".shared"):
            out.append(chunk)
    return out


def decls(s):
    """'.reg .f32 %a, .reg .u32 %b' or '.param .u64 p' lists -> [(name, type, bytes)]"""
    out = []
    for part in split_args(s):
        toks = part.split()
        if not toks:
            continue
        name = toks[-1]
        typ = [t for t in toks if t.startswith(".") and t not in (".param", ".reg", ".align", ".ptr", ".global",
                                                                    ".const", ".shared", ".local")][-1][1:]
        m = re.match(r"(\S+)\[(\d+)\]", name)
        size = SIZE.get(CLASS.get(typ, ""), 4) * (int(m.group(2)) if m else 1)
        out.append((m.group(1) if m else name, typ, size))
    return out


class Function:
    def __init__(self, name, params, rets, body, entry):
        self.name, self.params, self.rets, self.body, self.entry = name, params, rets, body, entry


SHARED_DECL = re.compile(r"(\.extern\s+)?\.shared\s+\.align\s+(\d+)\s+\.(\w+)\s+([\w$]+)\[(\d*)\]")


class Module:
    """A parsed PTX module: entries with their inlined code, compiled on first launch."""

    def __init__(self, text):
        text = re.sub(r"//[^\n]*", "", text)
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        self.funcs = {}
        self.shared = []      # module-level (name, align, bytes)
        self.extern = None
        pat = re.compile(r"(\.visible\s+\.entry|\.entry|\.func)\s*(\([^)]*\))?\s*([\w$]+)\s*\(([^)]*)\)\s*"
                         r"(\.maxntid[^{]*|\.reqntid[^{]*)?\{", re.S)
        pos, outside = 0, []
        while True:
            m = pat.search(text, pos)
            if not m:
                outside.append(text[pos:])
                break
            outside.append(text[pos:m.start()])
            depth, i = 1, m.end()
            while depth:
                if text[i] == "{":
                    depth += 1
                elif text[i] == "}":
                    depth -= 1
                i += 1
            rets = decls(m.group(2)[1:-1]) if m.group(2) else []
            self.funcs[m.group(3)] = Function(m.group(3), decls(m.group(4)), rets, statements(text[m.end():i - 1]),
                                              "entry" in m.group(1))
            pos = i
        for m in SHARED_DECL.finditer("".join(outside)):
            if m.group(1):
                self.extern = (m.group(4), int(m.group(2)))
            else:
                self.shared.append((m.group(4), int(m.group(2)), SIZE.get(CLASS.get(m.group(3)), 1) * int(m.group(5))))
        self.kernels = {}

    def kernel(self, entry):
        if entry not in self.kernels:
            if entry not in self.funcs or not self.funcs[entry].entry:
                raise PtxError(f"no entry {entry} in the module")
            self.kernels[entry] = Kernel(self, self.funcs[entry])
        return self.kernels[entry]


class Kernel:
    """One entry: its statements with every call inlined, the shared layout, the compiled instructions."""

    def __init__(self, module, f):
        self.name = f.name
        self.params = f.params
        self.param_offsets, off = {}, 0
        for pname, _, size in f.params:
            off = (off + 7) // 8 * 8
            self.param_offsets[pname] = off
            off += size
        self.param_bytes = off
        self.counter = 0
        stmts = self.inline(module, f.body, "", 0)
        own = []
        code_stmts = []
        for st in stmts:
            m = SHARED_DECL.match(st)
            if m:
                own.append((m.group(4), int(m.group(2)), SIZE.get(CLASS.get(m.group(3)), 1) * int(m.group(5) or 0)))
            else:
                code_stmts.append(st)
        self.shared_syms, off = {}, 0
        for name, align, size in module.shared + own:
            off = (off + align - 1) // align * align
            self.shared_syms[name] = off
            off += size
        self.static_shared = off
        if module.extern:
            name, align = module.extern
            off = (off + max(align, 16) - 1) // max(align, 16) * max(align, 16)
            self.shared_syms[name] = off
            self.extern_offset = off
        else:
            self.extern_offset = off
        self.labels = {}
        self.texts = []
        for st in code_stmts:
            if st.endswith(":") and " " not in st:
                self.labels[st[:-1]] = len(self.texts)
            else:
                self.texts.append(st)
        self.code = [compile_ins(t, self) for t in self.texts]

    def inline(self, module, body, prefix, depth):
        """body with labels and registers renamed by prefix, and each call replaced by the callee's body."""
        if depth > 16:
            raise PtxError("calls nested more than 16 deep (recursion?)")
        labels = {st[:-1] for st in body if st.endswith(":") and " " not in st}

        def rename(st):
            st = REG.sub(lambda m: m.group(0) if m.group(0)[1:] in SPECIAL_NAMES else "%" + prefix + m.group(0)[1:], st)
            if prefix:
                st = re.sub(r"\b([A-Za-z_$][\w$]*)\b", lambda m: prefix + m.group(1) if m.group(1) in labels else m.group(1), st)
            return st
        out = []
        for st in body:
            if st.endswith(":") and " " not in st:
                out.append(prefix + st if st[:-1] in labels else st)
                continue
            guard = ""
            g = re.match(r"(@!?%[\w$]+)\s+(.*)", st)
            core = st
            if g:
                guard, core = g.group(1), g.group(2)
            op = core.split(None, 1)[0]
            if op.split(".")[0] != "call":
                out.append(rename(st))
                continue
            if guard:
                raise PtxError("a predicated call is not supported: " + st)
            args = split_args(core.split(None, 1)[1])
            if args[0].startswith("("):
                rets, name, argl = split_args(args[0][1:-1]), args[1], args[2]
            else:
                rets, name, argl = [], args[0], args[1]
            g = module.funcs[name]
            vals = split_args(argl.strip()[1:-1])
            self.counter += 1
            inner = f"{prefix}c{self.counter}_"
            end = f"{inner}ret_end"
            for (pname, typ, _), v in zip(g.params, vals):
                out.append(f"mov.{typ if typ != 'pred' else 'pred'} %{inner}{pname[1:]}, {rename(v)}")
            for st2 in self.inline(module, g.body, inner, depth + 1):
                gm = re.match(r"(@!?%[\w$]+\s+)?ret(\.uni)?$", st2)
                out.append((gm.group(1) or "") + "bra " + end if gm else st2)
            out.append(end + ":")
            for (rname, typ, _), r in zip(g.rets, rets):
                out.append(f"mov.{typ} {rename(r)}, %{inner}{rname[1:]}")
        return out


# ---- operands ----

def literal(s):
    """An immediate's value: ('bits', int, width) for 0f / 0d / integers, ('float', x) for decimals."""
    s = s.strip()
    if s[:2] in ("0f", "0F"):
        return ("bits", int(s[2:], 16), 32)
    if s[:2] in ("0d", "0D"):
        return ("bits", int(s[2:], 16), 64)
    if re.fullmatch(r"-?(0[xX][0-9a-fA-F]+|\d+)U?", s):
        return ("bits", int(s.rstrip("U"), 0), 0)
    return ("float", float(s))


def immediate(s, cls):
    kind = literal(s)
    if kind[0] == "float":
        v = kind[1]
        return DTYPE[cls](v) if cls in ("f32", "f64") else DTYPE[cls](int(v))
    bits = kind[1]
    if cls == "pred":
        return np.bool_(bits != 0)
    if cls == "f32":
        if kind[2] == 64:
            return np.float32(np.uint64(bits & M64).view(np.float64))
        return np.uint32(bits & M32).view(np.float32)
    if cls == "f64":
        if kind[2] == 32:
            return np.float64(np.uint32(bits & M32).view(np.float32))
        return np.uint64(bits & M64).view(np.float64)
    return DTYPE[cls](bits & ((1 << (8 * SIZE[cls])) - 1))


class Operand:
    """A compiled source operand: get(ctx, idx, cls) -> array (or NumPy scalar) of storage class cls."""

    def __init__(self, s, kernel):
        s = s.strip()
        self.text = s
        self.neg = False
        if s.startswith("!"):
            self.neg, s = True, s[1:]
        if s.startswith("%"):
            base = s[1:].split(".")[0]
            self.kind = "special" if base in SPECIAL_NAMES else "reg"
            self.name = s
        elif s in kernel.shared_syms:
            self.kind, self.value = "const", kernel.shared_syms[s]
        elif s in kernel.param_offsets:
            self.kind, self.value = "const", PARAM_BASE + kernel.param_offsets[s]
        else:
            self.kind, self.cache = "imm", {}
        if self.kind == "reg":
            name, neg = self.name, self.neg

            def get_reg(ctx, idx, cls):  # the hot path: a closure, no dispatch
                arr = ctx.R.get(name)
                if arr is None:
                    raise PtxError(f"register {name} read before it is written")
                v = arr[idx]
                if v.dtype is not NPDTYPE[cls]:
                    v = as_cls(v, cls)
                return ~v if neg else v
            self.get = get_reg

    def get(self, ctx, idx, cls):
        if self.kind == "reg":
            arr = ctx.R.get(self.name)
            if arr is None:
                raise PtxError(f"register {self.name} read before it is written")
            v = as_cls(arr[idx], cls)
            return ~v if self.neg else v
        if self.kind == "special":
            return as_cls(ctx.special(self.name)[idx], cls)
        if self.kind == "const":
            return DTYPE[cls](self.value)
        v = self.cache.get(cls)
        if v is None:
            v = self.cache[cls] = immediate(self.text, cls)
        return v


def write(ctx, name, idx, val, cls):
    arr = ctx.R.get(name)
    if arr is None:
        arr = np.empty(ctx.n, DTYPE[cls])
        if cls == "pred":
            arr[:] = False
        else:
            arr.view(np.uint8)[:] = 0xFF  # garbage bits until written
        ctx.R[name] = arr
    else:
        have = DCLASS[arr.dtype]
        if have != cls:
            if have != "pred" and cls != "pred" and SIZE[have] < SIZE[cls]:
                arr = as_cls(arr, cls)  # a wider write (a b16 register reused as b32)
                ctx.R[name] = arr
                have = cls
            else:
                val = as_cls(np.asarray(val, DTYPE[cls]), have)
    arr[idx] = val


# ---- instructions ----

class Ins:
    __slots__ = ("kind", "guard", "neg", "fn", "target", "text")

    def __init__(self, kind, fn, text, target=None):
        self.kind, self.fn, self.text, self.target = kind, fn, text, target
        self.guard, self.neg = None, False


def compile_ins(text, k):
    guard, neg = None, False
    m = re.match(r"@(!?)(%[\w$]+)\s+(.*)", text)
    body = text
    if m:
        neg, guard, body = m.group(1) == "!", m.group(2), m.group(3)
    parts = body.split(None, 1)
    op = parts[0]
    args = split_args(parts[1]) if len(parts) > 1 else []
    mods = op.split(".")
    head = mods[0]
    try:
        ins = build(head, mods, args, k, text)
    except PtxError:
        raise
    except Exception as e:  # a form this interpreter does not know: fail at launch, naming it
        raise PtxError(f"{k.name}: cannot compile [{text}]: {type(e).__name__}: {e}")
    ins.guard, ins.neg = guard, neg
    return ins


def regs_of(s):
    return [x.strip() for x in s.strip()[1:-1].split(",")] if s.strip().startswith("{") else [s.strip()]


def build(head, mods, a, k, text):
    typ = mods[-1]
    if head == "bra":
        return Ins("bra", None, text, k.labels[a[0]] if a[0] in k.labels else _label(k, a[0]))
    if head == "ret" or head == "exit":
        return Ins("ret", None, text)
    if head == "bar" or head == "barrier":
        return Ins("bar", None, text)
    if head == "membar" or head == "fence":
        return Ins("op", lambda ctx, idx: None, text)
    if head == "shfl":
        return Ins("shfl", shfl_fn(mods, a, k), text)
    if head == "vote":
        return Ins("vote", vote_fn(mods, a, k), text)
    if head in ("ld", "st"):
        return Ins("op", ldst_fn(head, mods, a, k), text)
    if head == "atom":
        return Ins("op", atom_fn(mods, a, k), text)
    if head == "mov":
        return Ins("op", mov_fn(mods, a, k), text)
    if head == "cvta":
        return Ins("op", cvta_fn(mods, a, k), text)
    if head == "cvt":
        return Ins("op", cvt_fn(mods, a, k), text)
    if head == "setp":
        return Ins("op", setp_fn(mods, a, k), text)
    if head == "selp":
        cls = CLASS[typ]
        x, y, p = Operand(a[1], k), Operand(a[2], k), Operand(a[3], k)
        d = a[0]

        def selp(ctx, idx):
            write(ctx, d, idx, np.where(p.get(ctx, idx, "pred"), x.get(ctx, idx, cls), y.get(ctx, idx, cls)), cls)
        return Ins("op", selp, text)
    if head == "testp":
        cls = CLASS[typ]
        x, d, what = Operand(a[1], k), a[0], mods[1]

        def testp(ctx, idx):
            v = x.get(ctx, idx, cls)
            r = {"notanumber": np.isnan, "number": lambda t: ~np.isnan(t), "finite": np.isfinite,
                 "infinite": np.isinf}[what](v)
            write(ctx, d, idx, r, "pred")
        return Ins("op", testp, text)
    if typ == "pred":
        return Ins("op", pred_fn(head, a, k), text)
    if typ in ("f32", "f64"):
        return Ins("op", float_fn(head, mods, a, k), text)
    return Ins("op", int_fn(head, mods, a, k), text)


def _label(k, name):
    raise PtxError(f"{k.name}: branch to unknown label {name}")


def pred_fn(head, a, k):
    d, xs = a[0], [Operand(s, k) for s in a[1:]]

    def fn(ctx, idx):
        v = [x.get(ctx, idx, "pred") for x in xs]
        r = {"not": lambda: ~v[0], "and": lambda: v[0] & v[1], "or": lambda: v[0] | v[1],
             "xor": lambda: v[0] ^ v[1], "mov": lambda: v[0]}[head]()
        write(ctx, d, idx, r, "pred")
    return fn


def float_fn(head, mods, a, k):
    typ = mods[-1]
    cls = typ
    F = DTYPE[cls]
    d, xs = a[0], [Operand(s, k) for s in a[1:]]
    nan = "NaN" in mods

    def fn(ctx, idx):
        v = [x.get(ctx, idx, cls) for x in xs]
        if head == "add":
            r = v[0] + v[1]
        elif head == "sub":
            r = v[0] - v[1]
        elif head == "mul":
            r = v[0] * v[1]
        elif head == "div":
            r = v[0] / v[1]
        elif head in ("fma", "mad"):
            r = fma_f32(*v) if cls == "f32" else fma_f64(*v)
        elif head == "neg":
            r = as_cls(as_int(np.asarray(v[0], F)) ^ DTYPE["b32" if cls == "f32" else "b64"](1 << (31 if cls == "f32" else 63)), cls)
        elif head == "abs":
            r = as_cls(as_int(np.asarray(v[0], F)) & DTYPE["b32" if cls == "f32" else "b64"]((1 << (31 if cls == "f32" else 63)) - 1), cls)
        elif head == "max":
            r = np.maximum(v[0], v[1]) if nan else np.fmax(v[0], v[1])
        elif head == "min":
            r = np.minimum(v[0], v[1]) if nan else np.fmin(v[0], v[1])
        elif head == "sqrt":
            r = np.sqrt(v[0])
        elif head == "rcp":
            r = F(1) / v[0]
        elif head == "rsqrt":
            r = (np.float64(1) / np.sqrt(np.asarray(v[0], np.float64))).astype(F)
        elif head == "ex2":
            r = np.exp2(np.asarray(v[0], np.float64)).astype(F)
        elif head == "lg2":
            r = np.log2(np.asarray(v[0], np.float64)).astype(F)
        else:
            raise PtxError("unsupported " + ".".join(mods))
        write(ctx, d, idx, np.asarray(r, F), cls)
    if head not in ("add", "sub", "mul", "div", "fma", "mad", "neg", "abs", "max", "min", "sqrt", "rcp", "rsqrt",
                    "ex2", "lg2"):
        raise PtxError("unsupported " + ".".join(mods))
    return fn


def int_fn(head, mods, a, k):
    typ = mods[-1]
    cls = CLASS[typ]
    width = 8 * SIZE[cls]
    signed = typ.startswith("s")
    U, S = DTYPE[cls], SIGNED[cls]
    mask = (1 << width) - 1
    d, xs = a[0], [Operand(s, k) for s in a[1:]]
    wide = len(mods) > 1 and mods[1] == "wide"
    hi = len(mods) > 1 and mods[1] == "hi"
    known = ("add", "sub", "mul", "mad", "div", "rem", "shl", "shr", "and", "or", "xor", "not", "neg", "min", "max",
             "abs", "cnot", "popc", "brev")
    if head not in known:
        raise PtxError("unsupported " + ".".join(mods))

    def big(v):  # as Python-sized integers: int64 for 32-bit types, object-free uint64 arithmetic for 64-bit
        return np.asarray(v).astype(S if signed else U).astype(np.int64) if width <= 32 else np.asarray(v)

    def fn(ctx, idx):
        v = [x.get(ctx, idx, cls) for x in xs]
        if head == "mul" and wide:
            if signed:
                r = (np.asarray(v[0]).view(S).astype(np.int64) * np.asarray(v[1]).view(S).astype(np.int64)).astype(np.uint64)
            else:
                r = np.asarray(v[0]).astype(np.uint64) * np.asarray(v[1]).astype(np.uint64)
            write(ctx, d, idx, r, "b64")
            return
        if head == "mul" and hi:
            if width == 32:
                if signed:
                    r = (np.asarray(v[0]).view(S).astype(np.int64) * np.asarray(v[1]).view(S).astype(np.int64)) >> 32
                else:
                    r = (np.asarray(v[0]).astype(np.uint64) * np.asarray(v[1]).astype(np.uint64)) >> np.uint64(32)
                write(ctx, d, idx, np.asarray(r).astype(np.int64).astype(np.uint64).astype(U) if signed else np.asarray(r).astype(U), cls)
                return
            raise PtxError("mul.hi on 64 bits is not supported")
        if width == 64:
            x = [np.asarray(t, np.uint64) for t in v]
            if head == "add":
                r = x[0] + x[1]
            elif head == "sub":
                r = x[0] - x[1]
            elif head == "mul":
                r = x[0] * x[1]
            elif head == "mad":
                r = x[0] * x[1] + x[2]
            elif head == "and":
                r = x[0] & x[1]
            elif head == "or":
                r = x[0] | x[1]
            elif head == "xor":
                r = x[0] ^ x[1]
            elif head == "not":
                r = ~x[0]
            elif head == "neg":
                r = np.uint64(0) - x[0]
            elif head == "shl":
                sh = np.asarray(v[1]).astype(np.uint64)
                r = np.where(sh >= 64, np.uint64(0), x[0] << np.minimum(sh, np.uint64(63)))
            elif head == "shr":
                sh = np.minimum(np.asarray(v[1]).astype(np.uint64), np.uint64(63 if signed else 64))
                if signed:
                    r = (x[0].view(np.int64) >> sh.astype(np.int64)).view(np.uint64)
                else:
                    r = np.where(sh >= 64, np.uint64(0), x[0] >> np.minimum(sh, np.uint64(63)))
            elif head in ("div", "rem", "min", "max"):
                xs_ = [t.view(np.int64) for t in x] if signed else x
                if head == "div":
                    r = xs_[0] // np.where(xs_[1] == 0, 1, xs_[1]) if not signed else np.fix(xs_[0] / xs_[1]).astype(np.int64)
                elif head == "rem":
                    r = xs_[0] % np.where(xs_[1] == 0, 1, xs_[1])
                elif head == "min":
                    r = np.minimum(xs_[0], xs_[1])
                else:
                    r = np.maximum(xs_[0], xs_[1])
                r = np.asarray(r).astype(np.uint64) if signed else r
            else:
                raise PtxError("unsupported " + ".".join(mods))
            write(ctx, d, idx, np.asarray(r, np.uint64), cls)
            return
        if head in ("add", "sub", "mul", "mad", "and", "or", "xor", "not", "neg", "shl", "shr", "min", "max"):
            # native wrapping arithmetic in the register's width (signed ops through a view)
            x = [np.asarray(t, U) for t in v]
            if head == "add":
                r = x[0] + x[1]
            elif head == "sub":
                r = x[0] - x[1]
            elif head == "mul":
                r = x[0] * x[1]
            elif head == "mad":
                r = x[0] * x[1] + x[2]
            elif head == "and":
                r = x[0] & x[1]
            elif head == "or":
                r = x[0] | x[1]
            elif head == "xor":
                r = x[0] ^ x[1]
            elif head == "not":
                r = ~x[0]
            elif head == "neg":
                r = U(0) - x[0]
            elif head in ("shl", "shr"):
                sh = x[1].astype(np.int64)
                over = sh >= width
                shc = np.minimum(sh, width - 1).astype(U)
                if head == "shl":
                    r = x[0] << shc
                    r = np.where(over, U(0), r) if over.any() else r
                elif signed:
                    r = (x[0].view(S) >> shc.astype(S)).view(U)  # arithmetic: a shift past the width fills the sign
                else:
                    r = x[0] >> shc
                    r = np.where(over, U(0), r) if over.any() else r
            elif signed:
                r = (np.minimum if head == "min" else np.maximum)(x[0].view(S), x[1].view(S)).view(U)
            else:
                r = (np.minimum if head == "min" else np.maximum)(x[0], x[1])
            write(ctx, d, idx, np.asarray(r, U), cls)
            return
        x = [big(t) for t in v]
        if head == "add":
            r = x[0] + x[1]
        elif head == "sub":
            r = x[0] - x[1]
        elif head == "mul":
            r = x[0] * x[1]
        elif head == "mad":
            r = x[0] * x[1] + x[2]
        elif head == "div":
            z = x[1] == 0
            y = np.where(z, 1, x[1])
            r = np.where(z, mask, (np.abs(x[0]) // np.abs(y)) * np.sign(x[0]) * np.sign(y)) if signed else np.where(z, mask, x[0] // y)
        elif head == "rem":
            z = x[1] == 0
            y = np.where(z, 1, x[1])
            r = np.where(z, x[0], np.sign(x[0]) * (np.abs(x[0]) % np.abs(y))) if signed else np.where(z, x[0], x[0] % y)
        elif head == "shl":
            sh = np.asarray(v[1]).astype(np.int64)
            r = np.where(sh >= width, 0, x[0] << np.minimum(sh, width - 1))
        elif head == "shr":
            sh = np.asarray(v[1]).astype(np.int64)
            if signed:
                r = x[0] >> np.minimum(sh, width - 1)
            else:
                r = np.where(sh >= width, 0, x[0] >> np.minimum(sh, width - 1))
        elif head == "and":
            r = x[0] & x[1]
        elif head == "or":
            r = x[0] | x[1]
        elif head == "xor":
            r = x[0] ^ x[1]
        elif head == "not":
            r = ~x[0]
        elif head == "cnot":
            r = (x[0] == 0).astype(np.int64)
        elif head == "neg":
            r = -x[0]
        elif head == "abs":
            r = np.abs(x[0])
        elif head == "min":
            r = np.minimum(x[0], x[1])
        elif head == "max":
            r = np.maximum(x[0], x[1])
        else:
            raise PtxError("unsupported " + ".".join(mods))
        write(ctx, d, idx, (np.asarray(r, np.int64) & mask).astype(U), cls)
    return fn


def setp_fn(mods, a, k):
    cmp, typ = mods[1], mods[-1]
    combine = mods[2] if len(mods) > 3 and mods[2] in ("and", "or", "xor") else None
    cls = CLASS[typ]
    x, y = Operand(a[1], k), Operand(a[2], k)
    c = Operand(a[3], k) if combine else None
    dests = a[0].split("|")

    def fn(ctx, idx):
        u, w = x.get(ctx, idx, cls), y.get(ctx, idx, cls)
        if cls in ("f32", "f64"):
            unordered = np.isnan(u) | np.isnan(w)
            base = cmp[:-1] if cmp in ("equ", "neu", "ltu", "leu", "gtu", "geu") else cmp
            if base in ("num", "nan"):
                r = ~unordered if base == "num" else unordered
            else:
                r = {"eq": u == w, "ne": u != w, "lt": u < w, "le": u <= w, "gt": u > w, "ge": u >= w}[base]
                r = (r | unordered) if base != cmp else (r & ~unordered)
        else:
            if typ.startswith("s"):
                u, w = np.asarray(u).view(SIGNED[cls]), np.asarray(w).view(SIGNED[cls])
            name = {"lo": "lt", "ls": "le", "hi": "gt", "hs": "ge"}.get(cmp, cmp)
            r = {"eq": u == w, "ne": u != w, "lt": u < w, "le": u <= w, "gt": u > w, "ge": u >= w}[name]
        r = np.asarray(r)
        if combine:
            p = c.get(ctx, idx, "pred")
            r = {"and": r & p, "or": r | p, "xor": r ^ p}[combine]
        write(ctx, dests[0], idx, r, "pred")
        if len(dests) > 1:
            write(ctx, dests[1], idx, ~r, "pred")
    return fn


def mov_fn(mods, a, k):
    typ = mods[-1]
    cls = CLASS[typ]
    dst, src = a[0], a[1]
    if dst.startswith("{"):  # unpack
        parts = regs_of(dst)
        x = Operand(src, k)
        pw = SIZE[cls] // len(parts)
        pcls = {1: "b8", 2: "b16", 4: "b32"}[pw]

        def unpack(ctx, idx):
            v = as_int(np.asarray(x.get(ctx, idx, cls))).astype(np.uint64)
            for i, p in enumerate(parts):
                if p != "_":
                    write(ctx, p, idx, ((v >> np.uint64(8 * pw * i)) & np.uint64((1 << (8 * pw)) - 1)).astype(DTYPE[pcls]), pcls)
        return unpack
    if src.startswith("{"):  # pack
        parts = [Operand(p, k) for p in regs_of(src)]
        pw = SIZE[cls] // len(parts)
        pcls = {1: "b8", 2: "b16", 4: "b32"}[pw]

        def pack(ctx, idx):
            r = None
            for i, p in enumerate(parts):
                v = np.asarray(p.get(ctx, idx, pcls)).astype(np.uint64) << np.uint64(8 * pw * i)
                r = v if r is None else r | v
            write(ctx, dst, idx, as_cls(r.astype(UINT[SIZE[cls]]), cls), cls)
        return pack
    x = Operand(src, k)

    def mov(ctx, idx):
        write(ctx, dst, idx, x.get(ctx, idx, cls), cls)
    return mov


def cvta_fn(mods, a, k):
    x = Operand(a[1], k)
    d = a[0]
    to = "to" in mods
    shared = "shared" in mods

    def fn(ctx, idx):
        v = np.asarray(x.get(ctx, idx, "b64"), np.uint64)
        if shared:
            v = v - np.uint64(SHARED_WINDOW) if to else v + np.uint64(SHARED_WINDOW)
        write(ctx, d, idx, v, "b64")
    return fn


def cvt_fn(mods, a, k):
    dt, st = mods[-2], mods[-1]
    rnd = next((m for m in mods[1:-2] if m in ("rn", "rz", "rm", "rp", "rni", "rzi", "rmi", "rpi")), None)
    sat = "sat" in mods
    dcls, scls = CLASS[dt], CLASS[st]
    d = a[0]
    xs = [Operand(s, k) for s in a[1:]]

    def src_value(ctx, idx, op):
        v = np.asarray(op.get(ctx, idx, scls))
        return v.view(SIGNED[scls]) if st.startswith("s") else v

    def fn(ctx, idx):
        v = src_value(ctx, idx, xs[0])
        if dt == "bf16x2":
            lo = src_value(ctx, idx, xs[1])
            write(ctx, d, idx, (bf16_bits(v) << np.uint32(16)) | bf16_bits(lo), "b32")
            return
        if dt == "bf16":
            write(ctx, d, idx, bf16_bits(np.asarray(v, np.float32)).astype(np.uint16), "b16")
            return
        if dt in ("f32", "f64"):
            F = DTYPE[dt]
            if st == "bf16":
                r = (np.asarray(v).astype(np.uint32) << np.uint32(16)).view(np.float32).astype(F)
            elif st in ("f32", "f64") and rnd in ("rni", "rzi", "rmi", "rpi"):
                r = {"rni": np.rint, "rzi": np.trunc, "rmi": np.floor, "rpi": np.ceil}[rnd](v).astype(F)
            else:
                r = np.asarray(v).astype(F)
            if sat:
                r = np.where(np.isnan(r), F(0), np.clip(r, F(0), F(1)))
            write(ctx, d, idx, r, dt)
            return
        # to an integer
        width = 8 * SIZE[dcls]
        if st in ("f32", "f64"):
            f = np.asarray(v, np.float64)
            f = {"rni": np.rint, "rzi": np.trunc, "rmi": np.floor, "rpi": np.ceil, None: np.trunc}.get(rnd, np.trunc)(f)
            lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if dt.startswith("s") else (0, (1 << width) - 1)
            f = np.where(np.isnan(f), 0, np.clip(f, lo, hi))
            if width == 64:
                r = f.astype(np.int64).astype(np.uint64) if dt.startswith("s") else f.astype(np.uint64)
            else:
                r = (f.astype(np.int64) & ((1 << width) - 1)).astype(DTYPE[dcls])
            write(ctx, d, idx, r, dcls)
            return
        iv = np.asarray(v).astype(np.int64) if st.startswith("s") else np.asarray(v).astype(np.uint64)
        if dt.startswith("s") and width < 64 and sat:
            iv = np.clip(iv, -(1 << (width - 1)), (1 << (width - 1)) - 1)
        write(ctx, d, idx, iv.astype(np.uint64).astype(DTYPE[dcls]) if iv.dtype == np.int64 else iv.astype(DTYPE[dcls]), dcls)
    return fn


def address_of(s, k):
    """'[%rd1+8]', '[sym]', '[p_param+4]' -> (operand or None, symbol or None, offset)"""
    m = re.fullmatch(r"\[\s*([%\w$.]+)\s*(?:\+\s*(-?\d+))?\s*\]", s.strip())
    if not m:
        raise PtxError("address " + s)
    base, off = m.group(1), int(m.group(2) or 0)
    if base.startswith("%"):
        return Operand(base, k), None, off
    return None, base, off


def ldst_fn(head, mods, a, k):
    space = next((m for m in mods[1:] if m in ("global", "shared", "param", "local", "const")), "")
    vec = next((int(m[1:]) for m in mods if re.fullmatch(r"v[248]", m)), 1)
    typ = mods[-1]
    cls = CLASS[typ]
    size = SIZE[cls]
    addr_s, val_s = (a[1], a[0]) if head == "ld" else (a[0], a[1])
    base, sym, off = address_of(addr_s, k)
    names = regs_of(val_s)
    if space == "param":
        if head != "ld":
            raise PtxError("st.param is not supported")
        if sym is not None and sym not in k.param_offsets:
            raise PtxError(f"ld.param of {sym}, not a parameter of {k.name}")

        def ldparam(ctx, idx):
            blob = ctx.param_blob
            for i, n in enumerate(names):
                if sym is not None:  # one address for every thread
                    lo = k.param_offsets[sym] + off + i * size
                    key = (lo, cls)
                    v = ctx.param_cache.get(key)
                    if v is None:
                        if lo + size > len(blob):
                            raise PtxError(f"ld.param reads past the parameters ({len(blob)} bytes)")
                        v = ctx.param_cache[key] = as_cls(UINT[size](int.from_bytes(blob[lo:lo + size], "little")), cls)
                else:
                    at = np.asarray(base.get(ctx, idx, "b64"), np.uint64).astype(np.int64) - PARAM_BASE + off + i * size
                    if ((at < 0) | (at + size > len(blob))).any():
                        raise PtxError("ld.param outside the parameters")
                    u8 = np.frombuffer(blob, np.uint8)
                    v = as_cls(np.ascontiguousarray(u8[at[:, None] + np.arange(size)]).view(UINT[size]).reshape(-1), cls)
                write(ctx, n, idx, v, cls)
        return ldparam
    if sym is not None and sym not in k.shared_syms:
        raise PtxError(f"address {addr_s}: unknown symbol")
    ops = [Operand(n, k) for n in names] if head == "st" else None
    sym_value = k.shared_syms.get(sym, 0) if sym is not None else 0
    is_shared = space == "shared" or sym is not None

    def addresses(ctx, idx):
        if base is None:
            return np.full(len_of(ctx, idx), sym_value + off, np.int64)
        v = np.asarray(base.get(ctx, idx, "b64"), np.uint64).astype(np.int64)
        return v + off if off else v

    def fn(ctx, idx):
        ad = addresses(ctx, idx)
        if vec > 1 and (ad % (size * vec)).any():
            raise PtxError(f"misaligned v{vec} access at {int(ad[np.argmax(ad % (size * vec) != 0)]):#x}")
        if is_shared:
            sh = np.ones(len(ad), bool)
        elif space == "":
            sh = ad >= SHARED_WINDOW
        else:
            sh = np.zeros(len(ad), bool)
        if space == "" and sh.any():
            ad = np.where(sh, ad - SHARED_WINDOW, ad)
        for i in range(vec):
            ai = ad + i * size if i else ad
            if head == "ld":
                out = np.empty(len(ai), UINT[size])
                if sh.all():
                    out[:] = ctx.sload(ai, size, idx)
                elif not sh.any():
                    out[:] = ctx.gload(ai, size)
                else:
                    out[sh] = ctx.sload(ai[sh], size, sub(idx, sh))
                    out[~sh] = ctx.gload(ai[~sh], size)
                write(ctx, names[i], idx, as_cls(out, cls) if cls != "pred" else out != 0, cls)
            else:
                v = np.broadcast_to(as_int(np.asarray(ops[i].get(ctx, idx, cls))), (len(ai),)).astype(UINT[size])
                if sh.all():
                    ctx.sstore(ai, size, v, idx)
                elif not sh.any():
                    ctx.gstore(ai, size, v)
                else:
                    ctx.sstore(ai[sh], size, v[sh], sub(idx, sh))
                    ctx.gstore(ai[~sh], size, v[~sh])
    return fn


def len_of(ctx, idx):
    return ctx.n if isinstance(idx, slice) else len(idx)


def sub(idx, mask):
    """The part of a thread selection where mask is true (idx: slice(None) or an index array)."""
    return np.nonzero(mask)[0] if isinstance(idx, slice) else idx[mask]


def atom_fn(mods, a, k):
    typ = mods[-1]
    cls = CLASS[typ]
    size = SIZE[cls]
    kind = next(m for m in mods[1:] if m in ("add", "or", "and", "xor", "max", "min", "exch"))
    d = a[0]
    base, sym, off = address_of(a[1], k)
    x = Operand(a[2], k)

    def fn(ctx, idx):
        ad = np.asarray(base.get(ctx, idx, "b64"), np.uint64).astype(np.int64) + off
        v = np.broadcast_to(np.asarray(x.get(ctx, idx, cls)), (len(ad),))
        old = as_cls(ctx.gload(ad, size), cls)
        if len(np.unique(ad)) == len(ad):
            if kind == "add":
                new = old + v
            elif kind == "or":
                new = old | v
            elif kind == "and":
                new = old & v
            elif kind == "xor":
                new = old ^ v
            elif kind == "exch":
                new = v
            elif kind == "max":
                new = np.maximum(old, v)
            else:
                new = np.minimum(old, v)
            ctx.gstore(ad, size, as_int(np.asarray(new, DTYPE[cls])).astype(UINT[size]))
        else:  # several threads on one address: one after the other, in thread order
            for i in range(len(ad)):
                cur = as_cls(ctx.gload(ad[i:i + 1], size), cls)
                vi = v[i:i + 1]
                new = {"add": lambda: cur + vi, "or": lambda: cur | vi, "and": lambda: cur & vi,
                       "xor": lambda: cur ^ vi, "exch": lambda: vi, "max": lambda: np.maximum(cur, vi),
                       "min": lambda: np.minimum(cur, vi)}[kind]()
                ctx.gstore(ad[i:i + 1], size, as_int(np.asarray(new, DTYPE[cls])).astype(UINT[size]))
        write(ctx, d, idx, old, cls)
    return fn


def shfl_fn(mods, a, k):
    mode = mods[2]
    dests = a[0].split("|")
    x, b, c = Operand(a[1], k), Operand(a[2], k), Operand(a[3], k)

    def fn(ctx, idx):
        sel = ctx.select(idx)
        val = ctx.R.get(x.name) if x.kind == "reg" else None
        lane = ctx.lane[sel]
        bv = np.asarray(b.get(ctx, idx, "b32")).astype(np.int64)
        cv = np.asarray(c.get(ctx, idx, "b32")).astype(np.int64) & 0x1F
        if mode == "down":
            src = lane + bv
            ok = src <= cv
        elif mode == "up":
            src = lane - bv
            ok = src >= 0
        elif mode == "bfly":
            src = lane ^ bv
            ok = src <= cv
        else:  # idx
            src = bv & 31
            ok = src <= cv
        g = ctx.warp_base[sel] + src
        ok = ok & (src < ctx.warp_lanes[sel])
        gg = np.where(ok, g, sel)
        ok &= ctx.member_mask(sel)[gg]
        own = np.asarray(x.get(ctx, idx, "b32"))
        if val is None:
            r = own
        else:
            r = np.where(ok, as_cls(val[np.where(ok, g, sel)], "b32"), own)
        write(ctx, dests[0], idx, r, "b32")
        if len(dests) > 1:
            write(ctx, dests[1], idx, ok, "pred")
    return fn


def vote_fn(mods, a, k):
    mode = mods[2]
    x = Operand(a[1], k)
    d = a[0]

    def fn(ctx, idx):
        sel = ctx.select(idx)
        p = np.asarray(x.get(ctx, idx, "pred"))
        w = ctx.warp_id[sel]
        counts = np.bincount(w, weights=p.astype(np.float64), minlength=ctx.nwarps)
        totals = np.bincount(w, minlength=ctx.nwarps)
        if mode == "any":
            r = counts[w] > 0
        elif mode == "all":
            r = counts[w] == totals[w]
        elif mode == "uni":
            r = (counts[w] == 0) | (counts[w] == totals[w])
        else:
            raise PtxError("vote." + mode)
        write(ctx, d, idx, r, "pred")
    return fn


# ---- running ----

class Chunk:
    """The state of the blocks that step together: registers, shared memory, special registers."""

    def __init__(self, kernel, mem, args, blocks, gx, gy, block, dyn_shared):
        self.k, self.mem, self.param_blob = kernel, mem, args
        self.param_cache = {}
        nb = len(blocks)
        self.n = n = nb * block
        self.block = block
        self.R = {}
        t = np.arange(n, dtype=np.int64)
        self.all = t
        self.everyone = np.ones(n, bool)
        self.tid = (t % block).astype(np.uint32)
        local = t // block
        self.block_local = local
        bidx = np.asarray(blocks, np.int64)[local]
        self._special = {"%tid.x": self.tid, "%ntid.x": np.full(n, block, np.uint32),
                         "%ctaid.x": (bidx % gx).astype(np.uint32), "%ctaid.y": (bidx // gx).astype(np.uint32),
                         "%nctaid.x": np.full(n, gx, np.uint32), "%nctaid.y": np.full(n, gy, np.uint32),
                         "%laneid": (self.tid & 31).astype(np.uint32), "%warpid": (self.tid >> 5).astype(np.uint32),
                         "%tid.y": np.zeros(n, np.uint32), "%tid.z": np.zeros(n, np.uint32),
                         "%ntid.y": np.ones(n, np.uint32), "%ntid.z": np.ones(n, np.uint32),
                         "%ctaid.z": np.zeros(n, np.uint32), "%nctaid.z": np.ones(n, np.uint32)}
        self.lane = (self.tid & 31).astype(np.int64)
        wpb = (block + 31) // 32
        self.warp_id = local * wpb + (self.tid >> 5).astype(np.int64)
        self.nwarps = nb * wpb
        self.warp_base = t - self.lane
        self.warp_lanes = np.minimum(32, block - (self.tid.astype(np.int64) - self.lane))
        self.shared_size = max(16, (max(kernel.static_shared, kernel.extern_offset + dyn_shared) + 15) // 16 * 16)
        self.smem = np.full(nb * self.shared_size, 0xFF, np.uint8)

    def special(self, name):
        if name not in self._special:
            raise PtxError("special register " + name)
        return self._special[name]

    def select(self, idx):
        return self.all if isinstance(idx, slice) else idx

    def member_mask(self, sel):
        if sel is self.all:
            return self.everyone
        m = np.zeros(self.n, bool)
        m[sel] = True
        return m

    # global memory
    def _locate(self, ad, size):
        """(uint8 view, byte offsets) per buffer touched: [(view, offsets, positions)]"""
        if len(ad) == 0:
            return []
        if (ad % size).any() and size in (2, 4, 8, 16):
            bad = int(ad[np.argmax(ad % size != 0)])
            raise PtxError(f"misaligned access of {size} bytes at {bad:#x}")
        lo, hi = int(ad.min()), int(ad.max())
        raw, o = self.mem.find(lo, size)
        base = lo - o
        if hi + size - base <= len(raw):
            return [(raw, base, ad - base, None)]
        out, todo = [], np.ones(len(ad), bool)
        while todo.any():
            a0 = int(ad[todo].min())
            raw, o = self.mem.find(a0, size)
            base = a0 - o
            inside = todo & (ad >= base) & (ad + size <= base + len(raw))
            pos = np.nonzero(inside)[0]
            if len(pos) == 0:
                raise PtxError(f"access of {size} bytes at {a0:#x} outside every buffer")
            out.append((raw, base, ad[pos] - base, pos))
            todo &= ~inside
        return out

    @staticmethod
    def _typed(raw, base, size):
        u8 = raw if isinstance(raw, np.ndarray) else np.frombuffer(raw, np.uint8)
        if base % size == 0:
            count = len(u8) // size
            return u8[:count * size].view(UINT[size])
        return None

    def gload(self, ad, size):
        out = np.empty(len(ad), UINT[size])
        for raw, base, offs, pos in self._locate(ad, size):
            tv = self._typed(raw, base, size)
            vals = tv[offs // size] if tv is not None else self._bytes(raw, offs, size)
            if pos is None:
                out[:] = vals
            else:
                out[pos] = vals
        return out

    def gstore(self, ad, size, v):
        for raw, base, offs, pos in self._locate(ad, size):
            vals = v if pos is None else v[pos]
            tv = self._typed(raw, base, size)
            if tv is not None:
                tv[offs // size] = vals
            else:
                u8 = raw if isinstance(raw, np.ndarray) else np.frombuffer(raw, np.uint8)
                u8[offs[:, None] + np.arange(size)] = np.asarray(vals, UINT[size]).view(np.uint8).reshape(-1, size)

    @staticmethod
    def _bytes(raw, offs, size):
        u8 = raw if isinstance(raw, np.ndarray) else np.frombuffer(raw, np.uint8)
        return np.ascontiguousarray(u8[offs[:, None] + np.arange(size)]).view(UINT[size]).reshape(-1)

    # shared memory
    def _soffsets(self, ad, size, idx):
        S = self.shared_size
        if len(ad) and (int(ad.min()) < 0 or int(ad.max()) + size > S):
            bad = int(ad[np.argmax((ad < 0) | (ad + size > S))])
            raise PtxError(f"shared access of {size} bytes at {bad} (the block has {S})")
        if size > 1 and (ad & (size - 1)).any():
            raise PtxError(f"misaligned shared access of {size} bytes at {int(ad[np.argmax(ad % size != 0)])}")
        return (self.block_local[idx] * S + ad) // size

    def sload(self, ad, size, idx):
        return self.smem.view(UINT[size])[self._soffsets(ad, size, idx)]

    def sstore(self, ad, size, v, idx):
        self.smem.view(UINT[size])[self._soffsets(ad, size, idx)] = v


def run_chunk(ctx, code, name):
    n = ctx.n
    pcs = np.zeros(n, np.int64)
    state = np.zeros(n, np.int8)  # 0 runs, 1 waits at a barrier, 2 exited
    ALL = slice(None)
    group, p = ALL, 0
    others = 1 << 62  # the lowest pc of the threads that can run but are not in the group
    steps = 0
    while True:
        if group is not None and p >= others:
            pcs[ctx.select(group)] = p  # meet the threads waiting here (or jumped over): schedule again
            group = None
        if group is None:
            ready = np.nonzero(state == 0)[0]
            if len(ready) == 0:
                waiting = state == 1
                if not waiting.any():
                    return steps
                nb = n // ctx.block
                live = np.bincount(ctx.block_local, weights=(state != 2), minlength=nb)
                wait = np.bincount(ctx.block_local, weights=waiting, minlength=nb)
                exited = np.bincount(ctx.block_local, weights=(state == 2), minlength=nb)
                release = (live == wait) & (wait > 0)
                if not release.any():
                    raise PtxError(f"{name}: deadlock at a barrier")
                if (release & (exited > 0)).any():
                    raise PtxError(f"{name}: bar.sync with exited threads in a block")
                rel = waiting & release[ctx.block_local]
                state[rel] = 0
                pcs[rel] += 1
                continue
            rp = pcs[ready]
            p = int(rp.min())
            at = rp == p
            group = ready[at]
            others = int(rp[~at].min()) if not at.all() else 1 << 62
            if len(group) == n:
                group = ALL
        if p >= len(code):
            raise PtxError(f"{name}: fell off the end of the kernel")
        ins = code[p]
        steps += 1
        sel = group
        if ins.guard is not None:
            arr = ctx.R.get(ins.guard)
            if arr is None:
                raise PtxError(f"{name}: predicate {ins.guard} read before it is written [{ins.text}]")
            g = arr[group] != ins.neg
            if g.all():
                pass
            elif not g.any():
                p += 1
                continue
            else:
                sel = sub(group, g)
        try:
            kind = ins.kind
            if kind == "op" or kind == "shfl" or kind == "vote":
                if kind != "op" and not isinstance(group, slice) and len(group) != int((state != 2).sum()):
                    check_warps(ctx, group, state, name, ins)
                ins.fn(ctx, sel)
                p += 1
            elif kind == "bra":
                if sel is group:
                    p = ins.target
                else:
                    idx = ctx.select(group)
                    pcs[idx] = p + 1
                    pcs[ctx.select(sel)] = ins.target
                    group = None
            elif kind == "ret":
                idx = ctx.select(group)
                pcs[idx] = p + 1
                state[ctx.select(sel)] = 2
                group = None
            elif kind == "bar":
                if sel is not group:
                    raise PtxError("a predicated bar.sync is not supported")
                idx = ctx.select(group)
                pcs[idx] = p
                state[idx] = 1
                group = None
        except PtxError as e:
            raise PtxError(f"{name}: [{ins.text}]: {e}") from None
        except (IndexError, ValueError, TypeError, KeyError) as e:
            raise PtxError(f"{name}: [{ins.text}]: {type(e).__name__}: {e}") from None


def check_warps(ctx, group, state, name, ins):
    """Every live lane of each warp in the group is in the group."""
    inside = np.bincount(ctx.warp_id[group], minlength=ctx.nwarps)
    live = np.bincount(ctx.warp_id, weights=(state != 2), minlength=ctx.nwarps)
    if ((inside > 0) & (inside != live)).any():
        raise PtxError(f"{name}: a warp diverged at a warp collective [{ins.text}]")


def launch(module, mem, entry, grid, block, args, dyn_shared=0):
    k = module.kernel(entry)
    if len(args) != len(k.params):
        raise PtxError(f"{entry}: {len(k.params)} parameters, {len(args)} arguments")
    blob = bytearray(k.param_bytes)
    for a, (pname, _, size) in zip(args, k.params):
        data = bytes(a)
        if len(data) > size:
            raise PtxError(f"{entry}: {len(data)} bytes for parameter {pname} of {size}")
        o = k.param_offsets[pname]
        blob[o:o + len(data)] = data
    args = bytes(blob)
    gx, gy = (grid, 1) if isinstance(grid, int) else (grid[0], grid[1] if len(grid) > 1 else 1)
    total = gx * gy
    per = max(1, CHUNK_THREADS // block)
    steps = 0
    for start in range(0, total, per):
        blocks = list(range(start, min(total, start + per)))
        ctx = Chunk(k, mem, args, blocks, gx, gy, block, dyn_shared)
        steps += run_chunk(ctx, k.code, entry)
    return steps
