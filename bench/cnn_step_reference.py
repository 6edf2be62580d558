"""The training step of kiln's `cnn` (configs/fashion_cnn.toml) written independently in plain
PyTorch, for bench/step_vs_pytorch.sh: per stage in channels [32, 64], [Conv3x3 (padding 1, no
bias) -> BatchNorm2d -> ReLU] x 2 then MaxPool2d(2); flatten -> Dropout -> Linear(64*7*7 -> 128)
-> ReLU -> Dropout -> Linear(128 -> 10); cross-entropy; AdamW (weight_decay 0.05 as in the
config, betas (0.9, 0.999), eps 1e-8 as kiln's OptimConfig defaults); zero_grad(set_to_none=True).
Random N(0, 1) inputs [B, 1, 28, 28] and random labels: no loader is timed here.
Prints one JSON line; if torch.compile fails it prints {"error": ...} for this run instead.
  python bench/cnn_step_reference.py [--batch 128] [--precision fp32|bf16]
      [--mode eager|compile|reduce-overhead] [--channels-last] [--threads N] [--device cpu|cuda]
"""
import argparse
import contextlib
import json
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Cnn(nn.Module):
    def __init__(self, channels=(32, 64), fc=128, classes=10, dropout=0.3, size=28, in_ch=1):
        super().__init__()
        layers = []
        c = in_ch
        for out in channels:
            for i in range(2):
                layers += [nn.Conv2d(c if i == 0 else out, out, 3, padding=1, bias=False), nn.BatchNorm2d(out),
                           nn.ReLU()]
            layers.append(nn.MaxPool2d(2))
            c = out
            size //= 2
        self.features = nn.Sequential(*layers)
        head = []
        if dropout > 0:
            head.append(nn.Dropout(dropout))
        head += [nn.Linear(c * size * size, fc), nn.ReLU()]
        if dropout > 0:
            head.append(nn.Dropout(dropout))
        head.append(nn.Linear(fc, classes))
        self.head = nn.Sequential(*head)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--mode", choices=["eager", "compile", "reduce-overhead"], default="eager")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu")
    # configs/fashion_cnn.toml: dropout 0.3, lr 3e-3 (neither changes the step's cost).
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    model = Cnn(dropout=a.dropout).to(dev).to(memory_format=fmt)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=a.weight_decay)
    if a.mode == "compile":
        fwd = torch.compile(model)
    elif a.mode == "reduce-overhead":
        fwd = torch.compile(model, mode="reduce-overhead")
    else:
        fwd = model

    def autocast():
        if a.precision == "bf16":
            return torch.autocast(dev.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = F.cross_entropy(fwd(x), y)
        loss.backward()
        opt.step()
        return loss

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    n = a.warmup + a.steps
    xs = torch.randn(n, a.batch, 1, 28, 28, device=dev)
    ys = torch.randint(0, 10, (n, a.batch), device=dev)
    batch = lambda i: (xs[i].contiguous(memory_format=fmt), ys[i])  # noqa: E731
    info = {"mode": a.mode, "precision": a.precision, "batch": a.batch, "channels_last": a.channels_last,
            "threads": torch.get_num_threads(), "device": a.device, "torch": torch.__version__}
    try:
        t_warm = time.perf_counter()
        for i in range(a.warmup):
            step(*batch(i))
        sync()
        warm = time.perf_counter() - t_warm
    except Exception as e:  # torch.compile (inductor) can fail on a machine without its toolchain
        msg = f"{type(e).__name__}: {e}".strip().splitlines()
        print(json.dumps({**info, "error": " | ".join(msg[:3])[:500]}))
        return
    t0 = time.perf_counter()
    for i in range(a.warmup, n):
        loss = step(*batch(i))
    loss.item()
    sync()
    secs = time.perf_counter() - t0
    print(json.dumps({**info, "samples_per_s": a.steps * a.batch / secs, "step_ms": 1000 * secs / a.steps,
                      "warmup_s": warm, "steps": a.steps, "warmup": a.warmup}))


if __name__ == "__main__":
    main()
