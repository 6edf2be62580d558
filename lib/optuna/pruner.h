// Optuna's pruners, native, with Optuna 4.9's exact decision rules
// (optuna/pruners/_percentile.py, _successive_halving.py), so a kiln worker and a Python worker
// sharing one study file stop the same trials.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "optuna/study.h"

namespace kiln::optuna {

// Decides whether `trial` (whose latest report is already in trial.intermediate) should stop.
// Optuna's successive halving keeps its state in trial system attrs ("completed_rung_<k>");
// those the pruner wants written come back in `system_attrs` so a shared study file agrees
// with Python workers.
struct PruneDecision {
  bool prune = false;
  std::vector<std::pair<std::string, nlohmann::json>> system_attrs;
};

class Pruner {
 public:
  virtual ~Pruner() = default;
  virtual PruneDecision decide(const Study& study, const Trial& trial) = 0;
};

// Never prunes (Optuna's NopPruner).
std::unique_ptr<Pruner> make_no_pruner();

// Optuna's MedianPruner: prunes when the trial's best intermediate value so far is worse than the
// median of COMPLETE trials' values at its latest step. No pruning while fewer than
// n_startup_trials trials are COMPLETE, before step n_warmup_steps, except at the first report
// of each interval of interval_steps (counted from the warmup), or when fewer than n_min_trials
// COMPLETE trials reported that step. A trial whose values are all NaN is pruned.
// Throws kiln::Error::usage on out-of-range arguments (as Optuna raises ValueError).
std::unique_ptr<Pruner> make_median_pruner(int n_startup_trials = 5, int n_warmup_steps = 0, int interval_steps = 1,
                                           int n_min_trials = 1);

// Optuna's SuccessiveHalvingPruner (asynchronous successive halving). Rung k ends at step
// min_resource * reduction_factor^(min_early_stopping_rate + k); a trial reaching it records its
// value as system attr "completed_rung_<k>" (returned in PruneDecision::system_attrs for the
// caller to store) and goes on only if it is in the top 1/reduction_factor of all values
// recorded for that rung. min_resource = 0 means Optuna's "auto": max(last step of COMPLETE
// trials) / 100 (at least 1), fixed once the first trial completes and kept by this pruner.
// Throws kiln::Error::usage on out-of-range arguments (as Optuna raises ValueError).
std::unique_ptr<Pruner> make_successive_halving_pruner(int min_resource /*0 = auto*/, int reduction_factor = 4,
                                                       int min_early_stopping_rate = 0, int bootstrap_count = 0);

}  // namespace kiln::optuna
