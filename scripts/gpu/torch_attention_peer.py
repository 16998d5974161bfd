#!/usr/bin/env python3
"""PyTorch's scaled_dot_product_attention on the same shapes as AttentionGpuBenchmark, printed in its format:

    BENCH | attention bf16 fwd (torch sdpa)  | B=8 H=16 T=2048 D=128 |     0.412 ms | 333.6 TFLOP/s

Causal, no mask (is_causal=True), random normal inputs. Forward FLOPs = 4 B H T^2 D / 2; backward = 2.5x that,
timed as (forward + backward) - forward. Times are CUDA-event means after warm-up. Also prints which SDPA
backend PyTorch picked (flash, efficient, cudnn, math) for bf16, so the comparison names its peer.

    python3 scripts/gpu/torch_attention_peer.py [--compare JAVA_BENCHMARK_LOG [PEER_LOG]]

scripts/gpu/gpu-checks.sh runs it plainly (every *_peer.py). With --compare it then prints one table: each
attention row of AttentionGpuBenchmark's output (the log of the Java run) beside PyTorch's row for the same
case, and the ratio of the rates; given PEER_LOG (this script's earlier output) it only prints that table.
"""

import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the table from logs (--compare JAVA_LOG PEER_LOG) needs no PyTorch
    torch = F = None

SHAPES = [(16, 16, 1024, 64), (8, 16, 2048, 64), (4, 16, 4096, 64),
          (16, 16, 1024, 128), (8, 16, 2048, 128), (4, 16, 4096, 128)]


def bench(fn, iters=None):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    torch.cuda.synchronize()
    once = start.elapsed_time(end) / 1e3
    n = iters or int(max(3, min(200, 0.5 / max(once, 1e-6))))
    start.record()
    for _ in range(n):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3 / n


PRINTED = []


def row(what, shape, seconds, rate):
    b, h, t, d = shape
    line = f"BENCH | {what + ' (torch sdpa)':<30} | B={b} H={h} T={t} D={d} | {seconds * 1e3:9.3f} ms | {rate}"
    PRINTED.append(line)
    print(line, flush=True)


def report(what, shape, seconds, flops):
    row(what, shape, seconds, f"{flops / seconds * 1e-12:.1f} TFLOP/s")


def backend_name(q, k, v):
    """The SDPA kernel PyTorch runs for these inputs, found by allowing one backend at a time."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    for name, b in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION),
                    ("efficient", SDPBackend.EFFICIENT_ATTENTION), ("math", SDPBackend.MATH)):
        try:
            with sdpa_kernel([b]):
                F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return name
        except RuntimeError:
            continue
    return "unknown"


def compare(java_log, torch_rows):
    """The side-by-side table: each rlhf4j attention row of java_log beside PyTorch's row for the same case."""
    def rows(lines, who):
        out = {}
        for line in lines:
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 5 and parts[0] == "BENCH" and parts[1].endswith(f"({who})"):
                out[(parts[1][:-len(who) - 2].strip(), parts[2])] = (parts[3], parts[4])
        return out
    with open(java_log) as fh:
        ours = rows(fh.read().splitlines(), "rlhf4j")
    theirs = rows(torch_rows, "torch sdpa")
    print("BENCH | attention: rlhf4j vs PyTorch SDPA, same GPU, same shapes")
    print(f"BENCH | {'case':<24} | {'shape':<22} | {'rlhf4j':>16} | {'torch sdpa':>16} | rlhf4j/torch")
    for key in ours:
        what, shape = key
        mine = ours[key][1]
        peer = theirs.get(key, ("", "-"))[1]
        try:
            ratio = f"{float(mine.split()[0]) / float(peer.split()[0]):.2f}"
        except (ValueError, ZeroDivisionError, IndexError):
            ratio = "-"
        print(f"BENCH | {what:<24} | {shape:<22} | {mine:>16} | {peer:>16} | {ratio}")


def main():
    if len(sys.argv) > 1 and (sys.argv[1] != "--compare" or len(sys.argv) not in (3, 4)):
        print("usage: torch_attention_peer.py [--compare JAVA_BENCHMARK_LOG [PEER_LOG]]", file=sys.stderr)
        return 2
    if len(sys.argv) == 4:
        # the table from logs of an earlier run, without running PyTorch again
        with open(sys.argv[3]) as fh:
            compare(sys.argv[2], fh.read().splitlines())
        return 0
    if not torch.cuda.is_available():
        print("torch_attention_peer: no GPU visible to PyTorch", file=sys.stderr)
        return 1
    print(f"BENCH | torch {torch.__version__} on {torch.cuda.get_device_name(0)}", flush=True)
    torch.manual_seed(1)
    for shape in SHAPES:
        b, h, t, d = shape
        fwd = 4.0 * b * h * t * t * d / 2
        q, k, v = (torch.randn(b, h, t, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        if shape == SHAPES[0]:
            print(f"BENCH | bf16 causal SDPA backend (first that runs alone, in PyTorch's order): "
                  f"{backend_name(q, k, v)}", flush=True)
        report("attention bf16 fwd", shape, bench(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)), fwd)
        qg, kg, vg = (x.clone().requires_grad_(True) for x in (q, k, v))
        dout = torch.randn_like(q)

        def fwd_bwd():
            o = F.scaled_dot_product_attention(qg, kg, vg, is_causal=True)
            o.backward(dout)

        t_fb = bench(fwd_bwd)
        t_f = bench(lambda: F.scaled_dot_product_attention(qg, kg, vg, is_causal=True))
        report("attention bf16 bwd", shape, max(t_fb - t_f, 1e-9), 2.5 * fwd)
        if t <= 2048:
            q32, k32, v32 = (x.float() for x in (q, k, v))
            report("attention f32 fwd", shape, bench(lambda: F.scaled_dot_product_attention(q32, k32, v32, is_causal=True)), fwd)
            q32g, k32g, v32g = (x.clone().requires_grad_(True) for x in (q32, k32, v32))
            d32 = dout.float()

            def fwd_bwd32():
                o = F.scaled_dot_product_attention(q32g, k32g, v32g, is_causal=True)
                o.backward(d32)

            t_fb = bench(fwd_bwd32)
            t_f = bench(lambda: F.scaled_dot_product_attention(q32g, k32g, v32g, is_causal=True))
            report("attention f32 bwd", shape, max(t_fb - t_f, 1e-9), 2.5 * fwd)
        # decoding: one query per sequence against T cached keys (bytes of K and V per second)
        bd = 64
        kc, vc = (torch.randn(bd, h, t, d, device="cuda", dtype=torch.bfloat16) for _ in range(2))
        qd = torch.randn(bd, h, 1, d, device="cuda", dtype=torch.bfloat16)
        sec = bench(lambda: F.scaled_dot_product_attention(qd, kc, vc))
        row("attention bf16 decode", (bd, h, t, d), sec, f"{2.0 * bd * h * t * d * 2 / sec * 1e-9:.0f} GB/s")
        del q, k, v, qg, kg, vg, kc, vc
        torch.cuda.empty_cache()
    if len(sys.argv) > 2:
        compare(sys.argv[2], PRINTED)
    return 0


if __name__ == "__main__":
    sys.exit(main())
