#!/usr/bin/env python3
"""Golden values for rlhf4j's GPT-2: an independent GPT-2 in plain PyTorch (F64, CPU).

Builds a small GPT-2 with random weights, saves it as a Hugging Face model directory (config.json +
model.safetensors, F32), and writes for fixed inputs the logits, the per-token log-probs of the targets, the
mean cross-entropy loss and the gradient of that loss for every parameter (expected.safetensors, F64).

The weights are drawn in F64 and rounded to F32 before anything is computed, so the F32 file holds them exactly
and a model loaded from it in F64 computes the same function as this script.

Usage (needs PyTorch; Debian's python3-torch is enough):
    python3 scripts/golden/gpt2_reference.py transformer/src/test/resources/golden/gpt2-tiny
"""
import json
import math
import os
import struct
import sys

import torch

CONFIG = dict(vocab_size=64, n_positions=16, n_embd=16, n_layer=2, n_head=2, layer_norm_epsilon=1e-5)
SEED = 1234


def param_shapes(c):
    C, V, P = c["n_embd"], c["vocab_size"], c["n_positions"]
    shapes = {"transformer.wte.weight": (V, C), "transformer.wpe.weight": (P, C)}
    for i in range(c["n_layer"]):
        p = f"transformer.h.{i}."
        shapes.update({
            p + "ln_1.weight": (C,), p + "ln_1.bias": (C,),
            p + "attn.c_attn.weight": (C, 3 * C), p + "attn.c_attn.bias": (3 * C,),
            p + "attn.c_proj.weight": (C, C), p + "attn.c_proj.bias": (C,),
            p + "ln_2.weight": (C,), p + "ln_2.bias": (C,),
            p + "mlp.c_fc.weight": (C, 4 * C), p + "mlp.c_fc.bias": (4 * C,),
            p + "mlp.c_proj.weight": (4 * C, C), p + "mlp.c_proj.bias": (C,),
        })
    shapes.update({"transformer.ln_f.weight": (C,), "transformer.ln_f.bias": (C,)})
    return shapes


def random_params(c):
    g = torch.Generator().manual_seed(SEED)
    params = {}
    for name, shape in param_shapes(c).items():
        if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
            t = 1.0 + 0.1 * torch.randn(shape, generator=g, dtype=torch.float64)
        elif name.endswith(".bias"):
            t = 0.05 * torch.randn(shape, generator=g, dtype=torch.float64)
        else:
            t = 0.2 * torch.randn(shape, generator=g, dtype=torch.float64)
        params[name] = t.float().double().requires_grad_(True)  # exactly representable in F32
    return params


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)  # biased, as GPT-2
    return (x - mean) / torch.sqrt(var + eps) * w + b


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def gpt2_logits(p, c, ids):
    B, T = ids.shape
    C, H = c["n_embd"], c["n_head"]
    D = C // H
    eps = c["layer_norm_epsilon"]
    x = p["transformer.wte.weight"][ids] + p["transformer.wpe.weight"][torch.arange(T)]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for i in range(c["n_layer"]):
        q_ = f"transformer.h.{i}."
        h = layer_norm(x, p[q_ + "ln_1.weight"], p[q_ + "ln_1.bias"], eps)
        qkv = h @ p[q_ + "attn.c_attn.weight"] + p[q_ + "attn.c_attn.bias"]
        q, k, v = qkv.split(C, dim=2)
        q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        att = att.masked_fill(~causal, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ p[q_ + "attn.c_proj.weight"] + p[q_ + "attn.c_proj.bias"]
        h = layer_norm(x, p[q_ + "ln_2.weight"], p[q_ + "ln_2.bias"], eps)
        h = gelu_tanh(h @ p[q_ + "mlp.c_fc.weight"] + p[q_ + "mlp.c_fc.bias"])
        x = x + h @ p[q_ + "mlp.c_proj.weight"] + p[q_ + "mlp.c_proj.bias"]
    x = layer_norm(x, p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], eps)
    return x @ p["transformer.wte.weight"].t()  # tied LM head


def save_safetensors(path, tensors, dtype_name):
    torch_dtype = {"F32": torch.float32, "F64": torch.float64, "I32": torch.int32}
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        dn = dtype_name if t.is_floating_point() else "I32"
        data = t.to(torch_dtype[dn]).numpy().tobytes()
        header[name] = {"dtype": dn, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    c = CONFIG
    p = random_params(c)
    g = torch.Generator().manual_seed(SEED + 1)
    ids = torch.randint(0, c["vocab_size"], (2, 10), generator=g)
    targets = torch.randint(0, c["vocab_size"], (2, 10), generator=g)

    logits = gpt2_logits(p, c, ids)
    logp = torch.log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    loss = -logp.mean()
    loss.backward()

    hf = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": c["vocab_size"],
          "n_positions": c["n_positions"], "n_ctx": c["n_positions"], "n_embd": c["n_embd"],
          "n_layer": c["n_layer"], "n_head": c["n_head"], "n_inner": None,
          "layer_norm_epsilon": c["layer_norm_epsilon"], "activation_function": "gelu_new",
          "embd_pdrop": 0.0, "resid_pdrop": 0.0, "attn_pdrop": 0.0, "bos_token_id": 0, "eos_token_id": 0}
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(hf, f, indent=2, sort_keys=True)
    save_safetensors(os.path.join(out_dir, "model.safetensors"), p, "F32")
    expected = {"input_ids": ids.int(), "targets": targets.int(), "logits": logits, "logp": logp,
                "loss": loss.detach().reshape(1)}
    for name, t in p.items():
        expected["grad." + name] = t.grad
    save_safetensors(os.path.join(out_dir, "expected.safetensors"), expected, "F64")
    print(f"loss {loss.item():.12f}; wrote {out_dir}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "gpt2-tiny")
