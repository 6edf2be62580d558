#!/usr/bin/env bash
# Sets up and builds kiln if needed, then runs the whole test suite (unit + end-to-end).
#   tools/test.sh                       # the normal build
#   tools/test.sh --sanitize=address    # ASan + UBSan build (build-asan/)
#   tools/test.sh --sanitize=thread     # TSan build (build-tsan/)
#   tools/test.sh --gtest_filter='Config*'   # extra arguments go to kiln_tests
# Exits non-zero when any test fails. Tests that need a GPU skip with a reason here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build_args=()
test_args=()
for a in "$@"; do
  case "$a" in
    --sanitize=*) build_args+=("$a") ;;
    *) test_args+=("$a") ;;
  esac
done
build=$(tools/build.sh "${build_args[@]}")
case "${build_args[*]:-}" in
  *address*)
    # LibTorch is not instrumented: no leak checking of its allocations; CUDA needs the shadow gap.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:protect_shadow_gap=0:detect_odr_violation=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} ;;
  *thread*)
    # LibTorch's intra-op OpenMP pool is not instrumented: TSan cannot see its barriers and
    # reports races inside LibTorch's own kernels. One intra-op thread keeps those regions
    # serial, so every thread TSan watches is one of ours (the loader's workers).
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:suppressions=$root/tools/tsan.supp} ;;
esac
exec "$build/kiln_tests" "${test_args[@]}"
