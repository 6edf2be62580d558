"""Reference for tests/image_folder_torchvision_test.cpp: torchvision's evaluation and
training crops of real photos (scikit-image's bundled samples), decoded by PIL at full size.

usage: tv_jpeg_crops.py make DIR
         writes DIR/val/photo/<name>.jpg (quality 90, PIL's default 4:2:0) at a few sizes
       tv_jpeg_crops.py compare DIR KILN_DIR
         for each DIR/val/photo/F: reads KILN_DIR/eval-F.raw (kiln's
         uint8 CHW 224x224 evaluation sample) and KILN_DIR/crop-F.txt + crop-F.raw (a
         training box "left top width height" in source pixels and kiln's 224x224 sample of
         it, unflipped); prints one JSON line per image and crop kind with the largest and
         the mean absolute difference from torchvision's
"""
import json
import os
import sys

import numpy as np
from PIL import Image
import torchvision.transforms.functional as F
from torchvision import transforms as T

# name -> (scikit-image sample, longer side in pixels): kiln decodes the two large ones at a
# reduced DCT scale (1/2 or smaller covers their crops), the others at full scale.
PHOTOS = {
    "astronaut": ("astronaut", 1000),
    "big_rocket": ("rocket", 1900),
    "chelsea": ("chelsea", 451),
    "coffee": ("coffee", 600),
    "rocket": ("rocket", 480),
    "small": ("coffee", 250),
}


def make(root):
    from skimage import data
    out = os.path.join(root, "val", "photo")
    os.makedirs(out, exist_ok=True)
    for name, (sample, side) in PHOTOS.items():
        img = Image.fromarray(getattr(data, sample)()).convert("RGB")
        scale = side / max(img.size)
        size = (round(img.size[0] * scale), round(img.size[1] * scale))
        img.resize(size, Image.BICUBIC).save(os.path.join(out, name + ".jpg"), quality=90)


def chw(im):
    return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)


def diff(a, b):
    d = np.abs(a.astype(np.int32) - b.astype(np.int32))
    return int(d.max()), float(d.mean())


def compare(root, kiln_dir):
    folder = os.path.join(root, "val", "photo")
    for i, f in enumerate(sorted(os.listdir(folder))):
        img = Image.open(os.path.join(folder, f)).convert("RGB")
        ev = chw(T.Compose([T.Resize(256), T.CenterCrop(224)])(img))
        got = np.fromfile(os.path.join(kiln_dir, f"eval-{f}.raw"), dtype=np.uint8).reshape(3, 224, 224)
        mx, mean = diff(got, ev)
        print(json.dumps({"file": f, "size": list(img.size), "kind": "eval", "max": mx, "mean": mean}))
        left, top, w, h = (int(v) for v in open(os.path.join(kiln_dir, f"crop-{f}.txt")).read().split())
        tr = chw(F.resized_crop(img, top, left, h, w, [224, 224], T.InterpolationMode.BILINEAR, antialias=True))
        got = np.fromfile(os.path.join(kiln_dir, f"crop-{f}.raw"), dtype=np.uint8).reshape(3, 224, 224)
        mx, mean = diff(got, tr)
        print(json.dumps({"file": f, "size": list(img.size), "kind": "train", "box": [left, top, w, h], "max": mx,
                          "mean": mean}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        compare(sys.argv[2], sys.argv[3])
