#!/usr/bin/env bash
# kiln's image-folder loader beside torchvision's ImageFolder + DataLoader, on this machine, in
# one run, on the same files: a generated ImageNet-like JPEG folder (bench/make_photo_folder.py,
# 5,000 train images, 400-500 px) and the Fashion-MNIST PNG folder (tools/idx_to_folder.py).
# Both: RandomResizedCrop + horizontal flip + normalise to float32, batch 256, all cores
# (torchvision: the best num_workers of 0..cores). Also kiln's decode-only ceiling.
#   bench/image_folder_vs_torchvision.sh [WORK_DIR] (default /tmp/kiln-image-bench; kept)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$(tools/build.sh)
python=$(tools/bootstrap.sh)
work=${1:-/tmp/kiln-image-bench}
mkdir -p "$work"
[ -d "$work/photos/train" ] || "$python" bench/make_photo_folder.py "$work/photos" >&2
[ -d "$work/fashion/train" ] || "$python" tools/idx_to_folder.py /usr/share/datasets/fashion-mnist "$work/fashion" >&2

kiln_bench() {  # DIR SIZE
  "$build/kiln" bench loader --epochs 2 --json --set data.dataset=image-folder --set "data.dir=$1" \
    --set "data.image_size=$2" --set data.channels=3 --set loader.batch_size=256 --set augment.crop_padding=0 \
    --set augment.hflip=true | tail -n 1
}
k_photo=$(kiln_bench "$work/photos" 224)
t_photo=$("$python" bench/image_folder_reference.py "$work/photos" --size 224 | tail -n 1)
k_fm=$(kiln_bench "$work/fashion" 28)
t_fm=$("$python" bench/image_folder_reference.py "$work/fashion" --size 28 --epochs 1 | tail -n 1)
"$python" - "$k_photo" "$t_photo" "$k_fm" "$t_fm" <<'PY'
import json, os, platform, sys
kp, tp, kf, tf = (json.loads(a) for a in sys.argv[1:5])
print(json.dumps({"photos": {"kiln": kp, "torchvision": tp}, "fashion_png": {"kiln": kf, "torchvision": tf}}))
print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores", file=sys.stderr)
for name, k, t in (("JPEG photos 224", kp, tp), ("Fashion PNG 28", kf, tf)):
    b = t["best"]
    print(f"{name:16s} kiln {k['samples_per_s']:9,.0f} img/s ({1e3 * k['cpu_s_per_sample']:.2f} CPU ms/img)   "
          f"torchvision {b['images_per_s']:8,.0f} img/s ({1e3 * b['cpu_s_per_image']:.2f} CPU ms/img, "
          f"{b['num_workers']} workers)   ratio {k['samples_per_s'] / b['images_per_s']:5.1f}x   "
          f"decode-only ceiling {k.get('decode_samples_per_s', 0):9,.0f} img/s (kiln at "
          f"{100 * k.get('share_of_decode', 0):.0f}%)", file=sys.stderr)
PY
