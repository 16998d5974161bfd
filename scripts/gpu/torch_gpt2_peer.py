#!/usr/bin/env python3
"""PyTorch eager peer of rlhf4j's end-to-end GPU steps: one SFT step and one DPO step of GPT-2 124M.

GPT-2 small shapes (V=50257, T=1024, L=12, H=12, C=768), random weights, written below in plain torch (pre-LN
blocks, learned positions, tanh GELU, tied LM head, no dropout). No torch.compile. Mixed precision as one runs
it in PyTorch: F32 master weights, torch.autocast(bf16) around the forward, the loss in F32 (logits upcast),
backward outside autocast. --precision f32 runs without autocast, with PyTorch's default TF32 settings
(matmul TF32 off).

    SFT  batch B x T: forward, cross-entropy, backward, clip_grad_norm_(1.0), AdamW step.
    DPO  P prompt pairs, one batch of 2P sequences [chosen..., rejected...] of T tokens, the last Tc of each the
         completion: the reference model's sequence log-probs under no_grad, the policy's with grad, token
         log-probs as log_softmax + gather over the completion tokens only (the logits that predict them),
         TRL's sigmoid loss -logsigmoid(beta * ((pc - rc) - (pr - rr))) with beta 0.1, backward, clip, AdamW.

AdamW: lr 1e-4, betas (0.9, 0.999), eps 1e-8, weight decay 0.01 on 2-d weights only (embeddings and Linear
weights; biases and LayerNorm none), foreach=True (the multi-tensor path, not fused=True: fused needs torch 2.x
on CUDA, and foreach runs the same everywhere). Gradients are set to None after each step.

Timing: 3 warm-up steps, then the median of --steps timed steps, each between torch.cuda.synchronize() calls
(time.perf_counter). The DPO step synchronizes between its phases too, to split the time: reference forward,
policy forward (with the loss), backward, optimizer (clip + AdamW + zero_grad). Peak memory is
torch.cuda.max_memory_allocated, reset before each step kind.

FLOPs (as llm.c): N = every parameter, the tied embedding counted once, the position embedding included.
    SFT step = (6 N + 12 L T C) * tokens     (attention counted as a full T x T product, as PaLM and llm.c)
    DPO step = (6 N + 12 L T C) * tokens + (2 N + 4 L T C) * tokens     (policy forward + backward, reference
               forward, tokens = 2P T)
MFU = those FLOPs / step time / the GEMM rate this script measures in the same run: a square matmul
(8192^3 on CUDA, 512^3 on a CPU) in the step's dtype, median of 10 after 3 warm-ups.

Output, one line per result, collected by scripts/gpu/gpu-checks.sh:
    torch sft step 124M bf16 b8x1024 | 123456 tok/s | step 66.4 ms, MFU 41.2% of 712 TFLOP/s bf16 gemm, ...
Without torch, or without CUDA for --device cuda, it prints one line `torch gpt2 peer | skipped | why` and
exits 0. After --timeout seconds in all it prints what it has and exits 0.

    python3 scripts/gpu/torch_gpt2_peer.py [--device cuda|cpu] [--tiny] [--steps N] [--precision bf16|f32]
                                           [--timeout S]
"""
import argparse
import contextlib
import copy
import dataclasses
import math
import signal
import statistics
import sys
import time

START = time.monotonic()

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # the GPU machine may have no PyTorch: that is a skip, not a failure
    print("torch gpt2 peer | skipped | no PyTorch: %s" % e, flush=True)
    sys.exit(0)

WARMUPS = 3
GIB = 1 << 30


@dataclasses.dataclass
class GptConfig:
    name: str = "124M"
    vocab_size: int = 50257  # GPT-2's BPE vocabulary, not padded
    context: int = 1024      # T, learned positions
    n_layer: int = 12        # L
    n_head: int = 12         # H
    n_embd: int = 768        # C


@dataclasses.dataclass
class StepConfig:
    sft_batch: int = 8          # B sequences of model.context tokens
    dpo_pairs: int = 4          # P (chosen, rejected) pairs, 2P sequences of model.context tokens
    completion: int = 512       # Tc: the last Tc tokens of each DPO sequence
    beta: float = 0.1           # TRL's DPOConfig default
    lr: float = 1e-4
    weight_decay: float = 0.01  # 2-d weights only
    betas: tuple = (0.9, 0.999)
    eps: float = 1e-8
    max_grad_norm: float = 1.0


GPT2_124M = GptConfig()
TINY = GptConfig(name="tiny", vocab_size=256, context=64, n_layer=2, n_head=2, n_embd=64)
TINY_STEPS = StepConfig(sft_batch=2, dpo_pairs=2, completion=32)


# ---------------------------------------------------------------------------------------------------- model

class CausalSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # each [B, T, C]
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # [B, H, T, D]
        if hasattr(F, "scaled_dot_product_attention"):
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # torch < 2.0
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # [B, H, T, T]
            causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
            att = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)
            y = att @ v
        return self.proj(y.transpose(1, 2).contiguous().view(B, T, C))


class Mlp(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
        self.proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = Mlp(cfg)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Gpt(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.context, cfg.n_embd)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        # GPT-2's initialization: N(0, 0.02), residual projections scaled by 1/sqrt(2L), zero biases
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() == 2:
                std = 0.02 / math.sqrt(2 * cfg.n_layer) if name.endswith("proj.weight") else 0.02
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, idx):  # idx [B, T] -> logits [B, T, V]
        positions = torch.arange(idx.size(1), device=idx.device)
        x = self.wte(idx) + self.wpe(positions)
        for block in self.h:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)  # tied LM head


def adamw(model, sc):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": sc.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=sc.lr, betas=sc.betas, eps=sc.eps, foreach=True)


def step_flops(cfg, n_params, tokens, reference_forward=False):
    flops = (6 * n_params + 12 * cfg.n_layer * cfg.context * cfg.n_embd) * tokens  # forward + backward
    if reference_forward:
        flops += (2 * n_params + 4 * cfg.n_layer * cfg.context * cfg.n_embd) * tokens
    return flops


# ---------------------------------------------------------------------------------------------------- steps

class Run:
    """Device, precision and the clock shared by the steps."""

    def __init__(self, args):
        self.device = torch.device(args.device)
        self.cuda = self.device.type == "cuda"
        self.precision = args.precision
        self.dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
        self.steps = args.steps
        self.deadline = START + args.timeout
        self.timeout = args.timeout

    def autocast(self):
        if self.precision == "f32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def left(self):
        return self.deadline - time.monotonic()

    def reset_peak(self):
        if self.cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()

    def peak(self):
        if not self.cuda:
            return "peak n/a on cpu"
        return "peak %.1f GiB" % (torch.cuda.max_memory_allocated() / GIB)

    def about(self):
        where = torch.cuda.get_device_name(self.device) if self.cuda else "cpu"
        attention = "sdpa" if hasattr(F, "scaled_dot_product_attention") else "manual softmax"
        return "attention %s, AdamW foreach, eager, %s, torch %s" % (attention, where, torch.__version__)


def timed(run, step, what):
    """Warm-ups, then up to run.steps timed calls of step() (each returns a dict of phase -> seconds).
    Stops early when the next step would pass the deadline; returns the list of timed dicts."""
    results = []
    for i in range(WARMUPS + run.steps):
        last = sum(results[-1].values()) if results else 0.0
        if i >= WARMUPS and run.left() < 1.5 * last:
            print("torch gpt2 peer | timeout | %s: %d of %d timed steps before --timeout %g s"
                  % (what, len(results), run.steps, run.timeout), flush=True)
            break
        phases = step()
        if i >= WARMUPS:
            results.append(phases)
    return results


def median_of(results, phase=None):
    return statistics.median(sum(r.values()) if phase is None else r[phase] for r in results)


def gemm_rate(run):
    """TFLOP/s of one square matmul in the step's dtype, median of 10 after 3 warm-ups."""
    n = 8192 if run.cuda else 512
    a = torch.randn(n, n, device=run.device, dtype=run.dtype)
    b = torch.randn(n, n, device=run.device, dtype=run.dtype)
    times = []
    for i in range(3 + 10):
        run.sync()
        t0 = time.perf_counter()
        a @ b
        run.sync()
        if i >= 3:
            times.append(time.perf_counter() - t0)
    seconds = statistics.median(times)
    tflops = 2 * n ** 3 / seconds / 1e12
    print("torch %s gemm %d^3 | %.4g TFLOP/s | %.3f ms, median of 10 after 3 warm-ups, %s"
          % (run.precision, n, tflops, seconds * 1e3, run.about()), flush=True)
    return tflops


def sft(run, cfg, sc, gemm_tflops):
    B, T, V = sc.sft_batch, cfg.context, cfg.vocab_size
    torch.manual_seed(0)
    model = Gpt(cfg).to(run.device).train()
    optimizer = adamw(model, sc)
    n_params = sum(p.numel() for p in model.parameters())  # the tied wte is one Parameter
    tokens = torch.randint(V, (B, T + 1), device=run.device)
    inputs, targets = tokens[:, :-1], tokens[:, 1:]  # [B, T] each
    first_loss = []

    def step():
        run.sync()
        t0 = time.perf_counter()
        with run.autocast():
            logits = model(inputs)  # [B, T, V], bf16 under autocast
        loss = F.cross_entropy(logits.float().view(-1, V), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), sc.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        run.sync()
        seconds = time.perf_counter() - t0
        if not first_loss:
            first_loss.append(loss.item())
        return {"step": seconds}

    run.reset_peak()
    results = timed(run, step, "sft")
    if results:
        seconds = median_of(results)
        mfu = step_flops(cfg, n_params, B * T) / seconds / 1e12 / gemm_tflops
        print("torch sft step %s %s b%dx%d | %.0f tok/s | step %.1f ms, MFU %.1f%% of %.4g TFLOP/s %s gemm, %s, "
              "loss at init %.4f (ln V %.4f), N %d, median of %d, %s"
              % (cfg.name, run.precision, B, T, B * T / seconds, seconds * 1e3, 100 * mfu, gemm_tflops,
                 run.precision, run.peak(), first_loss[0], math.log(V), n_params, len(results), run.about()),
              flush=True)
    del model, optimizer


def sequence_logprobs(model, sequences, completion):
    """Sum of the token log-probs of the last `completion` tokens of each sequence [S, T] -> [S], F32."""
    T = sequences.size(1)
    logits = model(sequences)[:, T - completion - 1:T - 1].float()  # [S, Tc, V]: the logits that predict them
    targets = sequences[:, T - completion:]                          # [S, Tc]
    return logits.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1).sum(-1)


def dpo(run, cfg, sc, gemm_tflops):
    P, T, Tc, V = sc.dpo_pairs, cfg.context, sc.completion, cfg.vocab_size
    torch.manual_seed(0)
    policy = Gpt(cfg).to(run.device).train()
    reference = copy.deepcopy(policy).eval().requires_grad_(False)
    optimizer = adamw(policy, sc)
    n_params = sum(p.numel() for p in policy.parameters())
    prompts = torch.randint(V, (P, T - Tc), device=run.device)
    chosen = torch.cat([prompts, torch.randint(V, (P, Tc), device=run.device)], dim=1)
    rejected = torch.cat([prompts, torch.randint(V, (P, Tc), device=run.device)], dim=1)
    sequences = torch.cat([chosen, rejected])  # [2P, T], as TRL's concatenated forward
    first_loss = []

    def step():
        clock = [time.perf_counter()]

        def lap():
            run.sync()
            clock.append(time.perf_counter())

        run.sync()
        clock[0] = time.perf_counter()
        with torch.no_grad(), run.autocast():
            ref_logps = sequence_logprobs(reference, sequences, Tc)  # [2P]
        lap()
        with run.autocast():
            logps = sequence_logprobs(policy, sequences, Tc)         # [2P]
        margin = (logps[:P] - ref_logps[:P]) - (logps[P:] - ref_logps[P:])
        loss = -F.logsigmoid(sc.beta * margin).mean()
        lap()
        loss.backward()
        lap()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), sc.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        lap()
        if not first_loss:
            first_loss.append(loss.item())
        names = ("reference forward", "policy forward", "backward", "optimizer")
        return {name: clock[i + 1] - clock[i] for i, name in enumerate(names)}

    run.reset_peak()
    results = timed(run, step, "dpo")
    if results:
        seconds = median_of(results)
        split = ", ".join("%s %.1f ms" % (name, median_of(results, name) * 1e3) for name in results[0])
        mfu = step_flops(cfg, n_params, 2 * P * T, reference_forward=True) / seconds / 1e12 / gemm_tflops
        print("torch dpo step %s %s %dx2x%d completion %d | %.1f ms | %s, MFU %.1f%% of %.4g TFLOP/s %s gemm, "
              "%s, loss at init %.4f (ln 2 %.4f), beta %g, median of %d, %s"
              % (cfg.name, run.precision, P, T, Tc, seconds * 1e3, split, 100 * mfu, gemm_tflops, run.precision,
                 run.peak(), first_loss[0], math.log(2), sc.beta, len(results), run.about()), flush=True)
    del policy, reference, optimizer


# ---------------------------------------------------------------------------------------------------- main

class PeerTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise PeerTimeout()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--tiny", action="store_true", help="V 256, T 64, L 2, H 2, C 64; b2x64; DPO 2 pairs, Tc 32")
    parser.add_argument("--steps", type=int, default=10, help="timed steps after %d warm-ups" % WARMUPS)
    parser.add_argument("--precision", choices=["bf16", "f32"], default="bf16")
    parser.add_argument("--timeout", type=float, default=100.0,
                        help="seconds in all (gpu-checks.sh stops a peer at 120 s)")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    if args.device == "cuda" and not torch.cuda.is_available():
        print("torch gpt2 peer | skipped | no CUDA device visible to torch %s" % torch.__version__, flush=True)
        return 0
    cfg, sc = (TINY, TINY_STEPS) if args.tiny else (GPT2_124M, StepConfig())
    run = Run(args)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(run.left(), 0.01))
    phase = "gemm"
    try:
        gemm_tflops = gemm_rate(run)
        phase = "sft"
        sft(run, cfg, sc, gemm_tflops)
        phase = "dpo"
        dpo(run, cfg, sc, gemm_tflops)
    except PeerTimeout:
        print("torch gpt2 peer | timeout | --timeout %g s reached during %s; the lines above are complete"
              % (args.timeout, phase), flush=True)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
