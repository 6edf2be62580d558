#!/usr/bin/env python3
"""Writes an ImageNet-like JPEG folder for the image-loader benchmark.

usage: make_photo_folder.py OUT_DIR [--train 5000] [--val 500] [--classes 10] [--seed 0]
                            [--long-side 400 500]
Each image is a random crop (40-100 % of the area) of one of scikit-image's bundled photos,
scaled so its longer side is 400-500 px (--long-side), recoloured (channel gains, brightness, contrast),
saved as JPEG at quality 85-95 into OUT_DIR/{train,val}/<class>/. Deterministic per seed.
"""
import argparse
import os

import numpy as np
from PIL import Image
import skimage.data as data

PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field", "retina",
          "colorwheel"]


def photos():
    out = [getattr(data, n)() for n in PHOTOS]
    out.append(data.stereo_motorcycle()[0])
    return [Image.fromarray(p[..., :3]) for p in out]


def one(rng, src, lo, hi):
    w, h = src.size
    share = rng.uniform(0.4, 1.0)
    aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    cw = int(min(w, round(np.sqrt(share * w * h * aspect))))
    ch = int(min(h, round(np.sqrt(share * w * h / aspect))))
    x, y = rng.integers(0, w - cw + 1), rng.integers(0, h - ch + 1)
    img = src.crop((x, y, x + cw, y + ch))
    long_side = rng.integers(lo, hi + 1)
    s = long_side / max(cw, ch)
    img = img.resize((max(1, round(cw * s)), max(1, round(ch * s))), Image.BICUBIC)
    a = np.asarray(img, dtype=np.float32)
    a = a * rng.uniform(0.7, 1.3, size=3) + rng.uniform(-30, 30)
    a = (a - a.mean()) * rng.uniform(0.8, 1.2) + a.mean()
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)), int(rng.integers(85, 96))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--train", type=int, default=5000)
    ap.add_argument("--val", type=int, default=500)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--long-side", type=int, nargs=2, default=[400, 500], metavar=("LO", "HI"),
                    help="longer side range in pixels (phone photos: 3000 4000)")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    srcs = photos()
    total = 0
    for split, n in (("train", a.train), ("val", a.val)):
        for i in range(n):
            c = i % a.classes
            d = os.path.join(a.out_dir, split, f"class{c:02d}")
            os.makedirs(d, exist_ok=True)
            img, q = one(rng, srcs[int(rng.integers(0, len(srcs)))], *a.long_side)
            path = os.path.join(d, f"{i:06d}.jpg")
            img.save(path, quality=q)
            total += os.path.getsize(path)
    print(f"{a.train} train + {a.val} val JPEGs in {a.out_dir}, {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
