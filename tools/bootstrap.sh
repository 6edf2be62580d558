#!/usr/bin/env bash
# Installs everything kiln needs on a Debian 12 machine, idempotently:
#   - Debian packages (compiler deps, C++ libraries, Fashion-MNIST, the fortunes text, the Vega datasets' CSVs),
#   - a Python venv outside the clone (${KILN_CACHE:-~/.cache/kiln}/venv) holding the
#     torch 2.11.0 wheel (LibTorch, CUDA 13 build), the NVML header wheel, Optuna, optuna-dashboard
#     and torchvision (the image reference).
# A second run only checks and returns in about a second.
#   usage: tools/bootstrap.sh            (prints the venv's python path last)
set -euo pipefail

KILN_CACHE=${KILN_CACHE:-$HOME/.cache/kiln}
VENV=$KILN_CACHE/venv
TORCH_VERSION=2.11.0
OPTUNA_VERSION=4.9.0  # 4.x defaults (univariate TPE) are what kiln's native TPE follows
APT_PKGS=(build-essential cmake ninja-build ccache git pkg-config python3 python3-venv
          libcli11-dev libspdlog-dev libfmt-dev libcpp-httplib-dev libtomlplusplus-dev
          nlohmann-json3-dev zlib1g-dev libgtest-dev libgmock-dev dataset-fashion-mnist
          clang-14 libclang-rt-14-dev   # clang + libFuzzer/sanitizer runtimes: fuzz/ (docs/fuzzing.md)
          libturbojpeg0-dev libjpeg62-turbo-dev libspng-dev  # image folders: JPEG (libjpeg-turbo) and PNG decoding
          fortunes  # configs/lm_bytes.toml's text: 2.6 MB of English in /usr/share/games/fortunes
          python3-vega-datasets  # configs/tabular_weather.toml's table: seattle-weather.csv
          chromium-headless-shell  # the tests load `kiln report`'s HTML in headless Chromium
          postgresql  # a real PostgreSQL server for the sweep-across-machines test (started by the test)
          iproute2  # ip netns: the data-parallel tests make two "hosts" on one machine
          libgloo-dev  # gloo's headers, so c10d's ProcessGroupGloo.hpp compiles (the code is torch's own copy)
          prometheus)  # promtool: the tests check --metrics-port's text format with it

log() { echo "bootstrap: $*" >&2; }

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The stamp names the pinned requirements, so changing them re-runs pip once.
# torchvision (and its Pillow): the reference kiln's image transforms are tested and benchmarked against.
PY_REQS=("torch==$TORCH_VERSION" nvidia-nvml-dev numpy "optuna==$OPTUNA_VERSION" "optuna-dashboard==0.21.0"
         "torchvision==0.26.0" "scikit-image==0.26.0"  # scikit-image: the photos bench/make_photo_folder.py crops
         "tensorboard==2.21.0" "safetensors==0.8.0"  # the real readers of kiln's event files and exports
         "psycopg2-binary==2.9.11")  # Optuna's RDB storage on PostgreSQL (the multi-machine sweep test)
STAMP="$VENV/.kiln-$(echo "${PY_REQS[*]}" | cksum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ]; then
  log "setting up $VENV with ${PY_REQS[*]} (a few GB; once per machine)"
  mkdir -p "$KILN_CACHE"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PY_REQS[@]}"
  touch "$STAMP"
fi
echo "$VENV/bin/python"
