#!/usr/bin/env bash
# What kiln's instrumentation costs, side by side on one machine in one run. Three variants
# train CONFIG (default: the built-in MLP on Fashion-MNIST) for the same fixed number of
# steps:
#   (a) the normal build: NVTX ranges compiled in, no profiling window (what `kiln train` is);
#   (b) the same tree built with -DKILN_NVTX=OFF into build-nonvtx/ (ranges compiled out);
#   (c) the normal build with a profiling window over every step (--profile-steps 1:STEPS):
#       per-phase spans on the host clock (CPU) or CUDA events (GPU), plus telemetry.
# The variants run interleaved, ROUNDS times (the order rotates every round), after one
# unmeasured warm-up run. Per-step time = train_seconds / steps from `kiln train --json`
# (evaluation excluded). Prints the median per variant with its min..max, and the overheads
# (a) vs (b) and (c) vs (a): from the medians, and the median and range of the per-round
# paired ratios. Whole-run timings carry run-to-run noise of a few percent on a busy or small
# machine, so the script also measures the instrumentation directly: `kiln bench scopes`
# gives ns per scope outside and inside a window, and (c)'s profile.json how many scopes the
# training thread opens per step; their product over the step time is the overhead, with a
# resolution of well under 0.01 %. The last stdout line is one JSON object with every sample.
#   usage: bench/profile_overhead.sh [CONFIG.toml] [--rounds N] [--steps N] [--no-build]
#                                    [--wait-idle] [--set KEY=VALUE]...
#   env:   KILN_BUILD_DIR (the normal build, default build), KILN_NONVTX_BUILD_DIR (default
#          build-nonvtx), BUILD_JOBS (compile jobs for build-nonvtx, default 1)
#   e.g.   bench/profile_overhead.sh                                   (CPU, default MLP)
#          KILN_BUILD_DIR=build-gpu bench/profile_overhead.sh configs/fashion_cnn.toml --no-build
# --no-build uses $KILN_BUILD_DIR/kiln as it is (otherwise tools/build.sh brings it up to
# date); build-nonvtx/ is always configured like tools/build.sh does, with -DKILN_NVTX=OFF and
# the normal build's KILN_PYTHON, and brought up to date: its first build compiles the whole
# tree (about 10 minutes at -j1 on the 2-core dev box), later calls only what changed.
# --wait-idle (for shared machines): before each run, wait until the CPUs were at least 90 %
# idle over 2 s (at most 30 minutes, then run anyway); each sample records the idle share.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

config=""
rounds=5
steps=1000
build_normal=1
wait_idle=0
sets=()
while (($#)); do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --rounds=*) rounds=${1#*=}; shift ;;
    --steps) steps=$2; shift 2 ;;
    --steps=*) steps=${1#*=}; shift ;;
    --no-build) build_normal=0; shift ;;
    --wait-idle) wait_idle=1; shift ;;
    --set) sets+=(--set "$2"); shift 2 ;;
    --set=*) sets+=(--set "${1#*=}"); shift ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "profile_overhead: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) if [ -n "$config" ]; then echo "profile_overhead: one CONFIG only" >&2; exit 2; fi
       config=$1; shift ;;
  esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ && "$steps" =~ ^[1-9][0-9]*$ ]] ||
  { echo "profile_overhead: --rounds and --steps take positive integers" >&2; exit 2; }
[ -z "$config" ] || [ -f "$config" ] || { echo "profile_overhead: no config file $config" >&2; exit 2; }

build=${KILN_BUILD_DIR:-build}
nonvtx=${KILN_NONVTX_BUILD_DIR:-build-nonvtx}
jobs=${BUILD_JOBS:-1}
log() { echo "profile_overhead: $*" >&2; }

# --- builds -------------------------------------------------------------------------------
if ((build_normal)); then
  build=$(KILN_BUILD_DIR="$build" tools/build.sh)
fi
[ -x "$build/kiln" ] || { log "no $build/kiln: run tools/build.sh first (or set KILN_BUILD_DIR)"; exit 1; }
if ! grep -q 'KILN_HAVE_NVTX=1' "$build/build.ninja" 2>/dev/null; then
  log "warning: $build was built without NVTX ranges (no CUDA headers, or -DKILN_NVTX=OFF): (a) and (b) are the same code"
fi
if [ ! -f "$nonvtx/build.ninja" ]; then
  python=$(sed -n 's/^KILN_PYTHON:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
  [ -n "$python" ] || python=$(tools/bootstrap.sh)
  log "configuring $nonvtx (-DKILN_NVTX=OFF, KILN_PYTHON=$python)"
  cmake -S . -B "$nonvtx" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_PYTHON="$python" \
        -DKILN_SANITIZE= -DKILN_NVTX=OFF >&2
fi
log "building $nonvtx/kiln (-j $jobs)"
cmake --build "$nonvtx" -j "$jobs" --target kiln >&2
if grep -q 'KILN_HAVE_NVTX=1' "$nonvtx/build.ninja"; then
  log "$nonvtx has NVTX on; reconfigure it with -DKILN_NVTX=OFF"; exit 1
fi

# --- runs ---------------------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kiln-profile-overhead-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cfg_args=()
[ -z "$config" ] || cfg_args=("$config")
common=(train "${cfg_args[@]}" --quiet --set "train.max_steps=$steps" --set log.progress=off "${sets[@]}" --json)
declare -A bin=([a]="$build/kiln" [b]="$nonvtx/kiln" [c]="$build/kiln")
declare -A extra=([a]="" [b]="" [c]="--profile-steps 1:$steps")

# Share of CPU time idle (idle + iowait) over all CPUs during the next 2 seconds, "0.00".."1.00".
idle_share() {
  local a b
  a=$(awk '/^cpu /{print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit}' /proc/stat)
  sleep 2
  b=$(awk '/^cpu /{print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit}' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN{split(a, x, " "); split(b, y, " "); d = y[2] - x[2];
                                  printf "%.2f", (d > 0 ? (y[1] - x[1]) / d : 1)}'
}
wait_for_idle() {  # prints the idle share seen last
  local start=$SECONDS share
  share=$(idle_share)
  while ((wait_idle)) && awk -v s="$share" 'BEGIN{exit !(s < 0.90)}'; do
    if ((SECONDS - start > 1800)); then log "still busy (idle $share) after 30 minutes: running anyway"; break; fi
    share=$(idle_share)
  done
  echo "$share"
}

run_one() {  # variant, run-dir name -> the --json line
  local v=$1 name=$2 line
  # shellcheck disable=SC2086  # extra[] is empty or two words
  if ! line=$("${bin[$v]}" "${common[@]}" ${extra[$v]} --run-dir "$tmp/$name" 2> "$tmp/$name.err" | tail -n 1); then
    log "variant ($v) failed:"; tail -n 20 "$tmp/$name.err" >&2; exit 1
  fi
  # (c)'s per-phase counts: how many scopes a step opens (for the direct estimate below).
  [ "$v" != c ] || cp "$tmp/$name/profile/profile.json" "$tmp/c_profile.json"
  [ "$v" != c ] || cp "$tmp/$name/profile/trace.json" "$tmp/c_trace.json"
  rm -rf "${tmp:?}/$name" "$tmp/$name.err"
  echo "$line"
}

log "command: <kiln> ${common[*]} [--profile-steps 1:$steps] --run-dir DIR"
log "warm-up run (not measured)"
run_one a warmup > /dev/null
samples=$tmp/samples.jsonl
order=(a b c)
for ((r = 1; r <= rounds; r++)); do
  for ((i = 0; i < 3; i++)); do
    idle=$(wait_for_idle)
    load=$(cut -d' ' -f1 /proc/loadavg)
    v=${order[$(((i + r - 1) % 3))]}
    line=$(run_one "$v" "$v$r")
    printf '{"round":%d,"variant":"%s","load1":%s,"idle_before":%s,"result":%s}\n' "$r" "$v" "$load" "$idle" "$line" >> "$samples"
    log "round $r/$rounds ($v): $(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print("%.3f ms/step, %.0f samples/s" % (1000*j["train_seconds"]/j["steps"], j["samples_per_s"]))' "$line") (idle before: $idle, load $load)"
  done
done

# The instrumentation's own cost per scope, on the device the runs used.
device=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])["result"]["device"])' "$samples")
log "kiln bench scopes --device $device"
"$build/kiln" bench scopes --device "$device" > "$tmp/scopes.json"

# --- report -------------------------------------------------------------------------------
model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1 || true)
python3 - "$samples" "${model:-unknown CPU}" "$(nproc)" "$gpu" "$steps" "$rounds" "${config:-(defaults)}" "$build" "$nonvtx" \
          "$tmp/scopes.json" "$tmp/c_profile.json" "$tmp/c_trace.json" <<'PY'
import json, statistics as st, sys
path, model, ncpu, gpu, steps, rounds, config, build, nonvtx, scopes_path, prof_path, trace_path = sys.argv[1:13]
rows = [json.loads(l) for l in open(path)]
ms = {v: {} for v in "abc"}  # variant -> round -> ms/step
sps = {v: [] for v in "abc"}
for r in rows:
    res = r["result"]
    ms[r["variant"]][r["round"]] = 1000 * res["train_seconds"] / res["steps"]
    sps[r["variant"]].append(res["samples_per_s"])
    device = res["device"]
med = {v: st.median(ms[v].values()) for v in "abc"}
names = {"a": f"(a) normal build, NVTX on     [{build}]",
         "b": f"(b) -DKILN_NVTX=OFF            [{nonvtx}]",
         "c": f"(c) normal + --profile-steps 1:{steps}"}
def pct(x): return f"{100 * x:+.2f} %"
def paired(v, base):
    ratios = [ms[v][k] / ms[base][k] - 1 for k in ms[v] if k in ms[base]]
    return st.median(ratios), min(ratios), max(ratios)
err = sys.stderr
print(f"\nmachine: {model}, {ncpu} CPUs" + (f", GPU {gpu}" if gpu else "") + f"; device {device}", file=err)
print(f"config {config}, {steps} steps per run, {rounds} rounds interleaved; "
      f"before each run: load average (1 min) {min(r['load1'] for r in rows):.2f}..{max(r['load1'] for r in rows):.2f}, "
      f"CPUs idle {100 * min(r['idle_before'] for r in rows):.0f}..{100 * max(r['idle_before'] for r in rows):.0f} %\n", file=err)
print(f"  {'variant':44s} {'median ms/step':>14s} {'min..max ms/step':>20s} {'median samples/s':>17s}", file=err)
for v in "abc":
    vals = ms[v].values()
    print(f"  {names[v]:44s} {med[v]:14.3f} {min(vals):9.3f}..{max(vals):<9.3f} {st.median(sps[v]):17,.0f}", file=err)
out = {"machine": model, "cpus": int(ncpu), "gpu": gpu or None, "device": device, "config": config,
       "steps": int(steps), "rounds": int(rounds), "median_ms_per_step": med, "samples": rows}
print(file=err)
for v, base, what in (("a", "b", "NVTX ranges, no window   (a) vs (b)"),
                      ("c", "a", "profiling every step     (c) vs (a)")):
    m, lo, hi = paired(v, base)
    best = min(ms[v].values()) / min(ms[base].values()) - 1
    print(f"  {what}: {pct(med[v] / med[base] - 1)} of step time (medians); "
          f"per-round paired {pct(m)} median, {pct(lo)}..{pct(hi)}; fastest runs {pct(best)}", file=err)
    out[f"overhead_{v}_vs_{base}"] = {"from_medians": med[v] / med[base] - 1, "paired_median": m,
                                      "paired_min": lo, "paired_max": hi, "from_fastest": best}
# Direct estimate: the training thread's scopes per step (its spans in (c)'s trace.json, tid
# 0, over the window's steps: every step, data wait, forward, backward, optimizer, copy,
# checkpoint, eval and epoch span) x ns per scope / the step time of (a).
scopes = json.loads(open(scopes_path).read().strip().splitlines()[-1])
prof = json.load(open(prof_path))
trace = json.load(open(trace_path))
events = trace["traceEvents"] if isinstance(trace, dict) else trace
per_step = sum(1 for e in events if e.get("ph") == "X" and e.get("tid") == 0) / prof["window"]["steps"]
step_ns = med["a"] * 1e6
off, win = per_step * scopes["off_ns"], per_step * scopes["window_ns"]
print(f"\n  direct: {per_step:.2f} scopes per step on the training thread; one scope costs "
      f"{scopes['off_ns']:.1f} ns outside a window (NVTX {'compiled in' if scopes['nvtx_compiled_in'] else 'compiled out'}), "
      f"{scopes['window_ns']:.1f} ns inside one", file=err)
print(f"  NVTX ranges, no window: {off / 1000:.3f} us per step = {100 * off / step_ns:.4f} % of the (a) step (an upper bound: "
      f"the whole scope, not only its NVTX part)", file=err)
print(f"  profiling every step:   {win / 1000:.3f} us per step = {100 * win / step_ns:.4f} % of the (a) step "
      f"(+ the NVML sampler thread, 1 sample / 100 ms, and loader threads' load_batch spans off the critical path)", file=err)
out["direct"] = {"scopes_per_step": per_step, "scope_off_ns": scopes["off_ns"], "scope_window_ns": scopes["window_ns"],
                 "nvtx_share_of_step": off / step_ns, "window_share_of_step": win / step_ns,
                 "nvtx_compiled_in": scopes["nvtx_compiled_in"]}
print(json.dumps(out))
PY
