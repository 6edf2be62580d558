"""The training step of kiln's `transformer` written independently in plain PyTorch, for
bench/lm_vs_pytorch.sh: the same shape (token + position embedding, pre-norm blocks of causal
SDPA attention and a tanh-GELU MLP, final LayerNorm, head tied to the embedding), AdamW with
the same settings, gradient clipping at 1.0, batch and window as given. Random tokens: the
loader is not part of what is timed here. Prints one JSON line: tokens/s over the measured steps.
  python bench/transformer_reference.py [--compile] [--batch 32] [--seq 128] [--dim 128] ...
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, 4 * dim)
        self.out = nn.Linear(4 * dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, vocab, seq, dim, heads, layers):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(seq, dim)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(dim)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight") or name.endswith("out.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * layers))
            elif p.dim() == 2:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, idx):
        h = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        for b in self.blocks:
            h = b(h)
        return F.linear(self.ln(h), self.tok.weight)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=256)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.manual_seed(0)
    dev = torch.device(a.device)
    model = Gpt(a.vocab, a.seq, a.dim, a.heads, a.layers).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, betas=(0.9, 0.95), weight_decay=0.1)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    fwd_bwd = step
    if a.compile:
        model = torch.compile(model)
    data = torch.randint(0, a.vocab, (a.warmup + a.steps, a.batch, a.seq + 1), device=dev)
    t_compile = time.perf_counter()
    for i in range(a.warmup):
        fwd_bwd(data[i, :, :-1], data[i, :, 1:])
    if dev.type == "cuda":
        torch.cuda.synchronize()
    warm = time.perf_counter() - t_compile
    t0 = time.perf_counter()
    for i in range(a.warmup, a.warmup + a.steps):
        loss = fwd_bwd(data[i, :, :-1], data[i, :, 1:])
    loss.item()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    print(json.dumps({"mode": "compile" if a.compile else "eager", "tokens_per_s": a.steps * a.batch * a.seq / secs,
                      "step_ms": 1000 * secs / a.steps, "warmup_s": warm, "threads": torch.get_num_threads(),
                      "device": a.device, "batch": a.batch, "seq": a.seq, "dim": a.dim, "layers": a.layers}))


if __name__ == "__main__":
    main()
