#!/usr/bin/env python3
"""Runs the module's three interpreter checks with the vectorized interpreter (simt.py) in place of the per-thread
ones, so that simt, which the emulated device uses, passes the same NumPy references the kernels pass:

    python3 kernels/src/ptxcheck/check_simt.py [--ci] [runtime] [fused] [attention]

runtime: check_runtime_ptx.py (ptxrun.py's API); fused: ../ptxgen/check_fused_ptx.py (fused_ptxsim's); attention:
the F32 cases of ../ptxgen/check_attention_ptx.py (ptxemu's; the BF16 tensor-core kernels stay on ptxemu and are
not run here). --ci runs the fused and attention subsets the normal build runs. Exits non-zero on a failure.
"""
import os
import runpy
import struct
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "..", "ptxgen")
sys.path.insert(0, HERE)
sys.path.insert(0, GEN)
import numpy as np  # noqa: E402

import simt  # noqa: E402


def param_bytes(value, typ, size):
    """A per-thread interpreter's argument (int bits, Python float or bytes) as the parameter's bytes."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, float):
        return struct.pack("<f", value) if typ == "f32" else struct.pack("<d", value)
    return (int(value) & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


def as_bytes(module, entry, args):
    k = module.kernel(entry)
    if len(args) != len(k.params):
        raise simt.PtxError(f"{entry}: {len(k.params)} parameters, {len(args)} arguments")
    return [param_bytes(v, typ, size) for v, (_, typ, size) in zip(args, k.params)]


def ptxrun_shim():
    import ptxrun
    shim = types.ModuleType("ptxrun")
    shim.__dict__.update({k: v for k, v in ptxrun.__dict__.items() if not k.startswith("__")})
    shim.Module = simt.Module

    def launch(module, mem, name, grid, block, args):
        simt.launch(module, mem, name, (grid, 1), block, as_bytes(module, name, args))
    shim.launch = launch
    return shim


class BlockView:
    """fused_ptxsim's flat memory seen as separate allocations (find returns the allocation holding an address)."""

    def __init__(self, mem):
        self.mem = mem

    def find(self, a, n):
        import fused_ptxsim
        for lo, hi in reversed(self.mem.blocks):
            if lo <= a and a + n <= hi:
                u8 = np.frombuffer(self.mem.buf, np.uint8)
                return u8[lo - fused_ptxsim.GLOBAL_BASE:hi - fused_ptxsim.GLOBAL_BASE], a - lo
        raise simt.PtxError(f"global access outside every buffer: {a:#x} ({n} bytes)")


def fused_shim():
    import fused_ptxsim
    shim = types.ModuleType("fused_ptxsim")
    shim.__dict__.update({k: v for k, v in fused_ptxsim.__dict__.items() if not k.startswith("__")})

    class Sim:
        def __init__(self, path, mem):
            self.module = simt.Module(open(path).read())
            self.mem = BlockView(mem)
            self.count = 0

        def launch(self, entry, grid, block, params, dyn_shared=0):
            self.count += simt.launch(self.module, self.mem, entry, (grid, 1), block,
                                      as_bytes(self.module, entry, params), dyn_shared)
    shim.Sim = Sim
    return shim


def ptxemu_shim():
    import ptxemu
    shim = types.ModuleType("ptxemu")
    shim.__dict__.update({k: v for k, v in ptxemu.__dict__.items() if not k.startswith("__")})

    class Entry:
        def __init__(self, module, name, fallback):
            self.module, self.name, self.fallback = module, name, fallback

    def parse(text):
        real = ptxemu.parse(text)
        module = simt.Module(text)
        return {name: Entry(module, name, kern) for name, kern in real.items()}

    def launch(kernel, mem, grid, block, args):
        if "bf16" in kernel.name and kernel.name != "attention_bwd_dot_bf16":
            return ptxemu.launch(kernel.fallback, mem, grid, block, args)  # tensor cores: not simt's
        k = kernel.module.kernel(kernel.name)
        data = []
        for v, (_, typ, size) in zip(args, k.params):
            data.append(param_bytes(float(v), "f32", 4) if isinstance(v, float) else param_bytes(v, typ, size))
        simt.launch(kernel.module, mem, kernel.name, grid, block, data)
    shim.parse = parse
    shim.launch = launch
    return shim


def run(title, script, shims, argv, call=None):
    print(f"== {title} on simt", flush=True)
    saved = {name: sys.modules.get(name) for name in shims}
    sys.modules.update(shims)
    old_argv = sys.argv
    sys.argv = [script] + argv
    t0 = time.time()
    try:
        if call is None:
            runpy.run_path(script, run_name="__main__")
        else:
            ns = runpy.run_path(script, run_name="simt_check")
            call(ns)
    except SystemExit as e:
        if e.code not in (0, None):
            print(f"FAIL {title}: exit {e.code}")
            return False
    finally:
        sys.argv = old_argv
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod
    print(f"   {title}: {time.time() - t0:.1f} s", flush=True)
    return True


def attention_f32(ns):
    rng = np.random.default_rng(int(time.time()))
    kernels = ns["ptxemu"].parse(open(os.path.join(ns["PTX"], "attention_f32.ptx")).read())
    cases = [(2, 1, 17, 64, True, None), (2, 1, 37, 64, True, 1)] if "--ci" in sys.argv else \
        [(1, 1, 1, 64, False, None), (2, 1, 17, 64, True, None), (1, 2, 33, 128, False, None),
         (3, 1, 40, 32, True, None), (2, 1, 70, 64, True, None), (2, 2, 37, 64, True, 1), (2, 1, 300, 128, True, 1),
         (2, 1, 1, 64, False, 1), (2, 1, 37, 128, True, 3), (1, 2, 9, 16, True, None)]
    for b, h, t, d, padded, chunk in cases:
        ns["f32_case"](kernels, rng, b, h, t, d, padded, decode_chunk=chunk)
    if ns["FAILURES"]:
        print(f"{len(ns['FAILURES'])} failures: {ns['FAILURES']}")
        sys.exit(1)


def main():
    ci = "--ci" in sys.argv
    which = [a for a in sys.argv[1:] if not a.startswith("--")] or ["runtime", "fused", "attention"]
    ok = True
    if "runtime" in which:
        ok &= run("runtime kernels", os.path.join(HERE, "check_runtime_ptx.py"), {"ptxrun": ptxrun_shim()}, [])
    if "fused" in which:
        ok &= run("fused NN kernels", os.path.join(GEN, "check_fused_ptx.py"), {"fused_ptxsim": fused_shim()},
                  ["--ci"] if ci else [])
    if "attention" in which:
        ok &= run("F32 attention kernels", os.path.join(GEN, "check_attention_ptx.py"), {"ptxemu": ptxemu_shim()},
                  ["--ci"] if ci else [], call=attention_f32)
    print("simt: all checks passed" if ok else "simt: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
