// RunDir: the layout of a run directory, the one place that names its files. Everything
// that reads or writes a run dir (the session, resume, verify, selftest, the sweep's trial
// driver, the profiling window) asks it for paths.
//   config.toml      the effective config          manifest.json  seed, versions, environment
//   metrics.jsonl    one record per step / eval     summary.json   written last, at the end
//   checkpoints/     step-N.pt (+ sidecars), final.pt             profile/  profiling windows
//   skipped.txt      files the data left out as unreadable (only when there are some)
//   tb/              TensorBoard event files (log.tensorboard)
#pragma once
#include <cstdint>
#include <filesystem>
#include <vector>

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
  std::filesystem::path skipped() const { return root / "skipped.txt"; }
  std::filesystem::path preprocessing() const { return root / "preprocessing.json"; }
  std::filesystem::path tensorboard() const { return root / "tb"; }  // TensorBoard event files

  // checkpoints/step-00000042.pt: zero-padded, so name order is step order.
  std::filesystem::path step_checkpoint(int64_t step) const;
  // The step checkpoints (not final.pt), newest first.
  std::vector<std::filesystem::path> step_checkpoints() const;
};

// checkpoint.keep: removes all but the newest `keep` step checkpoints (with their sidecars).
void keep_newest_checkpoints(const RunDir& dir, int64_t keep);

}  // namespace kiln::run
