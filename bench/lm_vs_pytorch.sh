#!/usr/bin/env bash
# kiln's transformer training step beside the same model in PyTorch (eager, and
# torch.compile), on this machine, in one run: configs/lm_bytes.toml's shape (4 blocks, width
# 128, 4 heads, window 128, batch 32, vocab 256, AdamW, clip 1.0). kiln's figure is `kiln
# profile`'s measured window (its real loader feeding it); PyTorch's is
# bench/transformer_reference.py on random tokens. Extra arguments go to `kiln profile` (e.g.
# --set train.device=cuda; then pass DEVICE=cuda for the references).
#   bench/lm_vs_pytorch.sh [--set loader.batch_size=64]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$(tools/build.sh)
python=$(tools/bootstrap.sh)
device=${DEVICE:-cpu}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
kiln_json=$("$build/kiln" -q profile configs/lm_bytes.toml --warmup 10 --steps 50 --out "$out/p" --json "$@" | tail -n 1)
eager=$("$python" bench/transformer_reference.py --device "$device" | tail -n 1)
compiled=$("$python" bench/transformer_reference.py --device "$device" --compile | tail -n 1)
"$python" - "$kiln_json" "$eager" "$compiled" <<'PY'
import json, os, platform, sys
k, e, c = (json.loads(a) for a in sys.argv[1:4])
k_tok = k["samples_per_s"] * e["seq"]
print(json.dumps({"kiln_tokens_per_s": k_tok, "kiln": k, "pytorch_eager": e, "pytorch_compile": c}))
print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, device {e['device']}",
      file=sys.stderr)
for name, v in (("kiln", k_tok), ("PyTorch eager", e["tokens_per_s"]), ("torch.compile", c["tokens_per_s"])):
    print(f"{name:14s} {v:12,.0f} tokens/s   kiln / this {k_tok / v:5.2f}x", file=sys.stderr)
print(f"torch.compile warm-up (compile) {c['warmup_s']:.1f} s", file=sys.stderr)
PY
