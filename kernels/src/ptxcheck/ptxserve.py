#!/usr/bin/env python3
"""Serves an emulated device to the JVM over stdin/stdout, one JSON object per line: the host side of the CUDA
backend runs unchanged on a driverless context (CudaContext's test constructor) whose memory operations and
kernel launches come here and run on the ptxrun interpreter. Used by EmulatedDeviceTest.

Requests: {"op": "alloc"|"free"|"copy"|"memset"|"upload"|"download"|"launch", ...}; replies {"ok": true, ...} or
{"ok": false, "error": "..."}.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ptxrun import Module, PtxError, launch  # noqa: E402

PTX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "main", "resources", "org", "rlhf4j", "kernels", "ptx")


class DeviceMemory:
    """Buffers at the addresses the JVM's allocator hands out."""

    def __init__(self):
        self.bufs = {}

    def alloc(self, addr, n):
        self.bufs[addr] = bytearray(b"\xA5" * n)  # garbage, not zeros

    def free(self, addr):
        del self.bufs[addr]

    def find(self, a, n):
        for base, raw in self.bufs.items():
            if base <= a and a + n <= base + len(raw):
                return raw, a - base
        from ptxrun import PtxError as E
        raise E(f"access of {n} bytes at {a:#x} outside every buffer")

    def read(self, a, n):
        if a % n and n in (2, 4, 8):
            raise PtxError(f"misaligned read of {n} bytes at {a:#x}")
        raw, o = self.find(a, n)
        return bytes(raw[o:o + n])

    def write(self, a, data):
        if a % len(data) and len(data) in (2, 4, 8):
            raise PtxError(f"misaligned write of {len(data)} bytes at {a:#x}")
        raw, o = self.find(a, len(data))
        raw[o:o + len(data)] = data


def main():
    mem = DeviceMemory()
    modules = {}
    for line in sys.stdin:
        req = json.loads(line)
        try:
            op = req["op"]
            out = {"ok": True}
            if op == "alloc":
                mem.alloc(req["addr"], req["bytes"])
            elif op == "free":
                mem.free(req["addr"])
            elif op == "copy":
                raw, o = mem.find(req["src"], req["bytes"])
                data = bytes(raw[o:o + req["bytes"]])
                raw2, o2 = mem.find(req["dst"], req["bytes"])
                raw2[o2:o2 + req["bytes"]] = data
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
            elif op == "launch":
                f = req["file"]
                if f not in modules:
                    modules[f] = Module(open(os.path.join(PTX, f)).read())
                args = [bytes.fromhex(a) for a in req["args"]]
                launch(modules[f], mem, req["entry"], req["grid"][0], req["block"][0], args)
            else:
                raise PtxError("unknown request " + op)
        except Exception as e:  # reported to the JVM, which fails the test with it
            out = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
