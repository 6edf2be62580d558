#!/usr/bin/env bash
# The sweep figure of docs/benchmarks.md on the GPU machine: configs/sweeps/fashion_cnn.toml
# (lr, weight decay, hidden width, augmentation; TPE + median pruning) for a fixed budget,
# best test accuracy against GPU-minutes. Run after bench/gpu_checks.sh's build stage (it
# reuses $KILN_BUILD_DIR, default build-gpu); `bench/gpu_checks.sh build sweep` does both.
#   on a device: bench/gpu_sweep.sh [TRIALS]     (carry .devdeps; default 12 trials)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-out}
mkdir -p "$out"
trials=${1:-12}
start=$(date +%s)
build=${KILN_BUILD_DIR:-build-gpu}
"$build/kiln" sweep configs/sweeps/fashion_cnn.toml --trials "$trials" --dir "$out/sweep" --json \
  > "$out/sweep.json" 2> "$out/sweep.err"
end=$(date +%s)
tail -n 30 "$out/sweep.err"
python3 - "$out/sweep.json" "$((end - start))" <<'PY'
import json, sys
j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
minutes = int(sys.argv[2]) / 60
print(f"sweep: {j['trials']} trials ({j['complete']} complete, {j['pruned']} pruned, {j['failed']} failed) "
      f"in {minutes:.1f} GPU-minutes; best {j['metric']} {j['best']['value']:.4f} with {j['best']['params']}")
PY
