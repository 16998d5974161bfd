#!/usr/bin/env python3
"""A small, strict PTX interpreter for the instruction subset of the attention kernels, to run them on a CPU.

It is a development check, not a GPU: every thread runs its own instruction stream (so divergent branches are
fine), and the collective instructions (bar.sync, shfl.sync, vote.sync, ldmatrix, mma.sync) wait until every
thread they involve has arrived at the same instruction, then run for all of them at once. It is strict where
real hardware would silently give garbage:
  * shared memory starts filled with 0xFF bytes (NaN as f32 and bf16), so a read of an unwritten element shows;
  * a global access outside every buffer raises, and so does a misaligned one;
  * cp.async data lands only at cp.async.wait_group / wait_all, so a read before the wait sees the old bytes;
  * a warp collective needs all 32 lanes at the same instruction, a barrier all threads of the block.
Floating point: f32 arithmetic rounds like IEEE f32 (numpy float32); fma is computed in f64 and rounded once;
ex2/lg2 are exact (the hardware's approximations err by about 2^-22); mma sums its products in f64 and rounds
the result once (the hardware's order is unspecified). The fragment layouts of ldmatrix and mma.m16n8k16 are the
PTX ISA's tables, so the emulator checks the kernels' use of them, not the tables themselves.
"""

import re
import struct

import numpy as np

np.seterr(all="ignore")

MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF
F32 = np.float32


def f2b(x):
    return int(np.float32(x).view(np.uint32))


def b2f(b):
    return np.uint32(b & MASK32).view(np.float32)


def bf16_bits(x):
    """f32 -> bf16 bits, round to nearest even (NaN stays NaN)."""
    b = f2b(x)
    if (b & 0x7F800000) == 0x7F800000 and (b & 0x7FFFFF):
        return (b >> 16) | 0x40
    b += 0x7FFF + ((b >> 16) & 1)
    return (b >> 16) & 0xFFFF


def bf16_to_f32(h):
    return b2f((h & 0xFFFF) << 16)


class EmuError(Exception):
    pass


class Memory:
    """Global memory: numpy byte buffers at fixed, well separated device addresses."""

    def __init__(self):
        self.buffers = []  # (base, bytearray-like numpy uint8)
        self.next = 0x7F0000000000

    def alloc(self, array):
        raw = np.frombuffer(np.ascontiguousarray(array).tobytes(), dtype=np.uint8).copy()
        base = self.next
        self.next += ((raw.size + 0xFFFF) // 0x10000 + 1) * 0x10000
        self.buffers.append((base, raw))
        return base

    def find(self, addr, size):
        for base, raw in self.buffers:
            if base <= addr and addr + size <= base + raw.size:
                return raw, addr - base
        raise EmuError(f"global access of {size} bytes at {addr:#x} is outside every buffer")

    def read(self, addr, size):
        if addr % size:
            raise EmuError(f"misaligned global read of {size} bytes at {addr:#x}")
        raw, off = self.find(addr, size)
        return bytes(raw[off:off + size])

    def write(self, addr, data):
        if addr % len(data):
            raise EmuError(f"misaligned global write of {len(data)} bytes at {addr:#x}")
        raw, off = self.find(addr, len(data))
        raw[off:off + len(data)] = np.frombuffer(data, dtype=np.uint8)

    def array(self, addr, dtype, count):
        raw, off = self.find(addr, np.dtype(dtype).itemsize * count)
        return raw[off:off + np.dtype(dtype).itemsize * count].view(dtype).copy()


# ------------------------------------------------------------------------------------------------------------
# parsing
# ------------------------------------------------------------------------------------------------------------

class Instr:
    __slots__ = ("op", "mods", "args", "pred", "neg", "line", "text", "collective")

    def __init__(self, op, args, pred, neg, line, text):
        self.op = op
        parts = op.split(".")
        self.mods = parts
        self.args = args
        self.pred = pred
        self.neg = neg
        self.line = line
        self.text = text
        head = parts[0]
        self.collective = None
        if head == "bar":
            self.collective = "block"
        elif head in ("shfl", "vote", "ldmatrix", "mma"):
            self.collective = "warp"


class Kernel:
    def __init__(self, name):
        self.name = name
        self.params = []          # names
        self.shared = {}          # name -> (offset, size)
        self.shared_size = 0
        self.code = []
        self.labels = {}


def split_args(s):
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def parse(text):
    kernels = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].split("//")[0].strip()
        m = re.match(r"\.visible\s+\.entry\s+(\w+)\s*\(", line)
        if not m:
            i += 1
            continue
        k = Kernel(m.group(1))
        i += 1
        while True:
            pl = lines[i].split("//")[0].strip()
            i += 1
            pm = re.match(r"\.param\s+\.\w+\s+(\w+)", pl)
            if pm:
                k.params.append(pm.group(1))
            if pl.startswith(")"):
                break
        while "{" not in lines[i]:
            i += 1
        i += 1
        while True:
            raw = lines[i]
            line = raw.split("//")[0].strip()
            i += 1
            if line == "}":
                break
            if not line:
                continue
            sm = re.match(r"\.shared\s+\.align\s+(\d+)\s+\.(\w+)\s+(\w+)\[(\d+)\];", line)
            if sm:
                align, typ, name, n = int(sm.group(1)), sm.group(2), sm.group(3), int(sm.group(4))
                size = n * {"b8": 1, "f32": 4, "b32": 4, "b16": 2}[typ]
                off = (k.shared_size + align - 1) // align * align
                k.shared[name] = (off, size)
                k.shared_size = off + size
                continue
            if line.startswith(".reg"):
                continue
            lm = re.match(r"^(\w+):$", line)
            if lm:
                k.labels[lm.group(1)] = len(k.code)
                continue
            assert line.endswith(";"), f"line {i}: {line}"
            body = line[:-1].strip()
            pred, neg = None, False
            pm = re.match(r"^@(!?)(%\w+)\s+(.*)$", body)
            if pm:
                neg, pred, body = pm.group(1) == "!", pm.group(2), pm.group(3)
            parts = body.split(None, 1)
            op = parts[0]
            args = split_args(parts[1]) if len(parts) > 1 else []
            k.code.append(Instr(op, args, pred, neg, i, raw.strip()))
        kernels[k.name] = k
    return kernels


# ------------------------------------------------------------------------------------------------------------
# execution
# ------------------------------------------------------------------------------------------------------------

class Thread:
    __slots__ = ("tid", "regs", "pc", "state", "groups", "open_group")

    def __init__(self, tid):
        self.tid = tid
        self.regs = {}
        self.pc = 0
        self.state = "run"       # run, wait, done
        self.groups = []         # committed cp.async groups: lists of (dst, bytes)
        self.open_group = []


def is_reg(s):
    return s.startswith("%")


class Block:
    def __init__(self, kernel, params, mem, ctaid, nctaid, ntid):
        self.k = kernel
        self.params = params
        self.mem = mem
        self.ctaid = ctaid
        self.nctaid = nctaid
        self.smem = bytearray(b"\xff" * max(kernel.shared_size, 1))
        self.threads = [Thread(t) for t in range(ntid)]

    # ---- operand access ----
    def special(self, th, name):
        if name == "%tid.x":
            return th.tid
        if name == "%ctaid.x":
            return self.ctaid[0]
        if name == "%ctaid.y":
            return self.ctaid[1]
        if name == "%nctaid.x":
            return self.nctaid[0]
        if name == "%nctaid.y":
            return self.nctaid[1]
        raise EmuError("unknown special register " + name)

    def val(self, th, s, typ):
        """Operand value as typ: 'f' float32, 'u' unsigned int bits, 'p' predicate."""
        if is_reg(s):
            if "." in s:
                return self.special(th, s)
            if s not in th.regs:
                raise EmuError(f"register {s} read before it is written")
            v = th.regs[s]
            if typ == "f":
                return v if isinstance(v, np.float32) else b2f(v)
            if typ == "u":
                return f2b(v) if isinstance(v, np.float32) else v
            return v
        if s in self.k.shared:
            return self.k.shared[s][0]
        if s.startswith("0f"):
            b = int(s[2:], 16)
            return b2f(b) if typ == "f" else b
        n = int(s, 0)
        return F32(n) if typ == "f" else n

    def addr(self, th, s):
        m = re.match(r"^\[(\S+?)(?:\+(-?\d+))?\]$", s)
        base, off = m.group(1), int(m.group(2) or 0)
        if base in self.k.shared:
            return self.k.shared[base][0] + off
        return self.val(th, base, "u") + off

    # ---- shared memory ----
    def sread(self, a, n):
        if a < 0 or a + n > self.k.shared_size or a % n:
            raise EmuError(f"shared read of {n} bytes at {a} (size {self.k.shared_size})")
        return bytes(self.smem[a:a + n])

    def swrite(self, a, data):
        if a < 0 or a + len(data) > self.k.shared_size or a % len(data):
            raise EmuError(f"shared write of {len(data)} bytes at {a} (size {self.k.shared_size})")
        self.smem[a:a + len(data)] = data

    # ---- one thread, up to the next collective ----
    def step(self, th):
        code = self.k.code
        while True:
            ins = code[th.pc]
            if ins.pred is not None:
                p = th.regs.get(ins.pred)
                if p is None:
                    raise EmuError(f"predicate {ins.pred} read before it is written (line {ins.line})")
                if p == ins.neg:
                    th.pc += 1
                    continue
            if ins.collective:
                th.state = "wait"
                return
            try:
                nxt = self.execute(th, ins)
            except EmuError as e:
                raise EmuError(f"{self.k.name} line {ins.line} [{ins.text}] thread {th.tid} block {self.ctaid}: {e}")
            if th.state == "done":
                return
            th.pc = nxt if nxt is not None else th.pc + 1

    def execute(self, th, ins):
        op, m, a = ins.op, ins.mods, ins.args
        R = th.regs
        head = m[0]
        if head == "ret":
            th.state = "done"
            return None
        if head == "bra":
            return self.k.labels[a[0]]
        if head == "mov":
            if m[1] == "f32":
                R[a[0]] = self.val(th, a[1], "f")
            else:
                R[a[0]] = self.val(th, a[1], "u")
            return None
        if head == "ld" and m[1] == "param":
            R[a[0]] = self.params[a[1].strip("[]")]
            if m[2] == "f32":
                R[a[0]] = b2f(R[a[0]])
            return None
        if head == "cvta":
            R[a[0]] = self.val(th, a[1], "u")
            return None
        if head in ("ld", "st"):
            space = m[1]
            vec = 1
            typ = m[-1]
            if len(m) > 3 and m[2].startswith("v"):
                vec = int(m[2][1:])
            size = 4
            if head == "ld":
                ad = self.addr(th, a[1])
                data = self.sread(ad, 4 * vec) if space == "shared" else self.mem.read(ad, 4 * vec)
                regs = [r.strip() for r in a[0].strip("{}").split(",")]
                for j, r in enumerate(regs):
                    b = struct.unpack_from("<I", data, 4 * j)[0]
                    R[r] = b2f(b) if typ == "f32" else b
            else:
                ad = self.addr(th, a[0])
                v = self.val(th, a[1], "u")
                data = struct.pack("<I", v & MASK32)
                if space == "shared":
                    self.swrite(ad, data)
                else:
                    self.mem.write(ad, data)
            return None
        if head == "cp":
            kind = m[1]
            if kind == "async" and m[2] == "cg":
                dst = self.addr(th, a[0])
                src = self.addr(th, a[1])
                size = int(a[2])
                srcsize = self.val(th, a[3], "u")
                data = self.mem.read(src, srcsize) if srcsize else b""
                data = data + b"\0" * (size - len(data))
                if dst % 16:
                    raise EmuError("cp.async destination not 16-byte aligned")
                th.open_group.append((dst, data))
                return None
            if m[2] == "commit_group":
                th.groups.append(th.open_group)
                th.open_group = []
                return None
            if m[2] in ("wait_group", "wait_all"):
                keep = int(a[0]) if m[2] == "wait_group" else 0
                if m[2] == "wait_all":
                    th.groups.append(th.open_group)
                    th.open_group = []
                while len(th.groups) > keep:
                    for dst, data in th.groups.pop(0):
                        self.swrite_block(dst, data)
                return None
        if head == "setp":
            # setp.CMP.TYPE d, a, b   or   setp.CMP.and.TYPE d, a, b, c
            cmp, typ = m[1], m[-1]
            t = "f" if typ == "f32" else "u"
            x, y = self.val(th, a[1], t), self.val(th, a[2], t)
            if typ == "s32":
                x, y = sgn32(x), sgn32(y)
            elif typ == "u32":
                x, y = x & MASK32, y & MASK32
            if t == "f" and (np.isnan(x) or np.isnan(y)):
                r = False   # ordered comparisons are false on NaN
            else:
                r = bool({"lt": x < y, "le": x <= y, "gt": x > y, "ge": x >= y, "eq": x == y, "ne": x != y}[cmp])
            if m[2] == "and":
                r = r and bool(R[a[3]])
            R[a[0]] = r
            return None
        if head == "and" and m[1] == "pred":
            R[a[0]] = bool(R[a[1]]) and bool(R[a[2]])
            return None
        if head == "selp":
            t = "f" if m[1] == "f32" else "u"
            R[a[0]] = self.val(th, a[1], t) if R[a[3]] else self.val(th, a[2], t)
            return None
        typ = m[-1]
        if typ == "f32" and head in ("add", "sub", "mul", "max", "fma", "ex2", "lg2", "rcp"):
            v = [self.val(th, s, "f") for s in a[1:]]
            if head == "add":
                r = F32(v[0] + v[1])
            elif head == "sub":
                r = F32(v[0] - v[1])
            elif head == "mul":
                r = F32(v[0] * v[1])
            elif head == "max":
                r = F32(np.fmax(v[0], v[1]))
            elif head == "fma":
                r = F32(float(v[0]) * float(v[1]) + float(v[2]))
            elif head == "ex2":
                r = F32(np.exp2(np.float64(v[0])))
            elif head == "lg2":
                r = F32(np.log2(np.float64(v[0])))
            else:
                r = F32(F32(1.0) / v[0])
            R[a[0]] = r
            return None
        if head == "cvt":
            if m[1] == "rn" and m[2] == "bf16x2":
                hi, lo = self.val(th, a[1], "f"), self.val(th, a[2], "f")
                R[a[0]] = (bf16_bits(hi) << 16) | bf16_bits(lo)
                return None
            if m[1] == "u64" and m[2] == "u32":
                R[a[0]] = self.val(th, a[1], "u") & MASK32
                return None
        # integer ops
        if typ in ("u32", "s32", "b32", "u64", "b64", "s64"):
            width = 64 if typ.endswith("64") else 32
            mask = MASK64 if width == 64 else MASK32
            v = [self.val(th, s, "u") for s in a[1:]]
            if head == "mul" and m[1] == "wide":
                r = (v[0] & MASK32) * (v[1] & MASK32)
                R[a[0]] = r & MASK64
                return None
            if head == "add":
                r = v[0] + v[1]
            elif head == "sub":
                r = v[0] - v[1]
            elif head == "mul":
                r = v[0] * v[1]
            elif head == "mad":
                r = v[0] * v[1] + v[2]
            elif head == "shl":
                r = v[0] << v[1]
            elif head == "shr":
                r = (v[0] & mask) >> v[1]
            elif head == "and":
                r = v[0] & v[1]
            elif head == "div":
                r = (v[0] & mask) // (v[1] & mask)
            elif head == "rem":
                r = (v[0] & mask) % (v[1] & mask)
            elif head == "min":
                if typ == "s32":
                    r = min(sgn32(v[0]), sgn32(v[1]))
                else:
                    r = min(v[0] & mask, v[1] & mask)
            else:
                raise EmuError("unsupported " + op)
            R[a[0]] = r & mask
            return None
        raise EmuError("unsupported instruction " + op)

    def swrite_block(self, dst, data):
        self.swrite_any(dst, data)

    def swrite_any(self, a, data):
        if a < 0 or a + len(data) > self.k.shared_size:
            raise EmuError(f"cp.async write of {len(data)} bytes at {a} (shared size {self.k.shared_size})")
        self.smem[a:a + len(data)] = data

    # ---- collectives ----
    def warp_collective(self, lanes):
        ins = self.k.code[lanes[0].pc]
        m, a = ins.mods, ins.args
        head = m[0]
        try:
            if head == "shfl":
                mode = m[2]
                vals = [th.regs[a[1]] if a[1] in th.regs else self.val(th, a[1], "u") for th in lanes]
                for l, th in enumerate(lanes):
                    if mode == "bfly":
                        src = l ^ self.val(th, a[2], "u")
                    elif mode == "idx":
                        src = self.val(th, a[2], "u") & 31
                    else:
                        raise EmuError("shfl mode " + mode)
                    th.regs[a[0]] = vals[src]
            elif head == "vote":
                anyv = any(bool(th.regs[a[1]]) for th in lanes)
                for th in lanes:
                    th.regs[a[0]] = anyv
            elif head == "ldmatrix":
                trans = "trans" in m
                addrs = [self.addr(th, a[1]) for th in lanes]
                dsts = [r.strip() for r in a[0].strip("{}").split(",")]
                for mi in range(len(dsts)):
                    rows = []
                    for r in range(8):
                        ad = addrs[8 * mi + r]
                        if ad % 16:
                            raise EmuError("ldmatrix row address not 16-byte aligned")
                        rows.append(struct.unpack("<8H", self.sread16(ad)))
                    for l, th in enumerate(lanes):
                        g, t = l >> 2, l & 3
                        if not trans:
                            lo, hi = rows[g][2 * t], rows[g][2 * t + 1]
                        else:
                            lo, hi = rows[2 * t][g], rows[2 * t + 1][g]
                        th.regs[dsts[mi]] = (hi << 16) | lo
            elif head == "mma":
                d = [r.strip() for r in a[0].strip("{}").split(",")]
                ar = [r.strip() for r in a[1].strip("{}").split(",")]
                br = [r.strip() for r in a[2].strip("{}").split(",")]
                cr = [r.strip() for r in a[3].strip("{}").split(",")]
                A = np.zeros((16, 16))
                B = np.zeros((16, 8))
                C = np.zeros((16, 8))
                for l, th in enumerate(lanes):
                    g, t = l >> 2, l & 3

                    def halves(reg):
                        b = self.val(th, reg, "u")
                        return float(bf16_to_f32(b & 0xFFFF)), float(bf16_to_f32(b >> 16))
                    for idx, (row, col) in enumerate(((g, 2 * t), (g + 8, 2 * t), (g, 2 * t + 8), (g + 8, 2 * t + 8))):
                        A[row, col], A[row, col + 1] = halves(ar[idx])
                    for idx, k0 in enumerate((2 * t, 2 * t + 8)):
                        B[k0, g], B[k0 + 1, g] = halves(br[idx])
                    for idx, (row, col) in enumerate(((g, 2 * t), (g, 2 * t + 1), (g + 8, 2 * t), (g + 8, 2 * t + 1))):
                        C[row, col] = float(self.val(th, cr[idx], "f"))
                D = A @ B + C
                for l, th in enumerate(lanes):
                    g, t = l >> 2, l & 3
                    for idx, (row, col) in enumerate(((g, 2 * t), (g, 2 * t + 1), (g + 8, 2 * t), (g + 8, 2 * t + 1))):
                        th.regs[d[idx]] = F32(D[row, col])
            else:
                raise EmuError("collective " + ins.op)
        except EmuError as e:
            raise EmuError(f"{self.k.name} line {ins.line} [{ins.text}] block {self.ctaid}: {e}")
        for th in lanes:
            th.pc += 1
            th.state = "run"

    def sread16(self, ad):
        if ad < 0 or ad + 16 > self.k.shared_size:
            raise EmuError(f"ldmatrix row at {ad} outside shared memory ({self.k.shared_size})")
        return bytes(self.smem[ad:ad + 16])

    def run(self):
        threads = self.threads
        nwarps = (len(threads) + 31) // 32
        while True:
            for th in threads:
                if th.state == "run":
                    self.step(th)
            if all(th.state == "done" for th in threads):
                return
            progressed = False
            for w in range(nwarps):
                lanes = threads[32 * w:32 * w + 32]
                waiting = [th for th in lanes if th.state == "wait"]
                if not waiting:
                    continue
                ins = self.k.code[waiting[0].pc]
                if ins.collective != "warp":
                    continue
                if len(waiting) != 32 or any(th.pc != waiting[0].pc for th in waiting):
                    pcs = sorted({self.k.code[th.pc].line for th in waiting})
                    raise EmuError(f"{self.k.name}: warp {w} of block {self.ctaid} diverged at a warp collective "
                                   f"(lines {pcs}, {len(waiting)} lanes waiting)")
                self.warp_collective(waiting)
                progressed = True
            if progressed:
                continue
            live = [th for th in threads if th.state != "done"]
            if all(th.state == "wait" and self.k.code[th.pc].collective == "block" for th in live):
                if len(live) != len(threads):
                    raise EmuError(f"{self.k.name}: bar.sync with exited threads in block {self.ctaid}")
                if len({th.pc for th in live}) != 1:
                    lines = sorted({self.k.code[th.pc].line for th in live})
                    raise EmuError(f"{self.k.name}: threads of block {self.ctaid} wait at different barriers {lines}")
                for th in live:
                    th.pc += 1
                    th.state = "run"
                continue
            raise EmuError(f"{self.k.name}: deadlock in block {self.ctaid}")


def sgn32(x):
    x &= MASK32
    return x - (1 << 32) if x >= 1 << 31 else x


def launch(kernel, mem, grid, block, args):
    """args: one value per .param, ints for pointers/u32, floats for f32 params."""
    if len(args) != len(kernel.params):
        raise EmuError(f"{kernel.name} takes {len(kernel.params)} parameters, given {len(args)}")
    params = {}
    for name, v in zip(kernel.params, args):
        params[name] = f2b(v) if isinstance(v, float) else int(v)
    for by in range(grid[1]):
        for bx in range(grid[0]):
            Block(kernel, params, mem, (bx, by), grid, block).run()
