#!/usr/bin/env bash
# Cost of kiln's CPU reproducibility settings on samples/s: interleaved rounds of two kiln
# binaries (e.g. one built before the change and one after) on the default config (400
# steps) and configs/fashion_cnn.toml (20 steps), test split cut to 500 samples.
#   usage: bench/repro_cost.sh OLD_KILN NEW_KILN [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
old=$1 new=$2 rounds=${3:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sps() { "$@" --json | tail -1 | sed -E 's/.*"samples_per_s":([0-9.e+]+).*/\1/'; }
for r in $(seq 1 "$rounds"); do
  for tag in old new; do
    bin=$old; [ "$tag" = new ] && bin=$new
    mlp=$(sps "$bin" --quiet train --set train.max_steps=400 --set data.limit_test=500 --run-dir "$work/m-$tag-$r")
    cnn=$(sps "$bin" --quiet train "$root/configs/fashion_cnn.toml" --set train.max_steps=20 --set data.limit_test=500 \
              --run-dir "$work/c-$tag-$r")
    echo "round $r $tag mlp $mlp cnn $cnn"
  done
done
