"""kiln's `transformer` written independently in plain PyTorch, for bench/lm_vs_pytorch.sh and
bench/step_vs_pytorch.sh (its step is bench/step_reference.py's `--model lm`): the same shape
(token + position embedding, pre-norm blocks of causal SDPA attention and a tanh-GELU MLP,
final LayerNorm, head tied to the embedding), trained with AdamW and gradient clipping at 1.0 as configs/lm_bytes.toml. Random tokens: the loader is not
part of what is timed here. Prints one JSON line: tokens/s over the measured steps.
  python bench/transformer_reference.py [--compile] [--batch 32] [--seq 128] [--dim 128] ...
  (every bench/step_reference.py option but --model; --compile is --mode compile)
"""
import math
import sys

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


def main(argv):
    """bench/step_reference.py's lm step, with this script's old default of 50 measured steps."""
    import step_reference
    args = []
    for a in argv:
        args += ["--mode", "compile"] if a == "--compile" else [a]
    step_reference.main(["--model", "lm", "--steps", "50"] + args)


if __name__ == "__main__":
    main(sys.argv[1:])
