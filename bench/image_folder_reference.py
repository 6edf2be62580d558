"""torchvision's ImageFolder + DataLoader on an image folder: the reference for
bench/image_folder_vs_torchvision.sh. Shares no code with kiln.

usage: image_folder_reference.py DIR [--size 224] [--batch 256] [--epochs 2] [--workers 0,1,2]
Training transform: RandomResizedCrop(size) + RandomHorizontalFlip + ToTensor + Normalize
(ImageNet's), PIL decode; pin_memory on CUDA. For each num_workers: one warm-up epoch, then
`epochs` timed ones; images/s and CPU seconds per image (this process and its workers, from
/proc). Prints one JSON line per setting and, last, the best.
"""
import argparse
import json
import os
import time

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds():
    """User + system seconds of this process and its live children (the loader workers)."""
    me = os.getpid()
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(pid) == me or int(fields[1]) == me:  # fields[1]: the parent pid
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def run(ds, workers, batch, epochs):
    loader = DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers, pin_memory=torch.cuda.is_available(),
                        persistent_workers=workers > 0)
    for _ in loader:  # warm-up: workers start, files enter the page cache
        pass
    images, t0, c0 = 0, time.perf_counter(), cpu_seconds()
    for _ in range(epochs):
        for x, y in loader:
            images += len(y)
    secs, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    return {"num_workers": workers, "images": images, "images_per_s": images / secs, "cpu_s_per_image": cpu / images}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--workers", default=",".join(str(w) for w in range(os.cpu_count() + 1)))
    a = ap.parse_args()
    torch.set_num_threads(1)
    t = transforms.Compose([
        transforms.RandomResizedCrop(a.size),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    ds = datasets.ImageFolder(os.path.join(a.dir, "train"), transform=t)
    results = []
    for w in (int(v) for v in a.workers.split(",")):
        r = run(ds, w, a.batch, a.epochs)
        print(json.dumps(r), flush=True)
        results.append(r)
    best = max(results, key=lambda r: r["images_per_s"])
    print(json.dumps({"bench": "torchvision_image_folder", "best": best, "all": results, "size": a.size}))


if __name__ == "__main__":
    main()
