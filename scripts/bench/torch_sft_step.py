#!/usr/bin/env python3
"""PyTorch peer for rlhf4j's SFT-step benchmark: the same GPT-2 training step (forward, backward, AdamW) on the
same workloads, in tokens per second, on the CPU, best of its thread settings.

Prints one JSON object per workload on stdout: {"workload": ..., "tokens_per_s": ..., "threads": ...}.

Usage (needs PyTorch; Debian's python3-torch is enough):
    python3 scripts/bench/torch_sft_step.py [--seconds 10] [--workloads tiny,small]
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

WORKLOADS = {
    # vocab, context, layers, heads, width, batch, tokens per row
    "tiny": dict(vocab=256, ctx=128, layers=4, heads=4, width=128, batch=16, seq=128),
    "small": dict(vocab=512, ctx=256, layers=6, heads=6, width=384, batch=8, seq=256),
}


class Block(nn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.h = h
        self.ln_1 = nn.LayerNorm(c)
        self.c_attn = nn.Linear(c, 3 * c)
        self.c_proj = nn.Linear(c, c)
        self.ln_2 = nn.LayerNorm(c)
        self.c_fc = nn.Linear(c, 4 * c)
        self.mlp_proj = nn.Linear(4 * c, c)

    def forward(self, x, causal):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(C // self.h))
        att = att.masked_fill(causal[:T, :T], float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.wte = nn.Embedding(w["vocab"], w["width"])
        self.wpe = nn.Embedding(w["ctx"], w["width"])
        self.blocks = nn.ModuleList(Block(w["width"], w["heads"]) for _ in range(w["layers"]))
        self.ln_f = nn.LayerNorm(w["width"])
        self.register_buffer("causal", ~torch.tril(torch.ones(w["ctx"], w["ctx"], dtype=torch.bool)))

    def forward(self, ids):
        T = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(T))
        for b in self.blocks:
            x = b(x, self.causal)
        return self.ln_f(x) @ self.wte.weight.t()


def measure(w, threads, seconds):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Gpt(w)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    ids = torch.randint(0, w["vocab"], (w["batch"], w["seq"] + 1))
    x, y = ids[:, :-1], ids[:, 1:]

    def step():
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, w["vocab"]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):  # warm-up
        step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    elapsed = time.perf_counter() - t0
    return n * w["batch"] * w["seq"] / elapsed


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--workloads", default="tiny,small")
    p.add_argument("--threads", default="1,2")
    a = p.parse_args()
    for name in a.workloads.split(","):
        best = max(((measure(WORKLOADS[name], t, a.seconds), t) for t in map(int, a.threads.split(","))))
        print(json.dumps({"workload": name, "tokens_per_s": best[0], "threads": best[1],
                          "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
