// RunDir: the layout of a run directory, the one place that names its files. Everything
// that reads or writes a run dir (the session, resume, verify, selftest, the sweep's trial
// driver, the profiling window) asks it for paths.
//   config.toml      the effective config          manifest.json  seed, versions, environment
//   metrics.jsonl    one record per step / eval     summary.json   written last, at the end
//   checkpoints/     step-N.pt (+ sidecars), final.pt             profile/  profiling windows
#pragma once
#include <filesystem>

namespace kiln::run {

struct RunDir {
  std::filesystem::path root;

  std::filesystem::path config() const { return root / "config.toml"; }
  std::filesystem::path manifest() const { return root / "manifest.json"; }
  std::filesystem::path metrics() const { return root / "metrics.jsonl"; }
  std::filesystem::path summary() const { return root / "summary.json"; }
  std::filesystem::path checkpoints() const { return root / "checkpoints"; }
  std::filesystem::path final_checkpoint() const { return checkpoints() / "final.pt"; }
  std::filesystem::path profile() const { return root / "profile"; }
};

}  // namespace kiln::run
