"""A small PTX interpreter for the instruction subset of the fused NN kernels (check_fused_ptx.py runs them).

A development check, not a GPU. Blocks run one after another; every thread has its own register file and call
stack (.func with .reg parameters, call.uni, ret), so divergent branches are fine; bar.sync waits for every
thread of the block, shfl.sync.bfly for all 32 lanes of the warp, and a mismatch is reported as a deadlock.
Strict where hardware would silently give garbage: a global access outside every allocated buffer raises, and so
does a misaligned scalar or 16-byte access; shared memory starts as 0xFF bytes (NaN), so a read of an unwritten
partial shows. Floating point: f32 arithmetic rounds as IEEE f32 (numpy float32), fma is computed in f64 and
rounded once, ex2/lg2/rcp.approx are exact (the hardware errs by about 2^-22), bf16 conversion rounds to nearest
even.
"""
import re, struct, math
import numpy as np

SHARED_WINDOW = 0x7F0000000000
GLOBAL_BASE = 0x10000000


def f2b(x):
    x = np.float32(x)
    return int(np.frombuffer(x.tobytes(), dtype=np.uint32)[0])


def b2f(b):
    return np.frombuffer(struct.pack('<I', b & 0xffffffff), dtype=np.float32)[0]


class Memory:
    def __init__(self, size=1 << 28):
        self.buf = bytearray(size)
        self.next = GLOBAL_BASE

        self.blocks = []

    def alloc(self, nbytes, align=256, offset=0):
        a = (self.next + align - 1) // align * align + offset
        self.next = a + nbytes + 256
        assert self.next - GLOBAL_BASE < len(self.buf)
        self.blocks.append((a, a + nbytes))
        return a

    def view(self, addr, nbytes):
        """Byte offset of [addr, addr + nbytes), which must lie inside one allocation."""
        for lo, hi in reversed(self.blocks):
            if lo <= addr and addr + nbytes <= hi:
                return addr - GLOBAL_BASE
        raise AssertionError('global access outside every buffer: %#x (%d bytes)' % (addr, nbytes))

    def write(self, addr, arr):
        b = np.ascontiguousarray(arr).tobytes()
        o = self.view(addr, len(b))
        self.buf[o:o + len(b)] = b

    def read(self, addr, dtype, n):
        nb = np.dtype(dtype).itemsize * n
        o = self.view(addr, nb)
        return np.frombuffer(bytes(self.buf[o:o + nb]), dtype=dtype).copy()


def split_top(s):
    out, depth, cur = [], 0, ''
    for ch in s:
        if ch in '{[(':
            depth += 1
        elif ch in '}])':
            depth -= 1
        if ch == ',' and depth == 0:
            out.append(cur.strip())
            cur = ''
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


class Func:
    def __init__(self, name, params, rets, body):
        self.name, self.params, self.rets = name, params, rets
        self.instrs, self.labels = [], {}
        for st in body:
            if st.endswith(':') and ' ' not in st:
                self.labels[st[:-1]] = len(self.instrs)
                continue
            if st.startswith('.reg') or st.startswith('{') or not st:
                continue
            guard = None
            m = re.match(r'@(!?)(%\w+)\s+(.*)', st)
            if m:
                guard = (m.group(1) == '!', m.group(2))
                st = m.group(3)
            parts = st.split(None, 1)
            op = parts[0]
            args = split_top(parts[1]) if len(parts) > 1 else []
            self.instrs.append((guard, op, args))


def parse_module(text):
    text = re.sub(r'//[^\n]*', '', text)
    shared, extern = {}, None
    off = 0
    funcs = {}
    pos = 0
    # module-level shared
    for m in re.finditer(r'^\s*(\.extern\s+)?\.shared\s+\.align\s+(\d+)\s+\.(\w+)\s+(\w+)\[(\d*)\];', text, re.M):
        align = int(m.group(2))
        if m.group(1):
            extern = m.group(4)
            continue
        size = {'f32': 4, 'b8': 1, 'u32': 4}[m.group(3)] * int(m.group(5))
        off = (off + align - 1) // align * align
        shared[m.group(4)] = off
        off += size
    static_size = off
    for m in re.finditer(r'\.(entry|func)\s*(\([^)]*\))?\s*(\w+)\s*\(([^)]*)\)\s*\{', text):
        kind, rets, name, params = m.group(1), m.group(2), m.group(3), m.group(4)
        start = m.end()
        depth, i = 1, start
        while depth:
            if text[i] == '{':
                depth += 1
            elif text[i] == '}':
                depth -= 1
            i += 1
        body = text[start:i - 1]
        # inner braces { ... } of nested scopes are only used for declarations here
        stmts = []
        for piece in re.split(r';', body):
            piece = piece.strip()
            while True:
                lm = re.match(r'^(\w+):\s*(.*)$', piece, re.S)
                if not lm:
                    break
                stmts.append(lm.group(1) + ':')
                piece = lm.group(2).strip()
            stmts.append(' '.join(piece.split()))
        pnames = [p.split()[-1] for p in params.split(',') if p.strip()]
        rnames = [p.split()[-1] for p in rets.strip('()').split(',')] if rets else []
        funcs[name] = Func(name, pnames, rnames, stmts)
    return funcs, shared, static_size, extern


class Thread:
    def __init__(self, tid):
        self.tid = tid
        self.frames = []  # (func, pc, regs, ret_dests)
        self.state = 'run'
        self.wait = None


class Sim:
    def __init__(self, path, mem):
        self.funcs, self.shared_syms, self.static_size, self.extern = parse_module(open(path).read())
        self.mem = mem
        self.count = 0

    def launch(self, entry, grid, block, params, dyn_shared=0):
        f = self.funcs[entry]
        assert len(params) == len(f.params), (len(params), f.params)
        pvals = dict(zip(f.params, params))
        for b in range(grid):
            self.run_block(f, pvals, b, grid, block, dyn_shared)

    # ---- values ----
    def val(self, t, a, typ):
        if a.startswith('%'):
            if a in ('%tid.x',):
                return t.tid
            if a == '%ntid.x':
                return self.block
            if a == '%ctaid.x':
                return self.bid
            if a == '%nctaid.x':
                return self.grid
            if a == '%laneid':
                return t.tid & 31
            return t.frames[-1][2][a]
        if a.startswith('0f'):
            return int(a[2:], 16)
        if a.startswith('0x'):
            return int(a, 16)
        if re.match(r'^-?\d+$', a):
            v = int(a)
            return v & ((1 << 64) - 1)
        if a in self.shared_syms:
            return self.shared_syms[a]
        raise ValueError(a)

    def setr(self, t, a, v):
        t.frames[-1][2][a] = v

    def addr(self, t, a):
        a = a.strip('[]').replace(' ', '')
        m = re.match(r'^(%?\w+)([+-]\d+)?$', a)
        base = self.val(t, m.group(1), 'u64')
        return base + (int(m.group(2)) if m.group(2) else 0)

    def load(self, space, addr, typ):
        size = typsize(typ)
        if space == 'shared' or (space == '' and addr >= SHARED_WINDOW):
            o = addr - SHARED_WINDOW if addr >= SHARED_WINDOW else addr
            assert 0 <= o and o + size <= len(self.smem), ('shared oob', o)
            return int.from_bytes(self.smem[o:o + size], 'little')
        o = self.mem.view(addr, size)
        assert addr % size == 0, ('misaligned', hex(addr), typ)
        return int.from_bytes(self.mem.buf[o:o + size], 'little')

    def store(self, space, addr, typ, v):
        size = typsize(typ)
        b = (v & ((1 << (8 * size)) - 1)).to_bytes(size, 'little')
        if space == 'shared' or (space == '' and addr >= SHARED_WINDOW):
            o = addr - SHARED_WINDOW if addr >= SHARED_WINDOW else addr
            assert 0 <= o and o + size <= len(self.smem), ('shared oob', o)
            self.smem[o:o + size] = b
            return
        assert addr % size == 0, ('misaligned', hex(addr), typ)
        o = self.mem.view(addr, size)
        self.mem.buf[o:o + size] = b

    def run_block(self, f, pvals, bid, grid, block, dyn):
        self.bid, self.grid, self.block = bid, grid, block
        self.pvals = pvals
        self.smem = bytearray(b'\xff' * (self.static_size + dyn + 16))  # NaN: unwritten reads show
        if self.extern:
            self.shared_syms[self.extern] = (self.static_size + 15) // 16 * 16
        threads = [Thread(i) for i in range(block)]
        for t in threads:
            t.frames.append((f, 0, {}, None))
        while True:
            progressed = False
            for t in threads:
                if t.state == 'run':
                    self.step_until_block(t)
                    progressed = True
            live = [t for t in threads if t.state != 'done']
            if not live:
                return
            # resolve barriers
            if all(t.state == 'bar' for t in live):
                assert len(live) == block, 'bar.sync with exited threads'
                for t in live:
                    t.state = 'run'
                continue
            resolved = False
            for w in range(0, block, 32):
                warp = threads[w:w + 32]
                if all(t.state == 'shfl' for t in warp):
                    vals = [t.wait[1] for t in warp]
                    for t in warp:
                        dest, v, b, mode = t.wait
                        src = (t.tid & 31) ^ b
                        t.frames[-1][2][dest] = vals[src]
                        t.state = 'run'
                    resolved = True
            if not resolved:
                states = sorted(set(t.state for t in live))
                raise RuntimeError('deadlock: states %s' % states)

    def step_until_block(self, t):
        while True:
            func, pc, regs, rd = t.frames[-1]
            if pc >= len(func.instrs):
                raise RuntimeError('fell off ' + func.name)
            guard, op, args = func.instrs[pc]
            t.frames[-1] = (func, pc + 1, regs, rd)
            self.count += 1
            if guard:
                neg, p = guard
                if bool(regs[p]) == neg:
                    continue
            r = self.execute(t, op, args)
            if r == 'block':
                return
            if t.state == 'done':
                return

    def execute(self, t, op, a):
        parts = op.split('.')
        base = parts[0]
        typ = parts[-1]
        regs = t.frames[-1][2]
        V = lambda x, ty=typ: self.val(t, x, ty)
        if base == 'ld':
            if parts[1] == 'param':
                regs[a[0]] = self.pvals[a[1].strip('[]')]
                return
            space = parts[1] if parts[1] in ('global', 'shared') else ''
            ad = self.addr(t, a[1])
            if 'v4' in parts:
                assert ad % 16 == 0, ('v4 misaligned', hex(ad))
                names = [x.strip() for x in a[0].strip('{}').split(',')]
                for i, n in enumerate(names):
                    regs[n] = self.load(space, ad + 4 * i, typ)
            else:
                regs[a[0]] = self.load(space, ad, typ)
            return
        if base == 'st':
            space = parts[1] if parts[1] in ('global', 'shared') else ''
            ad = self.addr(t, a[0])
            if 'v4' in parts:
                assert ad % 16 == 0, ('v4 misaligned', hex(ad))
                names = [x.strip() for x in a[1].strip('{}').split(',')]
                for i, n in enumerate(names):
                    self.store(space, ad + 4 * i, typ, V(n))
            else:
                self.store(space, ad, typ, V(a[1]))
            return
        if base == 'mov':
            if a[0].startswith('{'):
                names = [x.strip() for x in a[0].strip('{}').split(',')]
                v = V(a[1])
                regs[names[0]] = v & 0xffffffff
                regs[names[1]] = v >> 32
            elif a[1].startswith('{'):
                names = [x.strip() for x in a[1].strip('{}').split(',')]
                regs[a[0]] = (V(names[0]) & 0xffffffff) | (V(names[1]) << 32)
            else:
                regs[a[0]] = V(a[1])
            return
        if base == 'cvta':
            if parts[1] == 'shared':
                regs[a[0]] = SHARED_WINDOW + self.shared_syms[a[1]]
            else:
                regs[a[0]] = V(a[1])
            return
        if base == 'cvt':
            dt, st = parts[-2], parts[-1]
            v = V(a[1])
            if dt == 'bf16' and st == 'f32':
                regs[a[0]] = bf16(v)
            elif dt == 'bf16x2' and st == 'f32':
                regs[a[0]] = (bf16(v) << 16) | bf16(V(a[2]))
            elif dt == 'f32' and st in ('u32', 's32'):
                regs[a[0]] = f2b(float(v if st == 'u32' else sx(v, 32)))
            elif dt in ('u32', 'b32') and st in ('u64', 'u16'):
                regs[a[0]] = v & 0xffffffff
            else:
                raise NotImplementedError(op)
            return
        if base == 'setp':
            cmp, ty = parts[1], parts[2]
            x, y = V(a[1], ty), V(a[2], ty)
            regs[a[0]] = compare(cmp, ty, x, y)
            return
        if base == 'selp':
            regs[a[0]] = V(a[1]) if regs[a[3]] else V(a[2])
            return
        if base == 'bra':
            func = t.frames[-1][0]
            t.frames[-1] = (func, func.labels[a[0]], regs, t.frames[-1][3])
            return
        if base == 'bar':
            t.state = 'bar'
            return 'block'
        if base == 'shfl':
            v = V(a[1])
            b = V(a[2])
            t.wait = (a[0], v, b, parts[2])
            t.state = 'shfl'
            return 'block'
        if base == 'call':
            rets = [x.strip() for x in a[0].strip('()').split(',')]
            fname = a[1]
            args = [x.strip() for x in a[2].strip('()').split(',')]
            g = self.funcs[fname]
            newregs = {p: V(x) for p, x in zip(g.params, args)}
            t.frames.append((g, 0, newregs, rets))
            return
        if base == 'ret':
            func, pc, rg, rd = t.frames.pop()
            if not t.frames:
                t.state = 'done'
                return
            for dest, rname in zip(rd, func.rets):
                t.frames[-1][2][dest] = rg[rname]
            return
        # arithmetic
        if typ == 'f32':
            vals = [b2f(V(x)) for x in a[1:]]
            r = farith(base, parts, vals)
            regs[a[0]] = f2b(r)
            return
        bits = typbits(typ)
        mask = (1 << bits) - 1
        vals = [V(x) for x in a[1:]]
        if base == 'mul':
            if parts[1] == 'wide':
                regs[a[0]] = (vals[0] & 0xffffffff) * (vals[1] & 0xffffffff)
            else:
                regs[a[0]] = (vals[0] * vals[1]) & mask
        elif base == 'add':
            regs[a[0]] = (vals[0] + vals[1]) & mask
        elif base == 'sub':
            regs[a[0]] = (vals[0] - vals[1]) & mask
        elif base == 'neg':
            regs[a[0]] = (-vals[0]) & mask
        elif base == 'min':
            regs[a[0]] = min(vals[0] & mask, vals[1] & mask) if typ.startswith('u') else (
                min(sx(vals[0], bits), sx(vals[1], bits)) & mask)
        elif base == 'max':
            regs[a[0]] = max(vals[0] & mask, vals[1] & mask)
        elif base == 'and':
            regs[a[0]] = vals[0] & vals[1] & mask
        elif base == 'xor':
            regs[a[0]] = (vals[0] ^ vals[1]) & mask
        elif base == 'shl':
            regs[a[0]] = (vals[0] << vals[1]) & mask
        elif base == 'shr':
            regs[a[0]] = (vals[0] & mask) >> vals[1]
        else:
            raise NotImplementedError(op)


def bf16(bits):
    """f32 bits -> bf16 bits, round to nearest even (NaN stays NaN)."""
    bits &= 0xffffffff
    if (bits & 0x7f800000) == 0x7f800000 and (bits & 0x7fffff):
        return 0x7fc0
    return ((bits + 0x7fff + ((bits >> 16) & 1)) >> 16) & 0xffff


def sx(v, bits):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def typsize(t):
    return {'f32': 4, 'u32': 4, 'b32': 4, 's32': 4, 'u64': 8, 'b64': 8, 'u16': 2, 'b16': 2}[t]


def typbits(t):
    return 8 * typsize(t)


def compare(cmp, ty, x, y):
    if ty == 'f32':
        x, y = float(b2f(x)), float(b2f(y))
        nan = math.isnan(x) or math.isnan(y)
        if cmp == 'neu':
            return nan or x != y
        if nan:
            return False
        return {'eq': x == y, 'ne': x != y, 'lt': x < y, 'le': x <= y, 'gt': x > y, 'ge': x >= y}[cmp]
    bits = typbits(ty)
    if ty.startswith('s'):
        x, y = sx(x, bits), sx(y, bits)
    else:
        x, y = x & ((1 << bits) - 1), y & ((1 << bits) - 1)
    return {'eq': x == y, 'ne': x != y, 'lt': x < y, 'le': x <= y, 'gt': x > y, 'ge': x >= y}[cmp]


def farith(base, parts, v):
    f = np.float32
    with np.errstate(all='ignore'):
        if base == 'add':
            return f(v[0]) + f(v[1])
        if base == 'sub':
            return f(v[0]) - f(v[1])
        if base == 'mul':
            return f(v[0]) * f(v[1])
        if base == 'fma':
            return f(np.float64(v[0]) * np.float64(v[1]) + np.float64(v[2]))
        if base == 'div':
            return f(v[0]) / f(v[1])
        if base == 'neg':
            return -f(v[0])
        if base == 'max':
            if math.isnan(v[0]):
                return v[1]
            if math.isnan(v[1]):
                return v[0]
            return max(v[0], v[1])
        if base == 'min':
            if math.isnan(v[0]):
                return v[1]
            if math.isnan(v[1]):
                return v[0]
            return min(v[0], v[1])
        if base == 'rcp':
            return f(1.0) / f(v[0])
        if base == 'sqrt':
            return np.sqrt(f(v[0]))
        if base == 'ex2':
            x = float(v[0])
            if math.isnan(x):
                return f(x)
            if x > 200:
                return f(np.inf)
            return f(2.0 ** x)
        if base == 'lg2':
            x = float(v[0])
            if x < 0 or math.isnan(x):
                return f(np.nan)
            if x == 0:
                return f(-np.inf)
            return f(math.log2(x))
    raise NotImplementedError(base)
