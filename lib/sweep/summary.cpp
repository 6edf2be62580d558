// write_summary (see summary.h).
#include "sweep/summary.h"

#include <cstdio>
#include <string>
#include <vector>

#include "config/load.h"
#include "optuna/distribution_json.h"
#include "sweep/driver.h"
#include "util/fs.h"

namespace kiln::sweep {
namespace fs = std::filesystem;
namespace {

// The --set arguments that give a trial's params (what its `kiln train` child got).
std::vector<std::string> param_sets(const optuna::Trial& t) {
  std::vector<std::string> sets;
  for (const auto& [name, internal] : t.params) sets.push_back(set_argument(name, t.distributions.at(name), internal));
  return sets;
}

}  // namespace

nlohmann::json write_summary(const optuna::Study& study, const SweepSpec& spec, const fs::path& dir,
                             const std::optional<fs::path>& base, const std::optional<fs::path>& study_file,
                             bool console) {
  const bool maximize = spec.direction == optuna::Direction::kMaximize;
  const optuna::Trial* best = nullptr;
  int complete = 0, pruned = 0, failed = 0;
  for (const auto& t : study.trials) {
    complete += t.state == optuna::TrialState::kComplete;
    pruned += t.state == optuna::TrialState::kPruned;
    failed += t.state == optuna::TrialState::kFail;
    if (t.state != optuna::TrialState::kComplete || !t.value) continue;
    const bool better = !best || (maximize ? *t.value > *best->value : *t.value < *best->value);
    if (better) best = &t;
  }
  nlohmann::json j = {{"study_name", spec.name},
                      {"dir", dir.string()},
                      {"trials", study.trials.size()},
                      {"complete", complete},
                      {"pruned", pruned},
                      {"failed", failed},
                      {"metric", spec.metric},
                      {"direction", maximize ? "maximize" : "minimize"}};
  if (study_file) j["study_file"] = study_file->string();
  if (best) {
    const config::RunConfig cfg = config::load(base, param_sets(*best));
    util::atomic_write(dir / "best.toml", config::to_toml(cfg));
    nlohmann::json params;
    for (const auto& [name, internal] : best->params)
      params[name] = optuna::to_external(best->distributions.at(name), internal);
    j["best"] = {{"number", best->number}, {"value", *best->value}, {"params", params}};
    j["best_toml"] = (dir / "best.toml").string();
    if (console) {
      std::fprintf(stderr, "\n  best: trial %d, %s %.4f; config in %s\n", best->number, spec.metric.c_str(),
                   *best->value, (dir / "best.toml").c_str());
    }
  }
  util::atomic_write(dir / "summary.json", j.dump(2) + "\n");
  return j;
}

}  // namespace kiln::sweep
