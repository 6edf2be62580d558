#!/usr/bin/env bash
# The image-folder index at scale: a folder of 1,000,000 files (hard links to 25 tiny valid
# PNGs, under ext4's 65,000 links per file; 1,000 per class folder) indexed by `kiln data index`; wall time, peak RSS and the
# index's own bytes per file.
#   bench/index_scale.sh [FILES] [WORK_DIR]   (default 1000000, /tmp/kiln-index-bench; kept)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$(tools/build.sh)
python=$(tools/bootstrap.sh)
files=${1:-1000000}
work=${2:-/tmp/kiln-index-bench}
if [ ! -f "$work/.done-$files" ]; then
  rm -rf "$work" && mkdir -p "$work"
  "$python" - "$work" "$files" <<'PY'
import os, sys
from PIL import Image
work, n = sys.argv[1], int(sys.argv[2])
seeds = []
for i in range(25):
    p = os.path.join(work, f"seed{i}.png")
    Image.new("RGB", (4 + i, 3 + 2 * i), (i * 10, 100, 200)).save(p)
    seeds.append(p)
per = 1000
for i in range(n):
    d = os.path.join(work, "train", f"class{i // per:04d}")
    if i % per == 0:
        os.makedirs(d)
    os.link(seeds[i % len(seeds)], os.path.join(d, f"img{i:07d}.png"))
PY
  touch "$work/.done-$files"
fi
/usr/bin/time -f "wall %e s, peak RSS %M KiB" "$build/kiln" -q data index "$work/train" --json > "$work/index.json"
"$python" - "$work/index.json" "$files" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["splits"][0]
n = int(sys.argv[2])
print(f"{j['images']} images in {len(j['classes'])} classes; index {j['index_bytes'] / n:.0f} bytes per file")
PY
