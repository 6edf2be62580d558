#!/usr/bin/env bash
# kiln's training step beside the same model in plain PyTorch (bench/step_reference.py) in
# eager, torch.compile and torch.compile(mode="reduce-overhead"), on this machine, in one run,
# for three workloads (MODELS):
#   cnn       configs/fashion_cnn.toml's small CNN, batch 128 and 256 (BATCHES)
#   resnet18  configs/imagefolder_resnet18.toml (torchvision's ResNet-18 shape) at 224 px on a
#             generated JPEG folder (bench/make_photo_folder.py; PHOTOS), batch RESNET_BATCHES
#   lm        configs/lm_bytes.toml's transformer (4 x 128, window 128), batch LM_BATCHES
# each in fp32 and bf16 (autocast), and for the conv nets each also with channels-last. kiln's
# figure is `kiln profile`'s measured window (its real loader feeding it); PyTorch's is on
# random tensors. Both use the same number of intra-op threads (THREADS, default all cores;
# kiln gets --set train.threads). The order of kiln and the references alternates row by row,
# so slow drift in machine load hits both. Output: a table on stderr (samples/s, kiln / that;
# an lm sample is one window of 128 tokens), one JSON line on stdout with everything. Extra
# arguments go to `kiln profile`.
#   bench/step_vs_pytorch.sh [--set ...]
#   env: MODELS ("cnn resnet18 lm"), DEVICE (cpu; kiln gets --set train.device=$DEVICE too),
#        THREADS (nproc), KILN (a kiln binary; default: tools/build.sh's), PYTHON (one with
#        torch and torchvision; default: tools/bootstrap.sh's venv),
#        BATCHES ("128 256"), STEPS (40), WARMUP (10): the cnn;
#        RESNET_BATCHES (32 on the CPU, 256 on cuda), RESNET_STEPS (8 on the CPU, else 40),
#        RESNET_WARMUP (3 on the CPU, else 10), PHOTOS (/tmp/kiln-step-bench/photos);
#        LM_BATCHES (32), LM_STEPS (STEPS), LM_WARMUP (WARMUP), LM_TEXT (a text file for
#        kiln's lm instead of the config's fortunes, for a machine without them);
#        PRECISIONS ("fp32 bf16"): which precisions run (a CPU without native bf16 runs bf16
#        several times slower than fp32, in kiln and PyTorch alike); ROWS (keep the rows, one JSON
#        line each, in this file: a run cut short still leaves the ones it finished)
#   bench/step_vs_pytorch.sh --table ROWS_FILE   the table (and JSON line) of such a file
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [[ -n "${PYTHON:-}" ]]; then python=$PYTHON; else python=$(tools/bootstrap.sh); fi

table() {  # rows file -> one JSON line on stdout, the table on stderr
  local cpu_model flags
  cpu_model=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
  flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
  "$python" - "$1" "$cpu_model" "$(nproc)" "$flags" "${DEVICE:-cpu}" "${THREADS:-$(nproc)}" "$(uptime)" <<'PY'
import json, sys
rows_path, cpu, cores, flags, device, threads, uptime = sys.argv[1:8]
flags = flags.split()
rows = [json.loads(l) for l in open(rows_path) if l.strip().endswith("}")]  # a line cut short is skipped
machine = {"cpu": cpu, "cores": int(cores), "avx512_bf16": "avx512_bf16" in flags, "amx_bf16": "amx_bf16" in flags,
           "device": device, "threads": int(threads), "uptime_after": uptime.strip()}
print(json.dumps({"machine": machine, "rows": rows}))
err = sys.stderr
print(f"machine: {cpu}, {cores} cores, avx512_bf16 {'yes' if machine['avx512_bf16'] else 'no'}, "
      f"amx_bf16 {'yes' if machine['amx_bf16'] else 'no'}; device {device}, {threads} threads; {uptime.strip()}",
      file=err)
print(f"{'model':<9} {'batch':>5} {'precision':<10} {'who':<14} {'steps':>6} {'samples/s':>10} {'step ms':>9} "
      f"{'kiln / this':>11}", file=err)
key = lambda r: (r["model"], r["batch"], r["precision"], r["channels_last"])  # noqa: E731
kiln = {key(r): r["result"]["samples_per_s"] for r in rows if r["who"] == "kiln" and "samples_per_s" in r["result"]}
names = {"kiln": "kiln", "eager": "PyTorch eager", "compile": "torch.compile", "reduce-overhead": "compile r-o"}
order = ["kiln", "eager", "compile", "reduce-overhead"]
models = list(dict.fromkeys(r["model"] for r in rows))
for r in sorted(rows, key=lambda r: (models.index(r["model"]), r["batch"], ["fp32", "bf16"].index(r["precision"]),
                                     r["channels_last"], order.index(r["who"]))):
    prec = r["precision"] + (" +CL" if r["channels_last"] else "")
    res = r["result"]
    head = f"{r['model']:<9} {r['batch']:>5} {prec:<10} {names[r['who']]:<14} {r['warmup']:>2}+{r['steps']:<3}"
    if "samples_per_s" not in res:
        print(f"{head} error: {res.get('error', '?')[:200]}", file=err)
        continue
    ratio = f"{kiln[key(r)] / res['samples_per_s']:10.2f}x" if key(r) in kiln else f"{'-':>11}"
    print(f"{head} {res['samples_per_s']:10.1f} {res['step_ms']:9.1f} {ratio}", file=err)
for m, b in dict.fromkeys((r["model"], r["batch"]) for r in rows):
    fp32, bf16, cl = kiln.get((m, b, "fp32", False)), kiln.get((m, b, "bf16", False)), kiln.get((m, b, "bf16", True))
    if fp32 and bf16:
        print(f"kiln {m} batch {b}: bf16 / fp32 {bf16 / fp32:.2f}x" + (f", bf16+CL / fp32 {cl / fp32:.2f}x" if cl else ""),
              file=err)
for r in rows:
    if r["who"] in ("compile", "reduce-overhead") and "warmup_s" in r["result"]:
        print(f"{names[r['who']]} warm-up (incl. compile) {r['model']} batch {r['batch']} {r['precision']}"
              f"{' +CL' if r['channels_last'] else ''}: {r['result']['warmup_s']:.1f} s", file=err)
PY
}
if [[ ${1:-} == --table ]]; then
  table "$2"
  exit
fi
if [[ -n "${KILN:-}" ]]; then kiln=$KILN; else kiln="$(tools/build.sh)/kiln"; fi
models=${MODELS:-cnn resnet18 lm}
precisions=" ${PRECISIONS:-fp32 bf16} "
device=${DEVICE:-cpu}
threads=${THREADS:-$(nproc)}
cpu=1
[[ $device == cpu ]] || cpu=0
photos=${PHOTOS:-/tmp/kiln-step-bench/photos}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
rows=${ROWS:-$out/rows.jsonl}
: >"$rows"

# Per model: kiln's config (+ --set), the reference's --model, batches, steps, warm-up, and
# the precision variants ("precision channels_last").
setup() {  # model -> globals cfg, sets, ref_model, m_batches, m_steps, m_warmup, variants
  sets=()
  case $1 in
    cnn)
      cfg=configs/fashion_cnn.toml ref_model=cnn m_batches=${BATCHES:-128 256}
      m_steps=${STEPS:-40} m_warmup=${WARMUP:-10} variants=("fp32 false" "fp32 true" "bf16 false" "bf16 true") ;;
    resnet18)
      if [[ ! -d $photos/train ]]; then
        echo "writing a JPEG folder for ResNet-18 into $photos ..." >&2
        "$python" bench/make_photo_folder.py "$photos" --train 1000 --val 100 >&2
      fi
      cfg=configs/imagefolder_resnet18.toml ref_model=resnet18 sets=(--set "data.dir=$photos")
      if ((cpu)); then m_batches=${RESNET_BATCHES:-32} m_steps=${RESNET_STEPS:-8} m_warmup=${RESNET_WARMUP:-3}
      else m_batches=${RESNET_BATCHES:-256} m_steps=${RESNET_STEPS:-40} m_warmup=${RESNET_WARMUP:-10}; fi
      variants=("fp32 false" "fp32 true" "bf16 false" "bf16 true") ;;
    lm)
      cfg=configs/lm_bytes.toml ref_model=lm m_batches=${LM_BATCHES:-32}
      [[ -n ${LM_TEXT:-} ]] && sets=(--set "data.train=$LM_TEXT" --set data.val_tokens=65536)
      m_steps=${LM_STEPS:-${STEPS:-40}} m_warmup=${LM_WARMUP:-${WARMUP:-10}} variants=("fp32 false" "bf16 false") ;;
    *) echo "step_vs_pytorch.sh: unknown model '$1' in MODELS (cnn, resnet18, lm)" >&2; exit 2 ;;
  esac
}

error_json() {  # file -> {"error": its tail}
  "$python" -c 'import json,sys; print(json.dumps({"error": open(sys.argv[1]).read().strip()[-500:]}))' "$1"
}
run_kiln() {  # batch precision channels_last [extra...] -> one JSON line (or {"error": ...})
  local b=$1 prec=$2 cl=$3
  shift 3
  local args=("${sets[@]}" --set "loader.batch_size=$b" --set "train.precision=$prec" --set "train.device=$device"
              --set "train.threads=$threads")
  args+=(--set "model.channels_last=$cl")  # explicit: configs/fashion_cnn.toml sets it on
  local line
  if line=$("$kiln" -q profile "$cfg" --warmup "$m_warmup" --steps "$m_steps" --out "$out/p-$ref_model-$b-$prec-$cl" \
              --json "${args[@]}" "$@" 2>"$out/kiln.err" | tail -n 1) && [[ $line == "{"* ]]; then
    echo "$line"
  else
    error_json "$out/kiln.err"
  fi
}
run_ref() {  # batch precision channels_last mode -> one JSON line
  local args=(--model "$ref_model" --batch "$1" --precision "$2" --mode "$4" --steps "$m_steps" --warmup "$m_warmup"
              --threads "$threads" --device "$device")
  [[ $3 == true ]] && args+=(--channels-last)
  local line
  if line=$("$python" bench/step_reference.py "${args[@]}" 2>"$out/ref.err" | tail -n 1) && [[ $line == "{"* ]]; then
    echo "$line"
  else
    error_json "$out/ref.err"
  fi
}

extra=("$@")
i=0
for model in $models; do
  setup "$model"
  for b in $m_batches; do
    for v in "${variants[@]}"; do
      read -r prec cl <<<"$v"
      [[ $precisions == *" $prec "* ]] || continue
      order=(kiln eager compile reduce-overhead)
      (( i % 2 )) && order=(reduce-overhead compile eager kiln)
      for who in "${order[@]}"; do
        echo "[$model $b $prec channels_last=$cl] $who ..." >&2
        if [[ $who == kiln ]]; then j=$(run_kiln "$b" "$prec" "$cl" "${extra[@]}"); else j=$(run_ref "$b" "$prec" "$cl" "$who"); fi
        printf '{"model": "%s", "who": "%s", "batch": %s, "precision": "%s", "channels_last": %s, "steps": %s, "warmup": %s, "result": %s}\n' \
          "$model" "$who" "$b" "$prec" "$cl" "$m_steps" "$m_warmup" "$j" >>"$rows"
      done
      i=$((i + 1))
    done
  done
done

table "$rows"
