#!/usr/bin/env bash
# Every GPU check and GPU figure, in stages, on the lent GPU machine (../shared/device/README.md).
#   here, once:  bench/gpu_pack.sh          (.devdeps: Debian C++ libraries, Fashion-MNIST, nvml.h)
#   device run:  bench/gpu_checks.sh [STAGE...]      (carry [".devdeps"])
# Stages (default: build cuda_tests loader train profile overhead ncu, about 8 minutes):
#   build    configure + build build-gpu/ (seconds when it is already there and current)
#   cuda_tests  the CUDA-specific tests (pinned ring, copy stream, CUDA determinism, NCCL's
#            collectives and the Reducer on one GPU: DistGroup.NcclOnOneGpu; on two: ...TwoGpus)
#   tests    the rest of the suite (on the GPU machine the CLI tests train on CUDA)
#   loader   kiln bench loader on CUDA (uint8 + GPU normalise, and float32), H2D GB/s against a
#            plain pinned copy, beside PyTorch's DataLoader (same files, same augmentation)
#   train    configs/fashion_cnn.toml on the GPU: accuracy, samples/s, data-wait share of the step
#   profile  kiln profile of fashion_cnn at batch 128, 512, 2048, with the verdict
#   overhead kiln bench scopes on CUDA: the instrumentation's cost per step (NVTX, window)
#   ncu      Nsight Compute over kiln profile's 5-step window (cudaProfilerStart/Stop, so the
#            autograd thread's backward kernels count too: an NVTX range of the training
#            thread caught only forward and optimizer kernels, seen 2026-12-04): the kernels'
#            summed time per step against the step's CUDA-event time in kiln profile (bs 512) - a
#            cross-check of the phase timing and of the verdict's "GPU busy" (nsys is not
#            on the lent machines; ncu is)
#   precision  the mixed-precision issue's GPU figures: kiln profile of fashion_cnn at batch 256
#            in fp32 (TF32 off and on), fp32 + channels-last, bf16, bf16 + channels-last and fp16, each beside
#            bench/step_reference.py (PyTorch eager and reduce-overhead) at the same
#            precision where it has one; and two bf16 runs compared bit for bit
#   graph    train.cuda_graph: kiln profile of fashion_cnn eager and graphed at batch 128 and 256,
#            fp32 and bf16, beside PyTorch eager and reduce-overhead; two graphed runs bit for bit
#            (the CUDA-graph tests, CliCudaGraph.*, run in cuda_tests)
#   optim    kiln bench optim on CUDA (fashion_cnn's parameters: LibTorch's AdamW/SGD step against
#            the fused one) and kiln profile bs 128 with optim.fused = false and true: the
#            optimizer's share of the step either way (the first run's 22 % was LibTorch's)
#   step     bench/step_vs_pytorch.sh on the GPU: the small CNN (batch 128, 256), ResNet-18 at
#            224 px (batch 256, a generated JPEG folder; needs torchvision, PIL and scikit-image)
#            and the LM, fp32 and bf16, kiln beside PyTorch eager, torch.compile and
#            reduce-overhead; each model has 300 s (not yet timed on a GPU: give the stage a
#            call of its own, or pick models with GPU_STEP_MODELS="cnn resnet18 lm")
#   sweep    bench/gpu_sweep.sh (best accuracy against GPU-minutes)
#   images   a generated JPEG folder (bench/make_photo_folder.py) into a ResNet-18 step at batch
#            256: kiln's images/s and data-wait share beside torchvision's DataLoader + resnet18
#            (bench/image_folder_train_reference.py); needs torchvision, PIL and scikit-image
#            in the device's python, else it says so and skips
#   lm       the transformer on the GPU: configs/lm_bytes.toml's shape and a larger one (8 blocks
#            of 512, window 512), kiln profile's tokens/s beside bench/transformer_reference.py
#            (PyTorch eager and torch.compile, same shapes); and two 200-step runs of the small
#            one compared bit for bit (SDPA's backward under deterministic mode). The text is
#            the repository's own docs and sources (the device has no fortunes package)
# Device calls, 10 minutes each at most, issued back to back (a machine stays warm 30 s, and
# build-gpu/ with it): 1. bench/gpu_checks.sh  2. bench/gpu_checks.sh build tests
# 3. bench/gpu_checks.sh build sweep.
# Every stage has a time limit and prints its figures as soon as it ends (also appended to
# $OUT/summary.txt), so a call cut short still returns what finished. Logs, JSON and run
# dirs go to gpu-work/ (git-ignored; $GPU_CHECKS_WORK); after every stage they are packed
# into $OUT/gpu_checks.tar.gz, since the device tool brings back at most 8 files from $OUT.
# A CPU dry run of the script itself (no GPU): KILN_BUILD_DIR=build KILN_DEVICE=cpu GPU_CHECKS_QUICK=1
#   GPU_CHECKS_PYTHON=$(tools/bootstrap.sh) OUT=/tmp/gc bench/gpu_checks.sh loader train profile overhead
set -uo pipefail
cd "$(dirname "$0")/.."
ret=${OUT:-gpu-out}              # what comes back: summary.txt and gpu_checks.tar.gz
out=${GPU_CHECKS_WORK:-gpu-work}  # everything else
mkdir -p "$ret" "$out"
build=${KILN_BUILD_DIR:-build-gpu}
device=${KILN_DEVICE:-cuda}
quick=${GPU_CHECKS_QUICK:-0}  # 1: tiny data and runs, to check this script on a CPU
stages=("$@")
((${#stages[@]})) || stages=(build cuda_tests loader train profile overhead ncu)
for s in "${stages[@]}"; do
  case "$s" in
    build|cuda_tests|tests|loader|train|profile|overhead|ncu|optim|sweep|images|lm|precision|graph|step) ;;
    *) echo "gpu_checks: unknown stage '$s' (build cuda_tests tests loader train profile overhead ncu optim sweep images lm precision graph step)" >&2; exit 2 ;;
  esac
done
py=${GPU_CHECKS_PYTHON:-python3}  # the device's python3 holds torch; here: the bootstrap venv's
sets=(--set "train.device=$device" --set log.progress=off)
((quick)) && sets+=(--set data.limit_train=4096 --set data.limit_test=512 --set train.epochs=1)

say() { echo "$*" | tee -a "$out/summary.txt"; }
pack() {  # $OUT gets the summary and one archive of the work dir (checkpoints left out)
  cp "$out/summary.txt" "$ret/summary.txt" 2>/dev/null
  tar -czf "$ret/gpu_checks.tar.gz" --exclude='*/checkpoints' -C "$(dirname "$out")" "$(basename "$out")" 2>/dev/null
}
trap pack EXIT  # also when a stage exits early (a failed build)
# Runs "$@" under `timeout LIMIT`, stdout to $out/NAME.json (or .log), stderr to $out/NAME.err.
step() {
  local limit=$1 name=$2 rc
  shift 2
  timeout "$limit" "$@" > "$out/$name.json" 2> "$out/$name.err"
  rc=$?
  ((rc == 124)) && say "$name: stopped after ${limit}s"
  ((rc != 0 && rc != 124)) && { say "$name: exit $rc"; tail -n 5 "$out/$name.err" | sed 's/^/    /'; }
  return $rc
}

if [ -f .devdeps/env.sh ]; then
  # shellcheck disable=SC1091
  source .devdeps/env.sh
  # env.sh joins CMAKE_PREFIX_PATH with ';', which CMake reads from the environment as one
  # path on Linux (the separator there is ':'): none of the packed packages would be found.
  export CMAKE_PREFIX_PATH="${CMAKE_PREFIX_PATH//;/:}"
  data=/usr/share/datasets/fashion-mnist
  if [ ! -d "$data" ]; then  # the GPU machine has no apt: use the packed dataset
    if [ -d "$DEVDEPS/share/datasets/fashion-mnist" ]; then
      { mkdir -p /usr/share/datasets && ln -sfn "$DEVDEPS/share/datasets/fashion-mnist" "$data"; } ||
        { say "gpu_checks: cannot link $data to the packed dataset (run as root)"; exit 1; }
    else
      say "gpu_checks: no Fashion-MNIST in .devdeps: run bench/gpu_pack.sh here first"; exit 1
    fi
  fi
fi
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
say "gpu_checks $(git rev-parse --short HEAD 2>/dev/null) on $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'no GPU'), $(nproc) CPUs: ${stages[*]}"

stage_build() {
  local t0=$SECONDS
  if [ ! -f "$build/build.ninja" ]; then
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_PYTHON="$(command -v $py)" > "$out/build.log" 2>&1 ||
      { say "build: configure failed"; tail -n 30 "$out/build.log"; exit 1; }
  fi
  cmake --build "$build" -j"$(nproc)" >> "$out/build.log" 2>&1 || { say "build: failed"; tail -n 40 "$out/build.log"; exit 1; }
  say "build: $build in $((SECONDS - t0)) s; NVTX $(grep -q KILN_HAVE_NVTX=1 "$build/build.ninja" && echo on || echo OFF)," \
      "nvml.h $(grep -q KILN_HAVE_NVML_H=1 "$build/build.ninja" && echo found || echo 'MISSING (no telemetry)')," \
      "nccl.h $(grep -q KILN_HAVE_NCCL_H=1 "$build/build.ninja" && echo found || echo 'MISSING (no NCCL jobs)')," \
      "cuda_profiler_api.h $(grep -q "^CUDAToolkit_BIN_DIR:PATH=/" "$build/CMakeCache.txt" && echo 'toolkit' || echo 'wheel only')"
}

stage_cuda_tests() {
  timeout 180 "$build/kiln_tests" --gtest_filter='*Cuda*:*Gpu*' > "$out/tests_cuda.log" 2>&1
  say "CUDA tests (exit $?): $(tail -n 1 "$out/tests_cuda.log")"
  grep -E '^\[  (FAILED|SKIPPED) +\] [A-Za-z0-9_.]+$' "$out/tests_cuda.log" | sort -u | head -n 10 | sed 's/^/    /' | tee -a "$out/summary.txt"
}

stage_tests() {
  local t0=$SECONDS
  timeout 480 "$build/kiln_tests" --gtest_filter='-*Cuda*:*Gpu*' > "$out/tests.log" 2>&1
  local rc=$?
  say "tests without the CUDA ones (exit $rc, $((SECONDS - t0)) s): $(tail -n 1 "$out/tests.log")"
  grep -E '^\[  FAILED  \] [A-Za-z0-9_./]+$' "$out/tests.log" | sort -u | head -n 20 | sed 's/^/    /' | tee -a "$out/summary.txt"
}

stage_loader() {
  local epochs=3 ref=()
  ((quick)) && { epochs=1; ref=(--epochs 1 --workers 0,2); }
  local qs=()
  ((quick)) && qs=(--set data.limit_train=4096)
  step 180 kiln_loader "$build/kiln" bench loader --set "train.device=$device" "${qs[@]}" --epochs $epochs --json
  step 180 kiln_loader_f32 "$build/kiln" bench loader --set "train.device=$device" --set loader.gpu_normalize=false \
    "${qs[@]}" --epochs $epochs --json
  # PyTorch's best over num_workers 0, 1, 2, 4, 8, 12, 16 (not every count: time on the device is short).
  local w=0,1,2,4,8,12,16
  ((quick)) || ref=(--workers "$w")
  step 300 pytorch_loader $py bench/loader_reference.py "${ref[@]}"
  $py - "$out" <<'PY' | tee -a "$out/summary.txt"
import json, sys
out = sys.argv[1]
def last(n):
    try: return json.loads(open(f"{out}/{n}.json").read().strip().splitlines()[-1])
    except Exception as e: return {"error": str(e)}
k, kf, t = last("kiln_loader"), last("kiln_loader_f32"), last("pytorch_loader")
for name, j in (("uint8 + GPU normalise", k), ("float32 over PCIe", kf)):
    if "samples_per_s" not in j: print(f"loader {name}: {j}"); continue
    print(f"loader {name}: {j['samples_per_s']:,.0f} samples/s, {j.get('h2d_copies', 0)} copies of "
          f"{j.get('h2d_bytes_per_copy', 0) / 1e3:.0f} kB: H2D {j.get('h2d_gbps', 0):.2f} GB/s vs plain pinned copy "
          f"{j.get('plain_h2d_gbps', 0):.2f} GB/s; memcpy ceiling share {100 * j.get('share_of_memcpy', 0):.0f}%")
if "samples_per_s" in t and "samples_per_s" in k:
    print(f"PyTorch DataLoader best (num_workers={t['best_num_workers']}, pin_memory={t['pin_memory']}): "
          f"{t['samples_per_s']:,.0f} samples/s -> kiln {k['samples_per_s'] / t['samples_per_s']:.1f}x")
PY
}

stage_train() {
  step 420 fashion_cnn "$build/kiln" train configs/fashion_cnn.toml "${sets[@]}" --run-dir "$out/fashion_cnn" --json
  $py - "$out" <<'PY' | tee -a "$out/summary.txt"
import json, sys
out = sys.argv[1]
try:
    c = json.loads(open(f"{out}/fashion_cnn.json").read().strip().splitlines()[-1])
except Exception as e:
    print("fashion_cnn:", e); sys.exit()
wait = copy = 0.0
steps = 0
for line in open(f"{out}/fashion_cnn/metrics.jsonl"):
    r = json.loads(line)
    if r.get("type") == "step":
        steps += 1
        wait += r.get("data_wait_ms", 0.0)
        copy += max(r.get("copy_ms", 0.0) or 0.0, 0.0)
print(f"fashion_cnn on {c['device']}: test accuracy {c['test_accuracy']:.4f}, {c['steps']} steps in {c['train_seconds']:.1f} s "
      f"({c['samples_per_s']:,.0f} samples/s); data wait {wait / steps:.3f} ms/step = "
      f"{100 * wait / 1000 / c['train_seconds']:.2f}% of train time; copy {copy / steps:.3f} ms/step (device, overlapped)")
PY
  rm -rf "$out/fashion_cnn/checkpoints"  # large, and not a figure
}

stage_profile() {
  local window=(--warmup 20 --steps 100)
  ((quick)) && window=(--warmup 1 --steps 1)
  for bs in 128 512 2048; do
    step 240 "profile_bs$bs" "$build/kiln" profile configs/fashion_cnn.toml "${sets[@]}" --set "loader.batch_size=$bs" \
      "${window[@]}" --out "$out/profile_bs$bs" --json
  done
  $py - "$out" <<'PY' | tee -a "$out/summary.txt"
import json, sys
out = sys.argv[1]
for bs in (128, 512, 2048):
    try:
        p = json.load(open(f"{out}/profile_bs{bs}/profile.json"))
    except Exception as e:
        print(f"profile bs {bs}: {e}"); continue
    ph = {x["name"]: x for x in p["phases"]}
    share = lambda n: 100 * (ph.get(n, {}).get("share") or 0)
    t = p["telemetry"]
    tel = (f"; GPU util {t.get('gpu_util_pct_mean')}%, power {t.get('power_w_mean')} / {t.get('power_limit_w')} W"
           if t.get("available") else f"; telemetry: {t.get('note')}")
    print(f"profile bs {bs} ({p['timing']}): step {p['step_mean_ms']:.3f} ms, {p['samples_per_s']:,.0f} samples/s, "
          f"data_wait {share('data_wait'):.1f}%, h2d_copy {share('h2d_copy'):.1f}%, forward {share('forward'):.1f}%, "
          f"backward {share('backward'):.1f}%, optimizer {share('optimizer'):.1f}%, peak {p['peak_memory']['bytes'] / 2**20:.0f} MiB"
          f"{tel} -> {p['verdict']['kind']}: {p['verdict']['reason']}")
PY
}

stage_overhead() {
  local cuda_dev=$device
  [ "$cuda_dev" = cuda ] && cuda_dev=cuda:0
  step 120 scopes "$build/kiln" bench scopes --device "$cuda_dev"
  $py - "$out" <<'PY' | tee -a "$out/summary.txt"
import json, sys
out = sys.argv[1]
try:
    s = json.loads(open(f"{out}/scopes.json").read().strip().splitlines()[-1])
    p = json.load(open(f"{out}/profile_bs128/profile.json"))
    trace = json.load(open(f"{out}/profile_bs128/trace.json"))
except Exception as e:
    print("overhead:", e, "(needs the profile stage first)"); sys.exit()
events = trace["traceEvents"] if isinstance(trace, dict) else trace
# The training thread's spans (tid 0) per step of the window: every KILN_SCOPE it opened.
per_step = sum(1 for e in events if e.get("ph") == "X" and e.get("tid") == 0) / p["window"]["steps"]
step_ns = p["step_mean_ms"] * 1e6
print(f"overhead ({s['device']}): {per_step:.1f} scopes/step; a scope costs {s['off_ns']:.1f} ns outside a window, "
      f"{s['window_ns']:.1f} ns inside a window{' (with CUDA events)' if s['device'] != 'cpu' else ''} -> {100 * per_step * s['off_ns'] / step_ns:.4f}% (NVTX, no window) and "
      f"{100 * per_step * s['window_ns'] / step_ns:.4f}% (profiling) of the bs-128 step ({p['step_mean_ms']:.3f} ms)")
PY
}

stage_ncu() {
  local ncu
  ncu=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -n 1)
  [ -n "$ncu" ] || { say "ncu: not found"; return; }
  # One kernel-duration metric (one replay pass), clocks as they are, kernels of the window only
  # (kiln profile brackets its window with cudaProfilerStart/Stop), from every thread.
  step 300 ncu_step8 "$ncu" --profile-from-start off --metrics gpu__time_duration.sum --clock-control none \
    --csv --target-processes all "$build/kiln" profile configs/fashion_cnn.toml "${sets[@]}" \
    --set loader.batch_size=512 --warmup 5 --steps 5 --out "$out/ncu_profile"
  $py - "$out" <<'PY' | tee -a "$out/summary.txt"
import csv, io, json, sys
out = sys.argv[1]
text = open(f"{out}/ncu_step8.json").read()
rows = [r for r in csv.DictReader(io.StringIO(text[text.find('"ID"'):])) if r.get("Metric Name") == "gpu__time_duration.sum"]
if not rows:
    print("ncu: no kernels captured (see ncu_step8.err)"); sys.exit()
scale = {"nsecond": 1e-6, "usecond": 1e-3, "msecond": 1.0, "second": 1e3, "ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
total_ms = sum(float(r["Metric Value"].replace(",", "")) * scale.get(r["Metric Unit"], float("nan")) for r in rows)
try:
    p = json.load(open(f"{out}/profile_bs512/profile.json"))
    step = p["step_mean_ms"]
    print(f"ncu: the 5-step window at bs 512 ran {len(rows) / 5:.0f} kernels and {total_ms / 5:.3f} ms of kernel time per "
          f"step (serialised by ncu); kiln profile bs 512 step {step:.3f} ms (CUDA events, separate run) -> kernels "
          f"fill {100 * total_ms / 5 / step:.0f}% of it")
except Exception as e:
    print(f"ncu: the 5-step window at bs 512 ran {len(rows)} kernels, {total_ms:.3f} ms of kernel time ({e})")
PY
}

stage_images() {
  if ! $py -c "import torchvision, PIL, skimage" 2>/dev/null; then
    say "images: skipped ($py lacks torchvision, PIL or scikit-image)"
    return
  fi
  local n=3000 steps=60 warm=10 bs=256 photos=$out/photos
  ((quick)) && { n=300; steps=3; warm=1; bs=16; }
  [ -d "$photos/train" ] || step 300 make_photos $py bench/make_photo_folder.py "$photos" --train "$n" --val 100
  rm -rf "$out/resnet18_images"
  step 400 resnet18_images "$build/kiln" train configs/imagefolder_resnet18.toml "${sets[@]}" \
    --set "data.dir=$photos" --set "loader.batch_size=$bs" --set "train.max_steps=$((warm + steps))" \
    --set train.eval_every=1000000 --run-dir "$out/resnet18_images" --json
  step 400 torchvision_resnet18 $py bench/image_folder_train_reference.py "$photos" --batch "$bs" --steps "$steps" \
    --warmup "$warm"
  $py - "$out" "$warm" "$bs" <<'PY' | tee -a "$out/summary.txt"
import json, sys
out, warm, bs = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    k = json.loads(open(f"{out}/resnet18_images.json").read().strip().splitlines()[-1])
    t = json.loads(open(f"{out}/torchvision_resnet18.json").read().strip().splitlines()[-1])
    steps = [json.loads(l) for l in open(f"{out}/resnet18_images/metrics.jsonl")]
except Exception as e:
    print("images:", e); sys.exit()
# kiln: the whole run (warm-up steps included: the summary's train time and samples/s).
wait = sum(r.get("data_wait_ms", 0.0) for r in steps if r.get("type") == "step") / 1000
print(f"images: ResNet-18 step at batch {bs} on a JPEG folder: kiln {k['samples_per_s']:,.0f} images/s, data wait "
      f"{100 * wait / k['train_seconds']:.2f}% of train time ({k['steps']} steps); torchvision "
      f"{t['images_per_s']:,.0f} images/s ({t['workers']} workers, after {warm} warm-up steps), data wait "
      f"{100 * t['data_wait_share']:.2f}%")
PY
  rm -rf "$out/resnet18_images/checkpoints"
}

# The LM's text on the device (it has no fortunes package): the repository's own docs and
# sources, in a fixed order. Prints the file's path.
lm_text() {
  local text=$out/lm_text.txt
  find docs lib cli tests -type f \( -name '*.md' -o -name '*.cpp' -o -name '*.h' \) -print0 | sort -z |
    xargs -0 cat > "$text"
  echo "$text"
}

stage_lm() {
  local text steps=50 warm=10 same=200
  ((quick)) && { steps=3; warm=1; same=6; }
  text=$(lm_text)
  local small=(--set "data.train=$text" --set data.val_tokens=65536)
  local large=("${small[@]}" --set data.seq_len=512 --set model.transformer.layers=8 --set model.transformer.dim=512
               --set model.transformer.heads=8)
  step 300 lm_small_profile "$build/kiln" -q profile configs/lm_bytes.toml "${sets[@]}" "${small[@]}" \
    --warmup "$warm" --steps "$steps" --out "$out/lm_small_profile" --json
  step 300 lm_large_profile "$build/kiln" -q profile configs/lm_bytes.toml "${sets[@]}" "${large[@]}" \
    --warmup "$warm" --steps "$steps" --out "$out/lm_large_profile" --json
  for mode in eager compile; do
    local flag=()
    [ "$mode" = compile ] && flag=(--compile)
    step 300 "lm_small_$mode" $py bench/transformer_reference.py --device "$device" --steps "$steps" \
      --warmup "$warm" "${flag[@]}"
    step 300 "lm_large_$mode" $py bench/transformer_reference.py --device "$device" --steps "$steps" \
      --warmup "$warm" --seq 512 --layers 8 --dim 512 --heads 8 "${flag[@]}"
  done
  for r in a b; do
    rm -rf "$out/lm_same_$r"
    step 300 "lm_same_$r" "$build/kiln" train configs/lm_bytes.toml "${sets[@]}" "${small[@]}" \
      --set "train.max_steps=$same" --set data.limit_test=64 --run-dir "$out/lm_same_$r" --json
  done
  $py - "$out" <<'PY' | tee -a "$out/summary.txt"
import json, sys
out = sys.argv[1]
def last(name):
    try:
        return json.loads(open(f"{out}/{name}.json").read().strip().splitlines()[-1])
    except Exception as e:
        return {"error": str(e)}
for size, seq in (("small", 128), ("large", 512)):
    k, e, c = last(f"lm_{size}_profile"), last(f"lm_{size}_eager"), last(f"lm_{size}_compile")
    kt = k.get("samples_per_s", 0) * seq
    print(f"lm {size}: kiln {kt:,.0f} tokens/s (step {k.get('step_ms', 0):.2f} ms, {k.get('verdict')}); PyTorch eager "
          f"{e.get('tokens_per_s', 0):,.0f}, torch.compile {c.get('tokens_per_s', 0):,.0f} tokens/s; "
          f"kiln/eager {kt / max(e.get('tokens_per_s', 1), 1):.2f}x, kiln/compile {kt / max(c.get('tokens_per_s', 1), 1):.2f}x")
a, b = last("lm_same_a"), last("lm_same_b")
print(f"lm determinism: two runs {a.get('weights_sha256', '?')[:16]} / {b.get('weights_sha256', '?')[:16]}: "
      f"{'SAME' if a.get('weights_sha256') and a.get('weights_sha256') == b.get('weights_sha256') else 'DIFFER'}; "
      f"test loss {a.get('test_loss')}")
PY
  rm -rf "$out"/lm_same_*/checkpoints
}

stage_precision() {
  local steps=50 warm=10 bs=256
  ((quick)) && { steps=2; warm=1; bs=32; }
  # Layouts explicit: configs/fashion_cnn.toml sets model.channels_last (the faster fp32 layout
  # on the CPU); fp32 against fp32_cl says whether it is on the GPU too.
  local nchw="--set model.channels_last=false" nhwc="--set model.channels_last=true"
  local -A modes=([fp32]="--set train.tf32=off $nchw" [fp32_cl]="--set train.tf32=off $nhwc"
                  [tf32]="--set train.tf32=on $nchw" [bf16]="--set train.precision=bf16 $nchw"
                  [bf16_cl]="--set train.precision=bf16 $nhwc" [fp16]="--set train.precision=fp16 $nchw")
  # The reference has fp32 and bf16 (with channels-last); no TF32 or fp16 switch yet.
  local -A ref=([fp32]="--precision fp32" [fp32_cl]="--precision fp32 --channels-last" [bf16]="--precision bf16"
                [bf16_cl]="--precision bf16 --channels-last")
  for m in fp32 fp32_cl tf32 bf16 bf16_cl fp16; do
    # shellcheck disable=SC2086
    step 240 "prec_kiln_$m" "$build/kiln" -q profile configs/fashion_cnn.toml "${sets[@]}" --set "loader.batch_size=$bs" \
      ${modes[$m]} --warmup "$warm" --steps "$steps" --out "$out/prec_$m" --json
    [ -n "${ref[$m]:-}" ] || continue
    for mode in eager reduce-overhead; do
      # shellcheck disable=SC2086
      step 240 "prec_ref_${m}_$mode" $py bench/step_reference.py --device "$device" --batch "$bs" --steps "$steps" \
        --warmup "$warm" --mode "$mode" ${ref[$m]}
    done
  done
  for r in a b; do
    rm -rf "$out/prec_same_$r"
    step 240 "prec_same_$r" "$build/kiln" train configs/fashion_cnn.toml "${sets[@]}" --set train.precision=bf16 \
      --set train.max_steps=300 --run-dir "$out/prec_same_$r" --json
  done
  $py - "$out" <<'PY' | tee -a "$out/summary.txt"
import json, os, sys
out = sys.argv[1]
def last(name):
    try:
        return json.loads(open(f"{out}/{name}.json").read().strip().splitlines()[-1])
    except Exception as e:
        return {"error": str(e)}
for m in ("fp32", "fp32_cl", "tf32", "bf16", "bf16_cl", "fp16"):
    k = last(f"prec_kiln_{m}")
    row = f"precision {m}: kiln {k.get('samples_per_s', 0):,.0f} samples/s ({k.get('verdict')}, {k.get('tflops')} TFLOP/s)"
    for mode in ("eager", "reduce-overhead"):
        if not os.path.exists(f"{out}/prec_ref_{m}_{mode}.json"):
            continue
        r = last(f"prec_ref_{m}_{mode}")
        v = r.get("samples_per_s", 0)
        row += f"; PyTorch {mode} {v:,.0f}" + (f" (kiln {k.get('samples_per_s', 0) / v:.2f}x)" if v else f" ({r.get('error')})")
    print(row)
a, b = last("prec_same_a"), last("prec_same_b")
print(f"precision bf16 determinism: {'SAME' if a.get('weights_sha256') and a.get('weights_sha256') == b.get('weights_sha256') else 'DIFFER'}")
PY
  rm -rf "$out"/prec_same_*/checkpoints
}

# train.cuda_graph: kiln's fashion_cnn step eager and graphed (fp32 and bf16) at batch 128 and
# 256 beside the same model in PyTorch eager and torch.compile(mode="reduce-overhead") (which
# graphs too), and two graphed runs' weights (same seed, same weights).
stage_graph() {
  local steps=100 warm=20
  ((quick)) && { steps=2; warm=1; }
  for bs in 128 256; do
    for prec in fp32 bf16; do
      for g in false true; do
        step 240 "graph_kiln_${bs}_${prec}_$g" "$build/kiln" -q profile configs/fashion_cnn.toml "${sets[@]}" \
          --set "loader.batch_size=$bs" --set loader.drop_last=true --set "train.precision=$prec" \
          --set "train.cuda_graph=$g" --set model.channels_last=false --warmup "$warm" --steps "$steps" \
          --out "$out/graph_${bs}_${prec}_$g" --json  # NCHW, as the reference (the precision stage has both)
      done
      for mode in eager reduce-overhead; do
        step 240 "graph_ref_${bs}_${prec}_$mode" $py bench/step_reference.py --device "$device" --batch "$bs" \
          --steps "$steps" --warmup "$warm" --mode "$mode" --precision "$prec"
      done
    done
  done
  for r in a b; do
    rm -rf "$out/graph_same_$r"
    step 240 "graph_same_$r" "$build/kiln" train configs/fashion_cnn.toml "${sets[@]}" --set loader.drop_last=true \
      --set train.cuda_graph=true --set train.max_steps=300 --run-dir "$out/graph_same_$r" --json
  done
  $py - "$out" <<'PY' | tee -a "$out/summary.txt"
import json, os, sys
out = sys.argv[1]
def last(name):
    try:
        return json.loads(open(f"{out}/{name}.json").read().strip().splitlines()[-1])
    except Exception as e:
        return {"error": str(e)}
for bs in (128, 256):
    for prec in ("fp32", "bf16"):
        e, g = last(f"graph_kiln_{bs}_{prec}_false"), last(f"graph_kiln_{bs}_{prec}_true")
        ge = g.get("samples_per_s", 0)
        wait = ((g.get("phases") or {}).get("data_wait") or {}).get("share") or 0
        row = (f"graph bs {bs} {prec}: kiln eager {e.get('samples_per_s', 0):,.0f} ({e.get('step_ms', 0):.3f} ms), "
               f"kiln graph {ge:,.0f} ({g.get('step_ms', 0):.3f} ms, {g.get('graph')}, data wait {100 * wait:.2f}%"
               f"{', ' + str(g.get('error'))[-300:] if 'error' in g else ''})")
        for mode in ("eager", "reduce-overhead"):
            r = last(f"graph_ref_{bs}_{prec}_{mode}")
            v = r.get("samples_per_s", 0)
            row += f"; PyTorch {mode} {v:,.0f}" + (f" (kiln graph {ge / v:.2f}x)" if v else f" ({r.get('error')})")
        print(row)
a, b = last("graph_same_a"), last("graph_same_b")
print(f"graph determinism (300 steps): {'SAME' if a.get('weights_sha256') and a.get('weights_sha256') == b.get('weights_sha256') else 'DIFFER'}"
      f", test_accuracy {a.get('test_accuracy')}")
PY
  rm -rf "$out"/graph_same_*/checkpoints
}

stage_optim() {
  step 120 optim_bench "$build/kiln" bench optim configs/fashion_cnn.toml "${sets[@]}"
  local window=(--warmup 20 --steps 100)
  ((quick)) && window=(--warmup 1 --steps 1)
  for fused in false true; do
    step 240 "profile_fused_$fused" "$build/kiln" profile configs/fashion_cnn.toml "${sets[@]}" \
      --set loader.batch_size=128 --set "optim.fused=$fused" "${window[@]}" --out "$out/profile_fused_$fused" --json
  done
  $py - "$out" <<'PY' | tee -a "$out/summary.txt"
import json, sys
out = sys.argv[1]
try:
    b = json.loads(open(f"{out}/optim_bench.json").read().strip().splitlines()[-1])
    for k in ("adamw", "sgd"):
        print(f"optim step ({b['device']}, {b['tensors']} tensors, {b['parameters']:,} parameters) {k}: "
              f"LibTorch {b[k]['unfused_ms']:.3f} ms, fused {b[k]['fused_ms']:.3f} ms ({b[k]['speedup']:.2f}x)")
except Exception as e:
    print("optim bench:", e)
for fused in ("false", "true"):
    try:
        p = json.load(open(f"{out}/profile_fused_{fused}/profile.json"))
        ph = {x["name"]: x for x in p["phases"]}
        share = lambda n: 100 * (ph.get(n, {}).get("share") or 0)
        print(f"profile bs 128, optim.fused={fused} ({p['timing']}): step {p['step_mean_ms']:.3f} ms, "
              f"{p['samples_per_s']:,.0f} samples/s; forward {share('forward'):.1f}%, backward {share('backward'):.1f}%, "
              f"optimizer {share('optimizer'):.1f}% -> {p['verdict']['kind']}")
    except Exception as e:
        print(f"profile optim.fused={fused}:", e)
PY
}

# bench/step_vs_pytorch.sh on the GPU: kiln's step beside PyTorch eager, torch.compile and
# reduce-overhead for the small CNN (batch 128, 256), ResNet-18 at 224 px (batch 256, on a
# generated JPEG folder) and the LM, fp32 and bf16 (+ channels-last for the conv nets).
stage_step() {
  local models=${GPU_STEP_MODELS:-cnn resnet18 lm} photos=$out/photos text m
  text=$(lm_text)
  for m in $models; do
    if [ "$m" = resnet18 ] && ! $py -c "import torchvision, PIL, skimage" 2>/dev/null; then
      say "step: no ResNet-18 rows ($py lacks torchvision, PIL or scikit-image)"
      continue
    fi
    local -a env=(KILN="$build/kiln" PYTHON="$py" DEVICE="$device" MODELS="$m" PHOTOS="$photos" LM_TEXT="$text")
    ((quick)) && env+=(BATCHES=16 STEPS=2 WARMUP=1 RESNET_BATCHES=4 RESNET_STEPS=1 RESNET_WARMUP=1 LM_BATCHES=4)
    # One model per bench run and time limit; the rows file keeps what a run cut short finished.
    rm -f "$out/step_$m.rows"
    env "${env[@]}" ROWS="$out/step_$m.rows" timeout 300 bench/step_vs_pytorch.sh --set log.progress=off \
      > "$out/step_$m.json" 2> "$out/step_$m.err" || say "step $m: exit $? (the table has the rows it finished)"
    [ -s "$out/step_$m.rows" ] && PYTHON="$py" DEVICE="$device" bench/step_vs_pytorch.sh --table "$out/step_$m.rows" \
      2>&1 >/dev/null | tee -a "$out/summary.txt"
  done
}

stage_sweep() {
  KILN_BUILD_DIR=$build OUT=$out timeout 540 bench/gpu_sweep.sh "${GPU_SWEEP_TRIALS:-12}" | tee -a "$out/summary.txt"
}

for s in "${stages[@]}"; do
  "stage_$s"
  pack
done
