#!/usr/bin/env bash
# Sweep overhead per trial (ask + tell through a journal study file), kiln's native TPE beside
# Optuna's TPESampler, same synthetic objective, same machine, same run.
#   bench/sampler_vs_optuna.sh [TRIALS]      (default 1000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
trials=${1:-1000}
build=$(tools/build.sh)
python=$(tools/bootstrap.sh)
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores" >&2
kiln_json=$("$build/kiln" bench sampler --trials "$trials" | tail -n 1)
optuna_json=$("$python" bench/sampler_reference.py "$trials" | tail -n 1)
echo "kiln:   $kiln_json"
echo "optuna: $optuna_json"
"$python" - "$kiln_json" "$optuna_json" <<'PY'
import json, sys
k, o = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{'trials so far':>14} {'kiln ms':>10} {'optuna ms':>10} {'ratio':>7}")
for p in sorted(k["ask_tell_ms"], key=int):
    a, b = k["ask_tell_ms"][p], o["ask_tell_ms"].get(p)
    print(f"{p:>14} {a:>10.3f} {b:>10.3f} {b / a:>6.1f}x" if b else f"{p:>14} {a:>10.3f}")
print(f"total: kiln {k['total_s']:.2f} s, optuna {o['total_s']:.2f} s for {k['trials']} trials")
PY
