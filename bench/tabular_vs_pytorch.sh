#!/usr/bin/env bash
# configs/tabular_weather.toml in kiln beside the same run in plain PyTorch (DataLoader over a
# TensorDataset: bench/tabular_reference.py), on this machine, in one run: the train time at
# which validation R^2 first reaches TARGET (default 0.8), the final R^2 and MAE, and the
# whole process's wall time (start-up and CSV parsing included).
#   bench/tabular_vs_pytorch.sh [TARGET]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$(tools/build.sh)
python=$(tools/bootstrap.sh)
target=${1:-0.8}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
t0=$(date +%s.%N)
"$build/kiln" -q train configs/tabular_weather.toml --run-dir "$dir/run" --json | tail -n 1 >"$dir/kiln.json"
t1=$(date +%s.%N)
"$python" bench/tabular_reference.py --target "$target" | tail -n 1 >"$dir/torch.json"
"$python" - "$dir" "$target" "$t0" "$t1" <<'PY'
import json, sys
d, target, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
k = json.load(open(f"{d}/kiln.json"))
t = json.load(open(f"{d}/torch.json"))
evals = [json.loads(l) for l in open(f"{d}/run/metrics.jsonl") if '"eval"' in l]
hit = next((e for e in evals if e["test_r2"] >= target), None)
print(json.dumps({"kiln": {"r2": k["test_r2"], "mae": k["test_mae"], "train_s": k["train_seconds"],
                           "wall_s": t1 - t0, "reached": hit and {"epoch": hit["epoch"] + 1, "train_s": hit["time_s"]}},
                  "pytorch": t}))
kr = hit["time_s"] if hit else float("nan")
tr = t["reached"]["train_s"] if t["reached"] else float("nan")
print(f"kiln     R^2 {k['test_r2']:.4f}  MAE {k['test_mae']:.3f}  R^2 >= {target} after {kr:.3f} s of training"
      f"  train {k['train_seconds']:.2f} s  wall {t1 - t0:.2f} s", file=sys.stderr)
print(f"PyTorch  R^2 {t['r2']:.4f}  MAE {t['mae']:.3f}  R^2 >= {target} after {tr:.3f} s of training"
      f"  train {t['train_s']:.2f} s  wall {t['total_s']:.2f} s (+ interpreter start)", file=sys.stderr)
PY
