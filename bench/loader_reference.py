#!/usr/bin/env python3
"""The PyTorch side of the loader benchmark: torch.utils.data.DataLoader over the same
Fashion-MNIST IDX files with the same per-sample work as `kiln bench loader` (random crop
from the image zero-padded by 2, horizontal flip with p = 1/2, normalise with mean/std),
batch 256, shuffled. It tries num_workers 0..cores (persistent workers, pin_memory when CUDA
is present) and reports the best, as a user tuning it would. Prints one JSON line last.

  python bench/loader_reference.py [--epochs 2] [--batch-size 256] [--no-augment] [--workers 0,4,8]
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

DATA_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(DATA_DIR, name)):
            return os.path.join(DATA_DIR, name)
    sys.exit(f"{stem}[.gz] not found in {DATA_DIR}")


class FashionMNIST(Dataset):
    """What torchvision's ToTensor + RandomCrop(28, padding=2) + RandomHorizontalFlip +
    Normalize do, written with torch ops so that no extra package is needed."""

    def __init__(self, augment, mean=0.2860, std=0.3530, pad=2):
        self.images = torch.from_numpy(read_idx(find("train-images-idx3-ubyte")).copy())
        self.labels = torch.from_numpy(read_idx(find("train-labels-idx1-ubyte")).astype(np.int64))
        self.augment, self.mean, self.std, self.pad = augment, mean, std, pad

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        x = self.images[i].unsqueeze(0).float().div_(255.0)  # [1, 28, 28] in [0, 1]
        if self.augment:
            p = self.pad
            h, w = x.shape[1:]
            x = torch.nn.functional.pad(x, (p, p, p, p))
            dy, dx = torch.randint(0, 2 * p + 1, (2,)).tolist()
            x = x[:, dy : dy + h, dx : dx + w]
            if torch.rand(()) < 0.5:
                x = x.flip(-1)
        return (x - self.mean) / self.std, self.labels[i]


def measure(ds, workers, batch_size, epochs, pin):
    loader = DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers, pin_memory=pin,
                        persistent_workers=workers > 0)
    for _ in loader:  # warm-up epoch: worker start-up is not counted
        pass
    samples = 0
    t0 = time.perf_counter()
    for _ in range(epochs):
        for images, labels in loader:
            samples += labels.shape[0]
    return samples / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--workers", default="",
                    help="comma-separated num_workers to try (default: every count from 0 to the usable cores)")
    args = ap.parse_args()
    pin = torch.cuda.is_available()
    ds = FashionMNIST(augment=not args.no_augment)
    results = {}
    cores = len(os.sched_getaffinity(0))  # the cores this process may use, not the host's
    counts = [int(w) for w in args.workers.split(",")] if args.workers else range(0, cores + 1)
    for workers in counts:
        results[workers] = measure(ds, workers, args.batch_size, args.epochs, pin)
        print(f"pytorch DataLoader num_workers={workers}: {results[workers]:.0f} samples/s", file=sys.stderr)
    best = max(results, key=results.get)
    print(json.dumps({"bench": "pytorch_dataloader", "torch": torch.__version__, "augment": not args.no_augment,
                      "batch_size": args.batch_size, "pin_memory": pin, "best_num_workers": best,
                      "samples_per_s": results[best],
                      "by_num_workers": {str(k): v for k, v in results.items()}}))


if __name__ == "__main__":
    main()
