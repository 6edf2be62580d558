#!/usr/bin/env bash
# kiln's loader beside PyTorch's DataLoader, on this machine, in one run: both read the
# Fashion-MNIST train split, batch 256, random crop (pad 2) + horizontal flip + normalise.
# Prints both JSON results and the ratios; extra arguments go to `kiln bench loader`.
#   bench/loader_vs_pytorch.sh [--epochs 3]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$(tools/build.sh)
python=$(tools/bootstrap.sh)
kiln_json=$("$build/kiln" bench loader --json "$@" | tail -n 1)
torch_aug=$("$python" bench/loader_reference.py | tail -n 1)
torch_plain=$("$python" bench/loader_reference.py --no-augment | tail -n 1)
"$python" - "$kiln_json" "$torch_aug" "$torch_plain" <<'PY'
import json, os, platform, sys
k, t, tp = (json.loads(a) for a in sys.argv[1:4])
print(json.dumps({"kiln": k, "pytorch": t, "pytorch_no_augment": tp}))
print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores", file=sys.stderr)
rows = [("augmented", k["samples_per_s"], t["samples_per_s"]),
        ("no augmentation", k["no_augment_samples_per_s"], tp["samples_per_s"])]
for name, ks, ts in rows:
    print(f"{name:16s} kiln {ks:12,.0f} samples/s   PyTorch {ts:10,.0f} samples/s   ratio {ks / ts:6.1f}x",
          file=sys.stderr)
print(f"memcpy ceiling   {k['memcpy_samples_per_s']:12,.0f} samples/s   kiln reaches {100 * k['share_of_memcpy']:.0f}% of it",
      file=sys.stderr)
PY
