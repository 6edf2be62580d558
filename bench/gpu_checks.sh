#!/usr/bin/env bash
# Every GPU check and GPU figure in one call on the lent GPU machine (../shared/device/README.md):
# build, the whole test suite (the CUDA tests run there), the loader bench on CUDA (H2D GB/s
# against a plain pinned copy) beside PyTorch's DataLoader, and configs/fashion_cnn.toml on
# the GPU with its data-wait share, and `kiln profile` of it at batch 128/512/2048. Logs and JSON go to ${OUT:-gpu-out}; a table is printed last.
#   here:        ../shared/device/pack-deps.sh dataset-fashion-mnist
#   on a device: bench/gpu_checks.sh        (carry .devdeps)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-out}
mkdir -p "$out"
# shellcheck disable=SC1091
source .devdeps/env.sh
data=/usr/share/datasets/fashion-mnist
if [ ! -d "$data" ]; then  # the GPU machine has no apt: use the packed dataset
  mkdir -p /usr/share/datasets 2>/dev/null && ln -sfn "$DEVDEPS/share/datasets/fashion-mnist" "$data" ||
    echo "gpu_checks: cannot link $data; tests that read Fashion-MNIST will fail" >&2
fi
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
if ! { cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_PYTHON="$(command -v python3)" &&
       cmake --build build-gpu -j"$(nproc)"; } > "$out/build.log" 2>&1; then
  tail -n 40 "$out/build.log"
  exit 1
fi
build-gpu/kiln_tests > "$out/tests.log" 2>&1
tests_rc=$?
build-gpu/kiln bench loader --set train.device=cuda --json > "$out/kiln_loader_cuda.json" 2> "$out/kiln_loader_cuda.err"
build-gpu/kiln bench loader --set train.device=cuda --set loader.gpu_normalize=false --json \
  > "$out/kiln_loader_cuda_f32.json" 2> "$out/kiln_loader_cuda_f32.err"
python3 bench/loader_reference.py > "$out/pytorch_loader.json" 2> "$out/pytorch_loader.err"
build-gpu/kiln train configs/fashion_cnn.toml --set train.device=cuda --set log.progress=off \
  --run-dir "$out/fashion_cnn" --json > "$out/fashion_cnn.json" 2> "$out/fashion_cnn.err"
# kiln profile on the GPU at a few batch sizes (issue: profiling numbers), with the verdict.
for bs in 128 512 2048; do
  build-gpu/kiln profile configs/fashion_cnn.toml --set train.device=cuda --set loader.batch_size=$bs \
    --warmup 20 --steps 100 --out "$out/profile_bs$bs" --json > "$out/profile_bs$bs.json" 2> "$out/profile_bs$bs.err"
done
python3 - "$out" "$tests_rc" <<'PY'
import json, sys
out, rc = sys.argv[1], sys.argv[2]
def last(p):
    try:
        return json.loads(open(p).read().strip().splitlines()[-1])
    except Exception as e:
        return {"error": f"{p}: {e}"}
tests = open(f"{out}/tests.log").read().strip().splitlines()
print("tests:", tests[-1] if tests else "no output", f"(exit {rc})")
k, kf, t, c = (last(f"{out}/{n}") for n in ("kiln_loader_cuda.json", "kiln_loader_cuda_f32.json",
                                            "pytorch_loader.json", "fashion_cnn.json"))
for name, j in (("uint8 + GPU normalise", k), ("float32 over PCIe", kf)):
    print(f"loader {name}: {j.get('samples_per_s', 0):,.0f} samples/s, H2D {j.get('h2d_gbps', 0):.1f} GB/s "
          f"vs plain pinned {j.get('plain_h2d_gbps', 0):.1f} GB/s")
if "samples_per_s" in t and "samples_per_s" in k:
    print(f"PyTorch DataLoader best: {t['samples_per_s']:,.0f} samples/s -> ratio {k['samples_per_s'] / t['samples_per_s']:.1f}x")
wait = 0.0
try:
    for line in open(f"{out}/fashion_cnn/metrics.jsonl"):
        r = json.loads(line)
        if r.get("type") == "step":
            wait += r.get("data_wait_ms", 0.0)
except OSError:
    pass
if "train_seconds" in c:
    print(f"fashion_cnn on GPU: acc {c['test_accuracy']:.4f}, train {c['train_seconds']:.1f} s, "
          f"{c['samples_per_s']:,.0f} samples/s, data wait {100 * wait / 1000 / c['train_seconds']:.2f}% of train time")
else:
    print("fashion_cnn:", c)
for bs in (128, 512, 2048):
    p = last(f"{out}/profile_bs{bs}.json")
    ph = p.get("phases", {})
    share = lambda n: 100 * (ph.get(n, {}).get("share") or 0)
    print(f"profile bs {bs}: step {p.get('step_ms', 0):.2f} ms, {p.get('samples_per_s', 0):,.0f} samples/s, "
          f"data_wait {share('data_wait'):.1f}%, forward {share('forward'):.1f}%, backward {share('backward'):.1f}%, "
          f"optimizer {share('optimizer'):.1f}% -> {p.get('verdict', p.get('error'))}")
PY
