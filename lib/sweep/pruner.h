// The native pruners behind `kiln sweep`, with Optuna 4.9's exact decision rules
// (optuna/pruners/_percentile.py, _successive_halving.py), so a kiln worker and a Python worker
// sharing one study file stop the same trials.
#pragma once
#include <memory>

#include "sweep/study.h"

namespace kiln::sweep {

// Never prunes (Optuna's NopPruner).
std::unique_ptr<Pruner> make_no_pruner();

// Optuna's MedianPruner: prunes when the trial's best intermediate value so far is worse than the
// median of COMPLETE trials' values at its latest step. No pruning while fewer than
// n_startup_trials trials are COMPLETE, before step n_warmup_steps, except at the first report
// of each interval of interval_steps (counted from the warmup), or when fewer than n_min_trials
// COMPLETE trials reported that step. A trial whose values are all NaN is pruned.
// Throws kiln::Error::usage on out-of-range arguments (as Optuna raises ValueError).
std::unique_ptr<Pruner> make_median_pruner(int n_startup_trials = 5, int n_warmup_steps = 0,
                                           int interval_steps = 1, int n_min_trials = 1);

// Optuna's SuccessiveHalvingPruner (asynchronous successive halving). Rung k ends at step
// min_resource * reduction_factor^(min_early_stopping_rate + k); a trial reaching it records its
// value as system attr "completed_rung_<k>" (returned in PruneDecision::system_attrs for the
// caller to store) and goes on only if it is in the top 1/reduction_factor of all values
// recorded for that rung. min_resource = 0 means Optuna's "auto": max(last step of COMPLETE
// trials) / 100 (at least 1), fixed once the first trial completes and kept by this pruner.
// Throws kiln::Error::usage on out-of-range arguments (as Optuna raises ValueError).
std::unique_ptr<Pruner> make_successive_halving_pruner(int min_resource /*0 = auto*/,
                                                       int reduction_factor = 4,
                                                       int min_early_stopping_rate = 0,
                                                       int bootstrap_count = 0);

}  // namespace kiln::sweep
