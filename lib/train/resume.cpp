// Checkpoint lookup, config comparison and metrics trimming for --resume.
#include "train/resume.h"

#include <nlohmann/json.hpp>

#include "config/load.h"
#include "run/metrics_log.h"
#include "run/run_dir.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

namespace kiln::train {
namespace fs = std::filesystem;

fs::path run_dir_of(const fs::path& checkpoint) { return checkpoint.parent_path().parent_path(); }

fs::path find_checkpoint(const std::string& resume, const fs::path& run_dir) {
  if (resume != "auto") {
    checkpoint::verify(resume);
    return resume;
  }
  if (run_dir.empty()) {
    throw Error::usage("--resume auto needs --run-dir DIR (the run to continue)",
                       "or give a checkpoint: --resume DIR/checkpoints/step-N.pt");
  }
  if (!fs::is_directory(run::RunDir{run_dir}.checkpoints())) {
    throw Error::usage(run_dir.string() + " is not a kiln run dir (no checkpoints/ in it)");
  }
  // final.pt first: a run killed after it but before summary.json resumes at its end.
  auto candidates = run::RunDir{run_dir}.step_checkpoints();
  if (fs::exists(run::RunDir{run_dir}.final_checkpoint()))
    candidates.insert(candidates.begin(), run::RunDir{run_dir}.final_checkpoint());
  for (const auto& p : candidates) {
    try {
      checkpoint::verify(p);
      return p;
    } catch (const Error& e) {
      log::warn(std::string(e.what()) + "; trying the previous one");
    }
  }
  throw Error::usage("no complete checkpoint in " + run::RunDir{run_dir}.checkpoints().string(),
                     "checkpoints are written every checkpoint.every steps and on SIGINT/SIGTERM");
}

std::vector<std::string> config_changes(const config::RunConfig& saved, const config::RunConfig& now) {
  // Keys that change how fast or how verbosely a run goes, never what it computes.
  auto harmless = [](const std::string& k) {
    return k.rfind("log.", 0) == 0 || k.rfind("checkpoint.", 0) == 0 || k == "loader.threads" ||
           k == "loader.prefetch" || k == "train.threads" || k == "train.name" ||
           k == "repro.fill_uninitialized";  // a check that results do not change
  };
  const auto a = config::flat_values(saved), b = config::flat_values(now);
  std::vector<std::string> out;
  for (const auto& [key, value] : a) {
    const auto it = b.find(key);
    if (!harmless(key) && it != b.end() && it->second != value) out.push_back(key + ": " + value + " -> " + it->second);
  }
  return out;
}

std::vector<nlohmann::json> trim_metrics(const fs::path& file, const checkpoint::TrainState& s) {
  std::vector<nlohmann::json> records;
  if (!fs::exists(file)) return records;
  std::string kept;
  for (auto& j : run::read_metrics(file)) {  // drops a line cut short by a kill
    const std::string type = run::record_type(j);
    if ((type == "step" && j.value("step", int64_t(0)) <= s.step) ||
        (type == "eval" && j.value("step", int64_t(0)) < s.step)) {
      kept += j.dump() + "\n";
      records.push_back(std::move(j));
    }
  }
  util::atomic_write(file, kept);
  return records;
}

}  // namespace kiln::train
