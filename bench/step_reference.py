"""kiln's training steps written independently in plain PyTorch, for bench/step_vs_pytorch.sh
(and gpu_checks.sh, lm_vs_pytorch.sh). Shares no code with kiln. --model picks the workload:

- cnn: kiln's `cnn` of configs/fashion_cnn.toml. Per stage in channels [32, 64], [Conv3x3
  (padding 1, no bias) -> BatchNorm2d -> ReLU] x 2 then MaxPool2d(2); flatten -> Dropout ->
  Linear(64*7*7 -> 128) -> ReLU -> Dropout -> Linear(128 -> 10); cross-entropy; AdamW (lr 3e-3,
  weight_decay 0.05, betas (0.9, 0.999), eps 1e-8). Inputs [B, 1, 28, 28].
- resnet18: torchvision's ResNet-18 (configs/imagefolder_resnet18.toml's model), cross-entropy
  with label_smoothing 0.1, SGD (lr 0.1, Nesterov momentum 0.9, weight_decay 5e-5). Inputs
  [B, 3, S, S], S = --image-size (224).
- lm: bench/transformer_reference.py's GPT (configs/lm_bytes.toml's shape), AdamW (lr 2e-3,
  betas (0.9, 0.95), weight_decay 0.1), gradient clipping at 1.0. Tokens [B, seq + 1].

Every step: zero_grad(set_to_none=True), forward + loss under autocast when --precision bf16,
backward, (clip), optimizer step. Random inputs and labels, a pool of 4 batches made up front
and reused in turn: no loader is timed here. Prints one JSON line (samples/s, step ms, for lm
also tokens/s); if torch.compile fails it prints {"error": ...} for this run instead.
  python bench/step_reference.py [--model cnn|resnet18|lm] [--batch 128] [--precision fp32|bf16]
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

POOL = 4  # distinct batches, reused in turn


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


def workload(a, dev):
    """-> (model, optimizer, loss(out, y), clip or None, [(x, y)] * POOL) for --model."""
    g = torch.Generator(device="cpu").manual_seed(1)
    if a.model == "cnn":
        model = Cnn(dropout=a.dropout)
        opt = lambda p: torch.optim.AdamW(p, lr=3e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)  # noqa: E731
        loss = F.cross_entropy
        data = [(torch.randn(a.batch, 1, 28, 28, generator=g), torch.randint(0, 10, (a.batch,), generator=g))
                for _ in range(POOL)]
        clip = None
    elif a.model == "resnet18":
        from torchvision import models
        model = models.resnet18(num_classes=a.classes)
        opt = lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-5)  # noqa: E731
        loss = lambda out, y: F.cross_entropy(out, y, label_smoothing=0.1)  # noqa: E731
        s = a.image_size
        data = [(torch.randn(a.batch, 3, s, s, generator=g), torch.randint(0, a.classes, (a.batch,), generator=g))
                for _ in range(POOL)]
        clip = None
    else:
        from transformer_reference import Gpt
        model = Gpt(a.vocab, a.seq, a.dim, a.heads, a.layers)
        opt = lambda p: torch.optim.AdamW(p, lr=2e-3, betas=(0.9, 0.95), weight_decay=0.1)  # noqa: E731
        loss = lambda out, y: F.cross_entropy(out.reshape(-1, a.vocab), y.reshape(-1))  # noqa: E731
        data = []
        for _ in range(POOL):
            t = torch.randint(0, a.vocab, (a.batch, a.seq + 1), generator=g)
            data.append((t[:, :-1].contiguous(), t[:, 1:].contiguous()))
        clip = 1.0
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    model = model.to(dev).to(memory_format=fmt) if a.channels_last else model.to(dev)
    data = [(x.to(dev).contiguous(memory_format=fmt) if x.dim() == 4 else x.to(dev), y.to(dev)) for x, y in data]
    return model, opt(model.parameters()), loss, clip, data


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["cnn", "resnet18", "lm"], default="cnn")
    ap.add_argument("--batch", type=int, default=None, help="default: 128 (cnn), 32 (resnet18, lm)")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--mode", choices=["eager", "compile", "reduce-overhead"], default="eager")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dropout", type=float, default=0.3, help="cnn (configs/fashion_cnn.toml: 0.3)")
    ap.add_argument("--image-size", type=int, default=224, help="resnet18")
    ap.add_argument("--classes", type=int, default=10, help="resnet18")
    ap.add_argument("--seq", type=int, default=128, help="lm: window")
    ap.add_argument("--dim", type=int, default=128, help="lm")
    ap.add_argument("--heads", type=int, default=4, help="lm")
    ap.add_argument("--layers", type=int, default=4, help="lm")
    ap.add_argument("--vocab", type=int, default=256, help="lm")
    a = ap.parse_args(argv)
    if a.batch is None:
        a.batch = 128 if a.model == "cnn" else 32
    if a.channels_last and a.model == "lm":
        ap.error("--channels-last is for the conv nets (cnn, resnet18)")

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    model, opt, loss_fn, clip, data = workload(a, dev)
    model.train()
    fwd = model
    if a.mode == "compile":
        fwd = torch.compile(model)
    elif a.mode == "reduce-overhead":
        fwd = torch.compile(model, mode="reduce-overhead")

    def autocast():
        if a.precision == "bf16":
            return torch.autocast(dev.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = loss_fn(fwd(x), y)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        return loss

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    info = {"model": a.model, "mode": a.mode, "precision": a.precision, "batch": a.batch,
            "channels_last": a.channels_last, "threads": torch.get_num_threads(), "device": a.device,
            "torch": torch.__version__}
    if a.model == "lm":
        info.update(seq=a.seq, dim=a.dim, layers=a.layers)
    try:
        t_warm = time.perf_counter()
        for i in range(a.warmup):
            step(*data[i % POOL])
        sync()
        warm = time.perf_counter() - t_warm
    except Exception as e:  # torch.compile (inductor) can fail on a machine without its toolchain
        msg = f"{type(e).__name__}: {e}".strip().splitlines()
        print(json.dumps({**info, "error": " | ".join(msg[:3])[:500]}))
        return
    t0 = time.perf_counter()
    for i in range(a.warmup, a.warmup + a.steps):
        loss = step(*data[i % POOL])
    loss.item()
    sync()
    secs = time.perf_counter() - t0
    out = {**info, "samples_per_s": a.steps * a.batch / secs, "step_ms": 1000 * secs / a.steps, "warmup_s": warm,
           "steps": a.steps, "warmup": a.warmup}
    if a.model == "lm":
        out["tokens_per_s"] = out["samples_per_s"] * a.seq
    print(json.dumps(out))


if __name__ == "__main__":
    main()
