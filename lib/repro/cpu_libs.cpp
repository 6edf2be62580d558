// MKL CNR and fixed thread teams, through the symbols libtorch_cpu exports (looked up at run
// time, so a LibTorch without MKL, e.g. an aarch64 build, simply reports "no MKL").
#include "repro/cpu_libs.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>

namespace kiln::repro {
namespace {

// MKL's named constants (mkl_service.h): branch values and status codes of mkl_cbwr_*.
constexpr int kCbwrBranchOption = 1;  // MKL_CBWR_BRANCH: mkl_cbwr_get returns the branch only
constexpr int kCbwrOff = 0;
constexpr int kCbwrBranchOff = 1;

std::string branch_name(int b) {
  switch (b) {
    case kCbwrOff:
      return "off";
    case kCbwrBranchOff:
      return "off";
    case 2:
      return "AUTO";
    case 3:
      return "COMPATIBLE";
    case 4:
      return "SSE2";
    case 6:
      return "SSSE3";
    case 7:
      return "SSE4_1";
    case 8:
      return "SSE4_2";
    case 9:
      return "AVX";
    case 10:
      return "AVX2";
    case 11:
      return "AVX512_MIC";
    case 12:
      return "AVX512";
    case 13:
      return "AVX512_MIC_E1";
    case 14:
      return "AVX512_E1";
    default:
      return "branch " + std::to_string(b);
  }
}

template <class Fn>
Fn lookup(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_DEFAULT, name));
}

CpuLibsState g_state;
bool g_set = false;  // deterministic settings applied (under the mutex below)

void apply(bool on) {
  // libtorch_cpu links MKL statically and exports its service layer under these names
  // (mkl_cbwr_set is a macro for mkl_serv_cbwr_set in mkl_service.h).
  using IntFn = int (*)(int);
  using IntVoidFn = int (*)();
  using VoidIntFn = void (*)(int);
  const auto cbwr_set = lookup<IntFn>("mkl_serv_cbwr_set");
  const auto cbwr_get = lookup<IntFn>("mkl_serv_cbwr_get");
  const auto auto_branch = lookup<IntVoidFn>("mkl_serv_cbwr_get_auto_branch");
  g_state.mkl = cbwr_set && cbwr_get && auto_branch;
  g_state.cnr_source = "none";
  g_state.cnr_branch = "off";
  if (!on) {
    if (g_state.mkl) g_state.cnr_branch = branch_name(cbwr_get(kCbwrBranchOption));
    return;
  }
  // MKL_CBWR=AUTO: CNR on MKL's own choice of code path for this CPU (the same kernels as
  // without CNR, now with fixed blocking, reductions and scheduling). Set in the environment
  // MKL reads at its first call, not through mkl_serv_cbwr_set: on the Xeon of
  // docs/benchmarks.md that call returned success and read back the branch, yet 3 of 16 fresh
  // runs still differed at step 2, while MKL_CBWR in the environment gave 24 of 24 (AUTO,
  // AVX512, AVX512_E1 alike).
  // First, before any MKL call below. A user's own MKL_CBWR wins.
  const char* env = std::getenv("MKL_CBWR");
  g_state.cnr_source = env && *env ? "MKL_CBWR" : "kiln";
  if (!(env && *env)) ::setenv("MKL_CBWR", "AUTO", /*overwrite=*/0);
  // Fixed thread teams: MKL_DYNAMIC defaults to true (MKL may use fewer threads than asked,
  // which changes reduction order); OMP_DYNAMIC=true in a user's environment would do the
  // same to LibTorch's own OpenMP loops. Both are MKL's documented reproducibility conditions.
  // MKL_Set_Dynamic is MKL's C entry point (lower-case mkl_set_dynamic is the Fortran one,
  // which takes a pointer).
  if (const auto mkl_set_dynamic = lookup<VoidIntFn>("MKL_Set_Dynamic")) mkl_set_dynamic(0);
  if (const auto omp_set_dynamic = lookup<VoidIntFn>("omp_set_dynamic")) omp_set_dynamic(0);
  g_state.dynamic_threads = false;
  if (!g_state.mkl) {
    g_state.note = "LibTorch has no MKL";
    return;
  }
  g_state.cnr_branch = branch_name(cbwr_get(kCbwrBranchOption));
  const int dispatch = auto_branch();  // what AUTO runs on this CPU, for the manifest
  if (g_state.cnr_branch == "AUTO") g_state.cnr_branch += " (" + branch_name(dispatch) + ")";
}

}  // namespace

const CpuLibsState& set_cpu_libs_deterministic(bool on) {
  // Turning it on happens once per process: MKL's CNR branch cannot change after MKL's
  // first call, so later runs in the same process (kiln verify, tests) keep it. A
  // non-deterministic run only reads the state (and leaves a later deterministic run free
  // to try, which works as long as MKL has not run yet).
  static std::mutex m;
  std::lock_guard<std::mutex> lock(m);
  if (!g_set) apply(on);
  g_set = g_set || on;
  return g_state;
}

nlohmann::json cpu_libs_facts() {
  return {{"mkl", g_state.mkl},
          {"mkl_cnr_branch", g_state.cnr_branch},
          {"mkl_cnr_source", g_state.cnr_source},
          {"dynamic_threads", g_state.dynamic_threads}};
}

}  // namespace kiln::repro
