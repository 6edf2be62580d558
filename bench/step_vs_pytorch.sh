#!/usr/bin/env bash
# kiln's training step for the small CNN (configs/fashion_cnn.toml) beside the same model in
# plain PyTorch (bench/cnn_step_reference.py) in eager, torch.compile and
# torch.compile(mode="reduce-overhead"), on this machine, in one run: batch 128 and 256, fp32
# and bf16 (autocast), and bf16 with channels-last. kiln's figure is `kiln profile`'s measured
# window (its real loader feeding it); PyTorch's is on random tensors. Both use the same number
# of intra-op threads (THREADS, default all cores; kiln gets --set train.threads). The order of
# kiln and the references alternates row by row, so slow drift in machine load hits both.
# Output: a table on stderr (samples/s, kiln / that), one JSON line on stdout with everything.
# Extra arguments go to `kiln profile`.
#   bench/step_vs_pytorch.sh [--set ...]
#   env: STEPS (40), WARMUP (10), DEVICE (cpu; kiln gets --set train.device=$DEVICE too),
#        THREADS (nproc), BATCHES ("128 256"), KILN (a kiln binary; default: tools/build.sh's)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [[ -n "${KILN:-}" ]]; then kiln=$KILN; else kiln="$(tools/build.sh)/kiln"; fi
python=$(tools/bootstrap.sh)
steps=${STEPS:-40}
warmup=${WARMUP:-10}
device=${DEVICE:-cpu}
threads=${THREADS:-$(nproc)}
batches=${BATCHES:-128 256}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
rows="$out/rows.jsonl"
: >"$rows"

run_kiln() {  # batch precision channels_last [extra...] -> one JSON line (or {"error": ...})
  local b=$1 prec=$2 cl=$3
  shift 3
  local args=(--set "loader.batch_size=$b" --set "train.precision=$prec" --set "train.device=$device"
              --set "train.threads=$threads")
  [[ $cl == true ]] && args+=(--set model.channels_last=true)
  local line
  if line=$("$kiln" -q profile configs/fashion_cnn.toml --warmup "$warmup" --steps "$steps" \
              --out "$out/p-$b-$prec-$cl" --json "${args[@]}" "$@" 2>"$out/kiln.err" | tail -n 1) && [[ $line == "{"* ]]; then
    echo "$line"
  else
    "$python" -c 'import json,sys; print(json.dumps({"error": open(sys.argv[1]).read().strip()[-500:]}))' "$out/kiln.err"
  fi
}
run_ref() {  # batch precision channels_last mode -> one JSON line
  local args=(--batch "$1" --precision "$2" --mode "$4" --steps "$steps" --warmup "$warmup" --threads "$threads"
              --device "$device")
  [[ $3 == true ]] && args+=(--channels-last)
  local line
  if line=$("$python" bench/cnn_step_reference.py "${args[@]}" 2>"$out/ref.err" | tail -n 1) && [[ $line == "{"* ]]; then
    echo "$line"
  else
    "$python" -c 'import json,sys; print(json.dumps({"error": open(sys.argv[1]).read().strip()[-500:]}))' "$out/ref.err"
  fi
}

extra=("$@")
i=0
for b in $batches; do
  for cfg in "fp32 false" "bf16 false" "bf16 true"; do
    read -r prec cl <<<"$cfg"
    order=(kiln eager compile reduce-overhead)
    (( i % 2 )) && order=(reduce-overhead compile eager kiln)
    for who in "${order[@]}"; do
      echo "[$b $prec channels_last=$cl] $who ..." >&2
      if [[ $who == kiln ]]; then j=$(run_kiln "$b" "$prec" "$cl" "${extra[@]}"); else j=$(run_ref "$b" "$prec" "$cl" "$who"); fi
      printf '{"who": "%s", "batch": %s, "precision": "%s", "channels_last": %s, "result": %s}\n' \
        "$who" "$b" "$prec" "$cl" "$j" >>"$rows"
    done
    i=$((i + 1))
  done
done

model=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
"$python" - "$rows" "$model" "$(nproc)" "$flags" "$device" "$threads" "$steps" "$warmup" "$(uptime)" <<'PY'
import json, sys
rows_path, model, cores, flags, device, threads, steps, warmup, uptime = sys.argv[1:10]
flags = flags.split()
rows = [json.loads(l) for l in open(rows_path)]
machine = {"cpu": model, "cores": int(cores), "avx512_bf16": "avx512_bf16" in flags, "amx_bf16": "amx_bf16" in flags,
           "device": device, "threads": int(threads), "uptime_after": uptime.strip()}
print(json.dumps({"machine": machine, "steps": int(steps), "warmup": int(warmup), "rows": rows}))
err = sys.stderr
print(f"machine: {model}, {cores} cores, avx512_bf16 {'yes' if machine['avx512_bf16'] else 'no'}, "
      f"amx_bf16 {'yes' if machine['amx_bf16'] else 'no'}; device {device}, {threads} threads; "
      f"{warmup} warm-up + {steps} measured steps; {uptime.strip()}", file=err)
print(f"{'batch':>5} {'precision':<12} {'who':<16} {'samples/s':>10} {'step ms':>9} {'kiln / this':>11}", file=err)
kiln = {}
for r in rows:
    if r["who"] == "kiln" and "samples_per_s" in r["result"]:
        kiln[(r["batch"], r["precision"], r["channels_last"])] = r["result"]["samples_per_s"]
names = {"kiln": "kiln", "eager": "PyTorch eager", "compile": "torch.compile", "reduce-overhead": "compile r-o"}
order = ["kiln", "eager", "compile", "reduce-overhead"]
for r in sorted(rows, key=lambda r: (r["batch"], ["fp32", "bf16"].index(r["precision"]), r["channels_last"], order.index(r["who"]))):
    key = (r["batch"], r["precision"], r["channels_last"])
    prec = r["precision"] + (" +CL" if r["channels_last"] else "")
    res = r["result"]
    if "samples_per_s" not in res:
        print(f"{r['batch']:>5} {prec:<12} {names[r['who']]:<16} error: {res.get('error', '?')[:200]}", file=err)
        continue
    ratio = f"{kiln[key] / res['samples_per_s']:10.2f}x" if key in kiln else f"{'-':>11}"
    print(f"{r['batch']:>5} {prec:<12} {names[r['who']]:<16} {res['samples_per_s']:10.1f} {res['step_ms']:9.1f} {ratio}",
          file=err)
for b in sorted({r["batch"] for r in rows}):
    fp32, bf16, cl = kiln.get((b, "fp32", False)), kiln.get((b, "bf16", False)), kiln.get((b, "bf16", True))
    if fp32 and bf16 and cl:
        print(f"kiln batch {b}: bf16 / fp32 {bf16 / fp32:.2f}x, bf16+CL / fp32 {cl / fp32:.2f}x", file=err)
for r in rows:
    if r["who"] != "kiln" and "warmup_s" in r["result"] and r["who"] != "eager":
        print(f"{names[r['who']]} warm-up (incl. compile) batch {r['batch']} {r['precision']}"
              f"{' +CL' if r['channels_last'] else ''}: {r['result']['warmup_s']:.1f} s", file=err)
PY
