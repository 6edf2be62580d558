#!/usr/bin/env bash
# Sets up (tools/bootstrap.sh, once per machine) and builds kiln into $KILN_BUILD_DIR
# (default: build/). Incremental and cached (ccache), so a second call is fast.
#   usage: tools/build.sh [--sanitize=address|thread] [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=""
args=()
for a in "$@"; do
  case "$a" in
    --sanitize=*) sanitize=${a#--sanitize=} ;;
    *) args+=("$a") ;;
  esac
done
case "$sanitize" in
  "") build=${KILN_BUILD_DIR:-build} ;;
  address) build=${KILN_BUILD_DIR:-build-asan} ;;
  thread) build=${KILN_BUILD_DIR:-build-tsan} ;;
  *) echo "build.sh: --sanitize must be address or thread" >&2; exit 2 ;;
esac

python=$(tools/bootstrap.sh)
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_PYTHON="$python" \
        -DKILN_SANITIZE="$sanitize" "${args[@]}" >&2
fi
# Each torch-including translation unit needs 1-2 GB; cap jobs by memory as well as cores.
jobs=$(nproc)
mem_gb=$(awk '/MemAvailable/ {print int($2 / 1048576)}' /proc/meminfo)
[ "$jobs" -gt $((mem_gb / 2 > 0 ? mem_gb / 2 : 1)) ] && jobs=$((mem_gb / 2 > 0 ? mem_gb / 2 : 1))
cmake --build "$build" -j "$jobs" >&2
# The libFuzzer harnesses (fuzz/, docs/fuzzing.md): their own small clang project in
# $build/fuzz, which tests/fuzz_smoke_test.cpp runs briefly. Not for sanitizer builds: the
# fuzzers carry ASan/UBSan themselves.
if [ -z "$sanitize" ] && command -v clang++-14 >/dev/null; then
  if [ ! -f "$build/fuzz/build.ninja" ]; then
    cmake -S fuzz -B "$build/fuzz" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 >&2
  fi
  cmake --build "$build/fuzz" -j "$jobs" >&2
fi
echo "$build"
