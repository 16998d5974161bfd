"""PyTorch on the same GPU, on the shapes of FusedGpuBenchmark: the peers of rlhf4j's fused PTX kernels.

Timed as the Java side is: CUDA events on the current stream, 3 warm-ups, median of 15 runs, random inputs,
bandwidth = the fewest bytes the op must move (each input read once, each output written once) over the
time, against a device-to-device copy measured in this run. Ops: F.gelu(approximate="tanh") and its
backward, softmax / log_softmax and their backward, token log-probs as torch.log_softmax(logits / T)
+ gather (forward, and forward + backward through autograd; BF16 logits upcast to F32 first, as one gets F32
log-probs from them), F.cross_entropy, F.layer_norm, and
torch.optim.AdamW(fused=True) over GPT-2 small's parameter shapes. Each result is one line:
    TORCH-FUSED | what | shape | ms | GB/s | vs copy
"""
import statistics

import torch
import torch.nn.functional as F

GIB = 1 << 30
LM_ROWS, VOCAB = 8 * 1024, 50257
dev = torch.device("cuda")
copy_gbs = None


def median_ms(fn, warmups=3, runs=15):
    for _ in range(warmups):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def row(what, shape, nbytes, fn):
    ms = median_ms(fn)
    gbs = nbytes / (ms * 1e-3) / 1e9
    pct = 100 * gbs / copy_gbs if copy_gbs else 100
    print("TORCH-FUSED | %-30s | %-14s | %8.3f ms | %6.0f GB/s | %3.0f%% of copy"
          % (what, str(list(shape)).replace(" ", ""), ms, gbs, pct), flush=True)
    return ms


def rand(*shape, lo=-1.0, hi=1.0):
    return torch.empty(*shape, device=dev).uniform_(lo, hi)


def gpt2_small_shapes():
    s = [(50257, 768), (1024, 768)]
    for _ in range(12):
        s += [(768,), (768,), (768, 2304), (2304,), (768, 768), (768,), (768,), (768,), (768, 3072), (3072,),
              (3072, 768), (768,)]
    return s + [(768,), (768,)]


def main():
    global copy_gbs
    print("TORCH-FUSED | device %s, torch %s" % (torch.cuda.get_device_name(), torch.__version__), flush=True)
    n = GIB // 4
    a, y = rand(n), torch.empty(n, device=dev)
    copy_ms = median_ms(lambda: y.copy_(a))
    copy_gbs = 2 * GIB / (copy_ms * 1e-3) / 1e9
    print("TORCH-FUSED | %-30s | %-14s | %8.3f ms | %6.0f GB/s | 100%% of copy"
          % ("device-to-device copy", "1GiB", copy_ms, copy_gbs), flush=True)

    dy = rand(n)
    row("gelu fwd", [n], 2 * GIB, lambda: F.gelu(a, approximate="tanh"))
    row("gelu bwd", [n], 3 * GIB, lambda: torch.ops.aten.gelu_backward(dy, a, approximate="tanh"))
    del a, y, dy

    for shape in [(16384, 4096), (2048, VOCAB)]:
        nbytes = 4 * shape[0] * shape[1]
        x, g = rand(*shape, lo=-4, hi=4), rand(*shape)
        row("softmax fwd", shape, 2 * nbytes, lambda: torch.softmax(x, -1))
        row("log_softmax fwd", shape, 2 * nbytes, lambda: torch.log_softmax(x, -1))
        out = torch.log_softmax(x, -1)
        row("log_softmax bwd", shape, 3 * nbytes,
            lambda: torch.ops.aten._log_softmax_backward_data(g, out, -1, torch.float32))
        out = torch.softmax(x, -1)
        row("softmax bwd", shape, 3 * nbytes,
            lambda: torch.ops.aten._softmax_backward_data(g, out, -1, torch.float32))
        del x, g, out

    for shape in [(LM_ROWS, VOCAB), (16384, 4096)]:
        rows, v = shape
        nbytes = 4 * rows * v
        logits = rand(*shape, lo=-4, hi=4)
        tg = (torch.arange(rows, device=dev, dtype=torch.int64) * 2654435761) % v
        g = rand(rows)

        def logprobs():
            return torch.log_softmax(logits / 0.7, -1).gather(-1, tg[:, None]).squeeze(-1)

        row("token logprobs fwd T=0.7", shape, nbytes, logprobs)
        leaf = logits.clone().requires_grad_(True)

        def logprobs_fwd_bwd():
            lp = torch.log_softmax(leaf / 0.7, -1).gather(-1, tg[:, None]).squeeze(-1)
            (gl,) = torch.autograd.grad(lp, leaf, g)
            return gl

        row("token logprobs fwd+bwd T=0.7", shape, 3 * nbytes, logprobs_fwd_bwd)
        row("cross_entropy fwd", shape, nbytes, lambda: F.cross_entropy(logits, tg))

        def ce_fwd_bwd():
            (gl,) = torch.autograd.grad(F.cross_entropy(leaf, tg), leaf)
            return gl

        row("cross_entropy fwd+bwd", shape, 3 * nbytes, ce_fwd_bwd)
        del logits, leaf, g, tg

    shape = (LM_ROWS, VOCAB)
    nbytes = 2 * LM_ROWS * VOCAB
    x16 = rand(*shape, lo=-4, hi=4).to(torch.bfloat16)
    tg = (torch.arange(LM_ROWS, device=dev, dtype=torch.int64) * 2654435761) % VOCAB
    row("token logprobs fwd BF16 T=0.7", shape, nbytes,
        lambda: torch.log_softmax(x16.float() / 0.7, -1).gather(-1, tg[:, None]).squeeze(-1))
    row("log_softmax fwd BF16", shape, 2 * nbytes, lambda: torch.log_softmax(x16, -1))
    del x16, tg

    for shape in [(65536, 768), (16384, 4096)]:
        rows, c = shape
        nbytes = 4 * rows * c
        x = rand(*shape, lo=-2, hi=2).requires_grad_(True)
        w = rand(c, lo=0.5, hi=1.5).requires_grad_(True)
        b = rand(c, lo=-0.5, hi=0.5).requires_grad_(True)
        g = rand(*shape)
        with torch.no_grad():
            row("layer_norm fwd", shape, 2 * nbytes, lambda: F.layer_norm(x, (c,), w, b, 1e-5))

        def ln_fwd_bwd():
            return torch.autograd.grad(F.layer_norm(x, (c,), w, b, 1e-5), (x, w, b), g)

        row("layer_norm fwd+bwd", shape, 5 * nbytes, ln_fwd_bwd)
        del x, w, b, g

    params = [torch.nn.Parameter(rand(*s, lo=-0.1, hi=0.1)) for s in gpt2_small_shapes()]
    for p in params:
        p.grad = rand(*p.shape, lo=-0.01, hi=0.01)
    opt = torch.optim.AdamW(params, lr=6e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, fused=True)
    opt.step()  # creates the state
    count = sum(p.numel() for p in params)
    row("adamw (%d tensors)" % len(params), [count], 28 * count, opt.step)


if __name__ == "__main__":
    main()
