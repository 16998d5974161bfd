#!/usr/bin/env python3
"""A small PTX interpreter for the runtime kernels (elementwise, reduce, index, philox), to run them on a CPU.

Development check, not a GPU. Each thread is a Python generator that runs its own instruction stream and
pauses at shfl.sync (all 32 lanes of its warp must arrive) and bar.sync (all threads of the block); then the
collective runs for all of them. Registers hold raw bit patterns; each instruction reads them as its type, so
bit casts (mov.b32 of a float) behave as on hardware. Floating point: f32 ops round like IEEE f32 (numpy
float32), f64 ops are Python floats, fma is exact-then-rounded, sqrt/div correctly rounded. Strict: a global
access outside every buffer or misaligned raises; a register read before it is written raises.
"""

import re
import struct

import numpy as np

np.seterr(all="ignore")
M32, M64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


def f32b(x):
    return struct.unpack("<I", struct.pack("<f", np.float32(x)))[0]


def bf32(b):
    return np.frombuffer(struct.pack("<I", b & M32), dtype=np.float32)[0]


def f64b(x):
    return struct.unpack("<Q", struct.pack("<d", float(x)))[0]


def bf64(b):
    return struct.unpack("<d", struct.pack("<Q", b & M64))[0]


def s32(x):
    x &= M32
    return x - (1 << 32) if x >> 31 else x


def s64(x):
    x &= M64
    return x - (1 << 64) if x >> 63 else x


class PtxError(Exception):
    pass


class Memory:
    def __init__(self):
        self.bufs = []
        self.next = 0x7F0000000000

    def alloc(self, nbytes_or_array):
        if isinstance(nbytes_or_array, int):
            raw = bytearray(nbytes_or_array)
        else:
            raw = bytearray(np.ascontiguousarray(nbytes_or_array).tobytes())
        base = self.next
        self.next += (len(raw) // 0x10000 + 2) * 0x10000
        self.bufs.append((base, raw))
        return base

    def find(self, a, n):
        for base, raw in self.bufs:
            if base <= a and a + n <= base + len(raw):
                return raw, a - base
        raise PtxError(f"access of {n} bytes at {a:#x} outside every buffer")

    def read(self, a, n):
        if a % n:
            raise PtxError(f"misaligned read of {n} bytes at {a:#x}")
        raw, o = self.find(a, n)
        return bytes(raw[o:o + n])

    def write(self, a, data):
        if a % len(data):
            raise PtxError(f"misaligned write of {len(data)} bytes at {a:#x}")
        raw, o = self.find(a, len(data))
        raw[o:o + len(data)] = data

    def array(self, a, dtype, count):
        raw, o = self.find(a, np.dtype(dtype).itemsize * count)
        return np.frombuffer(bytes(raw[o:o + np.dtype(dtype).itemsize * count]), dtype=dtype).copy()


class Func:
    def __init__(self, name, params, rets, body, entry):
        self.name, self.params, self.rets, self.entry = name, params, rets, entry
        self.code, self.labels = [], {}
        for stmt in body:
            if stmt.endswith(":") and " " not in stmt:
                self.labels[stmt[:-1]] = len(self.code)
            elif stmt.startswith("."):
                continue  # .reg and other declarations
            else:
                self.code.append(parse_ins(stmt))


def parse_ins(stmt):
    pred = None
    neg = False
    m = re.match(r"@(!?)(%\w+)\s+(.*)", stmt, re.S)
    if m:
        neg, pred, stmt = m.group(1) == "!", m.group(2), m.group(3)
    op, _, rest = stmt.partition(" ")
    args = split_args(rest.strip())
    return (op.split("."), args, pred, neg, stmt)


def split_args(s):
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def parse_decls(s):
    """'.param .u64 p_y, .param .align 4 .b8 geom[100]' or '.reg .f32 %x, ...' -> [(name, type, bytes)]"""
    out = []
    for part in split_args(s):
        toks = part.split()
        name = toks[-1]
        typ = [t for t in toks if t.startswith(".") and t not in (".param", ".reg") and not t == ".align"][-1]
        m = re.match(r"(\S+)\[(\d+)\]", name)
        size = int(m.group(2)) if m else int(re.sub(r"\D", "", typ) or 32) // 8
        out.append((m.group(1) if m else name, typ, size))
    return out


class Module:
    def __init__(self, text):
        text = re.sub(r"//[^\n]*", "", text)
        self.funcs = {}
        self.shared = {}
        for m in re.finditer(r"\.shared\s+\.align\s+\d+\s+\.(\w+)\s+(\w+)\[(\d+)\];", text):
            self.shared[m.group(2)] = int(re.sub(r"\D", "", m.group(1))) // 8 * int(m.group(3))
        pos = 0
        pat = re.compile(r"(\.visible\s+\.entry|\.func)\s*(\([^)]*\))?\s*(\w+)\s*\(([^)]*)\)\s*\{", re.S)
        while True:
            m = pat.search(text, pos)
            if not m:
                break
            depth, i = 1, m.end()
            while depth:
                if text[i] == "{":
                    depth += 1
                elif text[i] == "}":
                    depth -= 1
                i += 1
            body = text[m.end():i - 1]
            stmts = []
            for chunk in body.split(";"):
                chunk = chunk.strip()
                while True:  # labels glued to the next statement
                    lm = re.match(r"(\w+):\s*(.*)", chunk, re.S)
                    if not lm:
                        break
                    stmts.append(lm.group(1) + ":")
                    chunk = lm.group(2).strip()
                if chunk:
                    stmts.append(" ".join(chunk.split()))
            rets = parse_decls(m.group(2)[1:-1]) if m.group(2) else []
            self.funcs[m.group(3)] = Func(m.group(3), parse_decls(m.group(4)), rets, stmts, "entry" in m.group(1))
            pos = i


class Thread:
    def __init__(self, tid, ctaid):
        self.tid, self.ctaid = tid, ctaid
        self.collective = None


class Launch:
    def __init__(self, module, mem, name, grid, block, args):
        self.mod, self.mem, self.f = module, mem, module.funcs[name]
        self.grid, self.block = grid, block
        # kernel parameters live in a param buffer: name -> address
        self.param_addr = {}
        self.parmem = Memory()
        self.parmem.next = 0x100000
        for (pname, typ, size), value in zip(self.f.params, args):
            if isinstance(value, (bytes, bytearray)):
                data = bytes(value).ljust(size, b"\0")
            elif typ == ".f32":
                data = struct.pack("<f", value)
            elif typ == ".f64":
                data = struct.pack("<d", value)
            elif size == 8:
                data = struct.pack("<Q", value & M64)
            else:
                data = struct.pack("<I", value & M32)
            a = self.parmem.alloc(len(data))
            self.parmem.write(a, data) if len(data) in (1, 2, 4, 8) else self._raw(a, data)
            self.param_addr[pname] = a
        if len(args) != len(self.f.params):
            raise PtxError(f"{name}: {len(self.f.params)} parameters, {len(args)} arguments")

    def _raw(self, a, data):
        raw, o = self.parmem.find(a, len(data))
        raw[o:o + len(data)] = data

    def run(self):
        for cta in range(self.grid):
            shared = Memory()
            shared.next = 0x1000
            saddr = {n: shared.alloc(sz) for n, sz in self.mod.shared.items()}
            threads = [Thread(t, cta) for t in range(self.block)]
            gens = [self.exec_func(self.f, {}, th, shared, saddr) for th in threads]
            alive = list(range(self.block))
            waiting = {}
            for t in alive:
                self.advance(gens, t, waiting)
            while waiting:
                kinds = {waiting[t][0] for t in waiting}
                done_any = False
                # bar.sync: every live thread of the block waits at a barrier
                live = [t for t in range(self.block) if gens[t] is not None]
                if all(t in waiting and waiting[t][0] == "bar" for t in live):
                    for t in live:
                        del waiting[t]
                    for t in live:
                        self.advance(gens, t, waiting, None)
                    done_any = True
                else:
                    for w in range(0, self.block, 32):
                        lanes = [t for t in range(w, min(w + 32, self.block)) if gens[t] is not None]
                        if lanes and all(t in waiting and waiting[t][0] == "shfl" for t in lanes):
                            vals = {t: waiting[t][1] for t in lanes}
                            res = {}
                            for t in lanes:
                                src_val, delta, clamp = vals[t]
                                lane = t - w
                                s = lane + delta
                                res[t] = vals[w + s][0] if s <= clamp and (w + s) in vals else src_val
                            for t in lanes:
                                del waiting[t]
                            for t in lanes:
                                self.advance(gens, t, waiting, res[t])
                            done_any = True
                if not done_any:
                    raise PtxError(f"deadlock in block {cta}: waiting {sorted(kinds)} for {len(waiting)} threads")

    def advance(self, gens, t, waiting, value=None):
        try:
            req = gens[t].send(value)
        except StopIteration:
            gens[t] = None
            return
        waiting[t] = req

    # ---- interpretation ----
    def exec_func(self, f, args, th, shared, saddr):
        R = dict(args)
        code, labels = f.code, f.labels
        pc = 0
        while pc < len(code):
            ops, a, pred, neg, text = code[pc]
            pc += 1
            if pred is not None:
                if pred not in R:
                    raise PtxError(f"{f.name}: predicate {pred} read before written: {text}")
                if bool(R[pred]) == neg:
                    continue
            head = ops[0]
            try:
                if head == "ret":
                    return R
                if head == "bra":
                    pc = labels[a[0]]
                    continue
                if head == "call":
                    yield from self.call(a, R, th, shared, saddr)
                    continue
                if head == "bar":
                    yield ("bar",)
                    continue
                if head == "shfl":
                    # shfl.sync.down.b32 d, a, b, c, mask
                    v = yield ("shfl", (self.val(R, a[1], "b32"), self.val(R, a[2], "u32"), self.val(R, a[3], "u32")))
                    R[a[0]] = v
                    continue
                self.execute(ops, a, R, th, shared, saddr)
            except PtxError as e:
                raise PtxError(f"{f.name}: [{text}] thread {th.tid} block {th.ctaid}: {e}")
            except KeyError as e:
                raise PtxError(f"{f.name}: [{text}] thread {th.tid}: register {e} read before written")
        return R

    def call(self, a, R, th, shared, saddr):
        # call (r1, r2), name, (a1, a2);   or   call name, (args);
        if a[0].startswith("("):
            rets = [x.strip() for x in a[0][1:-1].split(",") if x.strip()]
            name, argl = a[1], a[2]
        else:
            rets, name, argl = [], a[0], a[1]
        g = self.mod.funcs[name]
        vals = [x.strip() for x in argl[1:-1].split(",") if x.strip()]
        frame = {}
        for (pname, typ, _), v in zip(g.params, vals):
            frame[pname] = self.val(R, v, typ[1:])
        out = yield from self.exec_func(g, frame, th, shared, saddr)
        for r, (rname, _, _) in zip(rets, g.rets):
            R[r] = out[rname]

    def val(self, R, s, typ):
        s = s.strip()
        if s.startswith("%"):
            return R[s]
        if s.startswith("0f"):
            return int(s[2:], 16)
        if s.startswith("0d"):
            return int(s[2:], 16)
        if s in self.param_addr:
            return self.param_addr[s]
        v = int(s, 0)
        w = 64 if typ.endswith("64") else 32
        return v & ((1 << w) - 1)

    def addr(self, R, s):
        s = s.strip()[1:-1]
        m = re.match(r"([%\w]+)\s*(?:\+\s*(-?\d+))?$", s)
        base, off = m.group(1), int(m.group(2) or 0)
        if base.startswith("%"):
            return R[base] + off, None
        return None, (base, off)

    def f32(self, R, s):
        return bf32(self.val(R, s, "f32"))

    def f64(self, R, s):
        return bf64(self.val(R, s, "f64"))

    def execute(self, ops, a, R, th, shared, saddr):
        head, typ = ops[0], ops[-1]
        sp = {"%tid.x": th.tid, "%ntid.x": self.block, "%ctaid.x": th.ctaid, "%nctaid.x": self.grid}
        if head == "mov":
            src = a[1]
            if src in sp:
                R[a[0]] = sp[src]
            elif src in saddr:
                R[a[0]] = saddr[src]
            elif a[0].startswith("{"):  # unpack
                lo, hi = [x.strip() for x in a[0][1:-1].split(",")]
                v = self.val(R, src, typ)
                R[lo], R[hi] = v & M32, (v >> 32) & M32
            elif src.startswith("{"):  # pack
                lo, hi = [x.strip() for x in src[1:-1].split(",")]
                R[a[0]] = (self.val(R, lo, "b32") & M32) | ((self.val(R, hi, "b32") & M32) << 32)
            else:
                R[a[0]] = self.val(R, src, typ)
            return
        if head in ("ld", "st"):
            space = ops[1]
            t = typ
            size = {"f32": 4, "u32": 4, "s32": 4, "b32": 4, "f64": 8, "u64": 8, "s64": 8, "b64": 8, "u16": 2, "b16": 2}[t]
            target = a[1] if head == "ld" else a[0]
            ad, sym = self.addr(R, target)
            if space == "param":
                if sym is not None:
                    ad = self.param_addr[sym[0]] + sym[1]
                mem = self.parmem
            elif space == "shared":
                mem = shared
            else:
                mem = self.mem
            if head == "ld":
                raw = mem.read(ad, size)
                v = int.from_bytes(raw, "little")
                if t == "s32":
                    v = v & M32
                R[a[0]] = v
            else:
                v = self.val(R, a[1], t)
                mem.write(ad, (v & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))
            return
        if head == "cvta":
            R[a[0]] = self.val(R, a[1], "u64")
            return
        if head == "atom":
            # atom.global.or.b32 d, [a], b / atom.global.add.f32 / .f64
            kind = ops[2]
            ad, _ = self.addr(R, a[1])
            size = 8 if typ.endswith("64") else 4
            old = int.from_bytes(self.mem.read(ad, size), "little")
            b = self.val(R, a[2], typ)
            if kind == "or":
                new = old | b
            elif typ == "f32":
                new = f32b(bf32(old) + bf32(b))
            else:
                new = f64b(bf64(old) + bf64(b))
            self.mem.write(ad, new.to_bytes(size, "little"))
            R[a[0]] = old
            return
        if head == "setp":
            cmp = ops[1]
            if typ in ("f32", "f64"):
                x, y = (self.f32(R, a[1]), self.f32(R, a[2])) if typ == "f32" else (self.f64(R, a[1]), self.f64(R, a[2]))
                unordered = np.isnan(x) or np.isnan(y)
                base = cmp[:-1] if cmp.endswith("u") and cmp not in ("lu",) and len(cmp) == 3 else cmp
                if cmp in ("neu", "equ", "ltu", "leu", "gtu", "geu"):
                    if unordered:
                        r = True
                    else:
                        r = {"ne": x != y, "eq": x == y, "lt": x < y, "le": x <= y, "gt": x > y, "ge": x >= y}[cmp[:2]]
                else:
                    r = False if unordered else {"ne": x != y, "eq": x == y, "lt": x < y, "le": x <= y,
                                                 "gt": x > y, "ge": x >= y}[cmp]
            else:
                x, y = self.val(R, a[1], typ), self.val(R, a[2], typ)
                if typ.startswith("s"):
                    x, y = s32(x), s32(y)
                r = {"ne": x != y, "eq": x == y, "lt": x < y, "le": x <= y, "gt": x > y, "ge": x >= y}[cmp]
            R[a[0]] = r
            return
        if typ == "pred":
            if head == "not":
                R[a[0]] = not R[a[1]]
            elif head == "and":
                R[a[0]] = R[a[1]] and R[a[2]]
            elif head == "or":
                R[a[0]] = R[a[1]] or R[a[2]]
            else:
                raise PtxError("unsupported " + ".".join(ops))
            return
        if head == "selp":
            R[a[0]] = self.val(R, a[1], typ) if R[a[3]] else self.val(R, a[2], typ)
            return
        if head == "testp":
            R[a[0]] = bool(np.isnan(self.f32(R, a[1]) if typ == "f32" else self.f64(R, a[1])))
            return
        if head == "cvt":
            self.cvt(ops, a, R)
            return
        if typ == "f32":
            v = [self.f32(R, s) for s in a[1:]]
            F = np.float32
            if head == "add":
                r = F(v[0] + v[1])
            elif head == "sub":
                r = F(v[0] - v[1])
            elif head == "mul":
                r = F(v[0] * v[1])
            elif head == "div":
                r = F(np.float64(v[0]) / np.float64(v[1])) if v[1] != 0 else F(v[0]) / F(v[1])
            elif head == "sqrt":
                r = F(np.sqrt(np.float64(v[0])))
            elif head == "abs":
                r = np.abs(v[0])
            elif head == "neg":
                r = -v[0]
            elif head == "max":
                r = F(np.nan) if (np.isnan(v[0]) or np.isnan(v[1])) and "NaN" in ops else F(np.fmax(v[0], v[1]))
            elif head == "min":
                r = F(np.nan) if (np.isnan(v[0]) or np.isnan(v[1])) and "NaN" in ops else F(np.fmin(v[0], v[1]))
            elif head == "fma":
                r = F(float(v[0]) * float(v[1]) + float(v[2]))
            else:
                raise PtxError("unsupported " + ".".join(ops))
            R[a[0]] = f32b(r) if not (head == "neg" or head == "abs") else self.signop(head, self.val(R, a[1], "f32"))
            return
        if typ == "f64":
            v = [self.f64(R, s) for s in a[1:]]
            if head == "add":
                r = v[0] + v[1]
            elif head == "sub":
                r = v[0] - v[1]
            elif head == "mul":
                r = v[0] * v[1]
            elif head == "div":
                r = v[0] / v[1] if v[1] != 0 else (np.float64(v[0]) / np.float64(v[1]))
            elif head == "sqrt":
                r = float(np.sqrt(np.float64(v[0])))
            elif head == "neg":
                r = -v[0]
            elif head == "fma":
                from fractions import Fraction
                if all(np.isfinite(x) for x in v):
                    r = float(Fraction(v[0]) * Fraction(v[1]) + Fraction(v[2]))
                else:
                    r = v[0] * v[1] + v[2]
            else:
                raise PtxError("unsupported " + ".".join(ops))
            R[a[0]] = f64b(r)
            return
        # integer and bit ops
        w = 64 if typ.endswith("64") else 32
        if typ == "b16" or typ == "u16":
            w = 16
        mask = (1 << w) - 1
        if head == "mul" and ops[1] == "wide":
            x, y = self.val(R, a[1], typ), self.val(R, a[2], typ)
            if typ == "s32":
                x, y = s32(x), s32(y)
            R[a[0]] = (x * y) & M64
            return
        v = [self.val(R, s, typ) for s in a[1:]]
        signed = typ.startswith("s")
        sv = [s32(x) if w == 32 else s64(x) for x in v] if signed else v
        if head == "add":
            r = v[0] + v[1]
        elif head == "sub":
            r = v[0] - v[1]
        elif head == "mul":
            if ops[1] == "hi":
                r = ((v[0] & mask) * (v[1] & mask)) >> w
            else:
                r = sv[0] * sv[1]
        elif head == "mad":
            r = sv[0] * sv[1] + sv[2]
        elif head == "div":
            if signed:
                q = abs(sv[0]) // abs(sv[1])
                r = q if (sv[0] < 0) == (sv[1] < 0) else -q
            else:
                r = (v[0] & mask) // (v[1] & mask)
        elif head == "shl":
            r = v[0] << (v[1] & 0xFF)
        elif head == "shr":
            r = (sv[0] >> v[1]) if signed else ((v[0] & mask) >> v[1])
        elif head == "and":
            r = v[0] & v[1]
        elif head == "or":
            r = v[0] | v[1]
        elif head == "xor":
            r = v[0] ^ v[1]
        elif head == "not":
            r = ~v[0]
        else:
            raise PtxError("unsupported " + ".".join(ops))
        R[a[0]] = r & mask

    @staticmethod
    def signop(head, bits):
        return (bits ^ 0x80000000) if head == "neg" else (bits & 0x7FFFFFFF)

    def cvt(self, ops, a, R):
        mods = ops[1:]
        dst, src = mods[-2], mods[-1]
        rnd = [m for m in mods[:-2] if m in ("rn", "rzi", "rni", "rz")]
        rnd = rnd[0] if rnd else None
        x = a[1]
        if src == "f32":
            v = float(self.f32(R, x))
        elif src == "f64":
            v = self.f64(R, x)
        elif src in ("s32",):
            v = s32(self.val(R, x, src))
        elif src in ("u32", "u64", "u16"):
            v = self.val(R, x, src)
        else:
            raise PtxError("unsupported cvt source " + src)
        if dst == "f32":
            if rnd == "rzi":
                r = float(np.trunc(v)) if np.isfinite(v) else v
                R[a[0]] = f32b(np.float32(r))
            else:
                R[a[0]] = f32b(np.float32(v))
            return
        if dst == "f64":
            R[a[0]] = f64b(float(v))
            return
        if dst == "bf16":
            b = f32b(np.float32(v))
            if (b & 0x7F800000) == 0x7F800000 and (b & 0x7FFFFF):
                R[a[0]] = 0x7FFF
            else:
                R[a[0]] = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) & 0xFFFF
            return
        if dst in ("s32", "u32", "u64", "u16"):
            if isinstance(v, float):
                if np.isnan(v):
                    iv = 0
                elif rnd == "rni":
                    iv = int(np.rint(v)) if np.isfinite(v) else (1 << 40 if v > 0 else -(1 << 40))
                else:
                    iv = int(np.trunc(v)) if np.isfinite(v) else (1 << 40 if v > 0 else -(1 << 40))
                if dst == "s32":
                    iv = max(-(1 << 31), min((1 << 31) - 1, iv))
            else:
                iv = v
            w = {"s32": 32, "u32": 32, "u64": 64, "u16": 16}[dst]
            R[a[0]] = iv & ((1 << w) - 1)
            return
        raise PtxError("unsupported cvt " + ".".join(ops))


def launch(module, mem, name, grid, block, args):
    Launch(module, mem, name, grid, block, args).run()
