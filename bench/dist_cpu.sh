#!/usr/bin/env bash
# Data-parallel on this CPU: one process with the global batch against two Gloo ranks on
# loopback (kiln launch) with half of it each, interleaved, on configs/fashion_cnn.toml's CNN and
# the default MLP, and the CNN with model.sync_bn (BatchNorm over the job's batch). Each
# process gets an equal share of the cores (train.threads): 2 x 1 against 1 x 2 on a 2-core
# machine. Prints samples/s per run and, from a profiled window of rank 0
# (--profile-steps), the comm phase's share of the step (the loss all-reduce and the stop
# check; the gradients' all-reduce overlaps backward and shows up inside it).
#   usage: bench/dist_cpu.sh [REPEATS]   (KILN=path/to/kiln, default build/kiln)
set -euo pipefail
cd "$(dirname "$0")/.."
kiln=${KILN:-build/kiln}
repeats=${1:-3}
cores=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(--set data.limit_train=12800 --set data.limit_test=512 --set train.epochs=1 --set log.progress=off
        --set model.dropout=0 --seed 1 -q --json)
row() { python3 -c 'import json,sys; s=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(round(s["samples_per_s"]))'; }
comm() {
  python3 - "$1" <<'PY'
import json, sys
p = json.load(open(sys.argv[1] + "/profile/profile.json"))
ph = {x["name"]: x for x in p["phases"]}
g = lambda n: 100 * (ph.get(n, {}).get("share") or 0)
print(f"step {p['step_mean_ms']:.2f} ms; comm {g('comm'):.1f}%, backward {g('backward'):.1f}%, forward {g('forward'):.1f}%")
PY
}
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $cores cores"
for model in mlp cnn cnn_sync_bn; do
  cfg=()
  [ "$model" != mlp ] && cfg=(configs/fashion_cnn.toml --set train.device=cpu)
  [ "$model" = cnn_sync_bn ] && cfg+=(--set model.sync_bn=true)  # a no-op for the one process
  for r in $(seq "$repeats"); do
    one=$("$kiln" train "${cfg[@]}" "${common[@]}" --set loader.batch_size=128 --set loader.drop_last=true \
      --set "train.threads=$cores" --run-dir "$work/one-$model-$r" | row)
    two=$("$kiln" launch --nproc-per-node 2 --master-port 0 train "${cfg[@]}" "${common[@]}" --set loader.batch_size=64 \
      --set "train.threads=$((cores / 2 > 0 ? cores / 2 : 1))" --run-dir "$work/two-$model-$r" | row)
    echo "$model repeat $r: 1 rank x 128: $one samples/s; 2 ranks x 64: $two samples/s"
  done
  "$kiln" launch --nproc-per-node 2 --master-port 0 train "${cfg[@]}" "${common[@]}" --set loader.batch_size=64 \
    --set "train.threads=$((cores / 2 > 0 ? cores / 2 : 1))" --profile-steps 20:60 --run-dir "$work/prof-$model" >/dev/null
  echo "$model 2 ranks, rank 0's profile of steps 20-60: $(comm "$work/prof-$model")"
done
