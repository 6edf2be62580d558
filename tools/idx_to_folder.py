#!/usr/bin/env python3
"""Writes an IDX image/label pair (Fashion-MNIST, MNIST) out as an image folder.

usage: idx_to_folder.py IDX_DIR OUT_DIR [--format png|jpg] [--limit N] [--size PX]
  IDX_DIR  holds train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-*
  OUT_DIR  gets train/<class>/<n>.png and val/<class>/<n>.png (class = the label's name)
For kiln's image-folder tests, examples and benchmarks; run it with the venv's python
(tools/bootstrap.sh prints its path), which has numpy and Pillow.
"""
import argparse
import gzip
import os

import numpy as np
from PIL import Image

FASHION = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(d, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    raise SystemExit(f"idx_to_folder: no {stem}[.gz] in {d}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("idx_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--format", choices=["png", "jpg"], default="png")
    ap.add_argument("--limit", type=int, default=0, help="first N images of each split (0 = all)")
    ap.add_argument("--size", type=int, default=0, help="resize to PX x PX (0 = as stored)")
    a = ap.parse_args()
    for split, prefix in (("train", "train"), ("val", "t10k")):
        images = read_idx(find(a.idx_dir, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(find(a.idx_dir, f"{prefix}-labels-idx1-ubyte"))
        n = len(images) if a.limit <= 0 else min(a.limit, len(images))
        for i in range(n):
            name = FASHION[labels[i]] if labels.max() < len(FASHION) else str(labels[i])
            d = os.path.join(a.out_dir, split, f"{labels[i]}-{name}")
            os.makedirs(d, exist_ok=True)
            img = Image.fromarray(images[i], mode="L")
            if a.size:
                img = img.resize((a.size, a.size), Image.BILINEAR)
            img.save(os.path.join(d, f"{i:05d}.{a.format}"), quality=90) if a.format == "jpg" else img.save(
                os.path.join(d, f"{i:05d}.png"))
        print(f"{split}: {n} images -> {os.path.join(a.out_dir, split)}")


if __name__ == "__main__":
    main()
