// The CPU math libraries inside LibTorch in a run-to-run reproducible mode: MKL's
// conditional numerical reproducibility (CNR), and MKL and OpenMP with fixed thread teams.
// Without CNR, MKL may pick a different code path from one process to the next on the same
// Intel CPU (Sapphire Rapids gave two weight hashes for one seed); see docs/reproducibility.md.
#pragma once
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace kiln::repro {

struct CpuLibsState {
  bool mkl = false;             // LibTorch carries MKL (its CNR controls were found)
  std::string cnr_branch;       // MKL's CNR branch in force ("AVX512", "AVX2", ...), "off" when none
  std::string cnr_source;       // "kiln" (set here), "MKL_CBWR" (the user's environment) or "none"
  bool dynamic_threads = true;  // MKL/OpenMP may still shrink a thread team
  std::string note;             // why CNR could not be set, when it could not
};

// Deterministic mode for the CPU libraries, once per process and before MKL first runs
// (MKL reads MKL_CBWR at its first call). `on` = false leaves the libraries as they are.
// kiln sets MKL_CBWR=AUTO (CNR on the code path MKL would dispatch to anyway on this CPU, so
// no vector width is lost) unless the user's environment has MKL_CBWR, which wins. Safe to
// call more than once.
const CpuLibsState& set_cpu_libs_deterministic(bool on);

// The state for the manifest: {"mkl": bool, "mkl_cnr_branch": "...", "mkl_cnr_source": "...",
// "dynamic_threads": bool}.
nlohmann::json cpu_libs_facts();

}  // namespace kiln::repro
