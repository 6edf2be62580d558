"""Reference for tests/image_resample_test.cpp: Pillow's and torchvision's resizing of a PNG.

usage: pil_resize.py IMAGE.png OUT_DIR
Writes OUT_DIR/<case>.raw (uint8, HWC) for each case below, resized by the library itself.
"""
import sys

from PIL import Image
import torchvision.transforms as T

img = Image.open(sys.argv[1]).convert("RGB")
out = sys.argv[2]
w, h = img.size
cases = {
    # Pillow: a box resampled to a size (what RandomResizedCrop does after its crop).
    "box_down": img.resize((56, 40), Image.BILINEAR, box=(10.0, 7.0, 180.0, 121.0)),
    "box_up": img.resize((300, 260), Image.BILINEAR, box=(3.0, 5.0, 103.0, 95.0)),
    "whole": img.resize((97, 61), Image.BILINEAR),
    "crop_resize": img.crop((17, 9, 17 + 150, 9 + 100)).resize((64, 64), Image.BILINEAR),
    # torchvision: the evaluation transform.
    "resize_center": T.Compose([T.Resize(72), T.CenterCrop(64)])(img),
}
for name, im in cases.items():
    with open(f"{out}/{name}.raw", "wb") as f:
        f.write(im.tobytes())
