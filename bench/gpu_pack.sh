#!/usr/bin/env bash
# Packs what bench/gpu_checks.sh needs on the lent GPU machine (no apt, no network there) into
# .devdeps/ (git-ignored; name it in the device run's `carry`): the Debian C++ libraries and
# Fashion-MNIST through ../shared/device/pack-deps.sh, plus NVML's header from the bootstrap
# venv's nvidia-nvml-dev wheel (the machine's CUDA toolkit may lack nvml.h; without it kiln
# builds with telemetry off). About 52 MB; the device's working-tree limit is 64 MiB.
#   usage (here, in the project root): bench/gpu_pack.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p "$(git rev-parse --git-dir)/info"  # pack-deps.sh adds .devdeps to info/exclude
# + image folders: libjpeg-turbo (both APIs) and libspng, headers and libraries
../shared/device/pack-deps.sh dataset-fashion-mnist libturbojpeg0-dev libturbojpeg0 libjpeg62-turbo-dev \
  libjpeg62-turbo libspng-dev libspng0
python=$(tools/bootstrap.sh)
nvml=$("$python" -c 'import glob, os, nvidia; print((sorted(glob.glob(os.path.join(nvidia.__path__[0], "cu*", "include", "nvml.h"))) or [""])[-1])')
[ -n "$nvml" ] || { echo "gpu_pack: nvml.h not found in $python's nvidia packages" >&2; exit 1; }
cp "$nvml" .devdeps/root/usr/include/nvml.h
# gloo's headers (libgloo-dev) for lib/dist/gloo_backend.cpp: headers only, no library
rm -rf .devdeps/root/usr/include/gloo && cp -r /usr/include/gloo .devdeps/root/usr/include/gloo
[ -d .devdeps/root/usr/share/datasets/fashion-mnist ] || { echo "gpu_pack: Fashion-MNIST missing from .devdeps" >&2; exit 1; }
du -sh .devdeps | sed 's/^/gpu_pack: .devdeps = /'
