#!/usr/bin/env bash
# A token file far larger than the page cache one can spare: a 20 GB sparse headerless
# uint16 shard (all token 0; no disk used) beside a 20 MB one, each trained for 300 steps of
# configs/lm_bytes.toml. Prints the peak resident set of both (GNU time): it must not grow
# with the file's size. The 20 GB scan reads every token once (a few seconds from the page
# cache, about half a minute cold).
#   bench/tokens_scale.sh [SIZE=20G]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$(tools/build.sh)
size=${1:-20G}
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
truncate -s 20M "$dir/small.bin"
truncate -s "$size" "$dir/huge.bin"
for f in small huge; do
  /usr/bin/time -v "$build/kiln" -q train configs/lm_bytes.toml --set "data.train=$dir/$f.bin" \
    --set data.dtype=uint16 --set data.vocab=256 --set train.max_steps=300 --set data.limit_test=50 \
    --run-dir "$dir/run-$f" --json 2>"$dir/$f.time" | tail -n 1 >"$dir/$f.json"
  rss=$(awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}' "$dir/$f.time")
  wall=$(awk '/Elapsed/ {print $NF}' "$dir/$f.time")
  tps=$(python3 -c "import json; print(round(json.load(open('$dir/$f.json'))['tokens_per_s']))")
  echo "$f: $(stat -c %s "$dir/$f.bin") bytes, peak RSS ${rss} kB, wall $wall, $tps tokens/s"
done
