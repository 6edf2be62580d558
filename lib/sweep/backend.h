// Where a sweep's trials come from and its results go: the local study file with kiln's
// native sampler and pruner (local.h), or a remote Optuna server (remote.h). The trial
// driver talks only to this. It is kiln's seam, not Optuna's: behind a remote server run
// Optuna's own sampler and pruner, so choosing between the two belongs to the sweep, above
// the optuna/ layer.
#pragma once
#include <optional>
#include <string>

#include "optuna/study.h"

namespace kiln::sweep {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual optuna::Asked ask(const optuna::Space& space) = 0;
  // Several sweeps on one study (workers on other machines, a remote server): asks only while
  // the study holds fewer than `study_trials` trials that count (running or finished, not
  // those a stopped sweep left behind), decided where the study lives, so that workers
  // racing for the last trials cannot overshoot; nullopt once it holds them. A backend only
  // this sweep uses asks as ask() does.
  virtual std::optional<optuna::Asked> ask_within(const optuna::Space& space, int64_t study_trials) {
    (void)study_trials;
    return ask(space);
  }
  // Records the value at `step`; returns whether the trial should be pruned.
  virtual bool report(const optuna::Asked& trial, int step, double value) = 0;
  // Finishes the trial: COMPLETE needs a value; PRUNED stores the last reported value (as
  // Optuna does); FAIL stores none. `reason` goes into a user attr ("fail_reason") for FAIL.
  virtual void tell(const optuna::Asked& trial, optuna::TrialState state, std::optional<double> value,
                    const std::string& reason = {}) = 0;
  // The study as it stands (for the leaderboard and best.toml).
  virtual optuna::Study snapshot() = 0;
  // Queues a trial with the same params as finished trial `number` (one that was
  // interrupted, not one that failed on its own), as Optuna's RetryFailedTrialCallback
  // does: the next ask pops it. Returns the new trial's number, or -1 when this backend
  // cannot queue trials.
  virtual int requeue(int number) { return -1; }
};

}  // namespace kiln::sweep
