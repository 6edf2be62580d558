// resolve_objective (see objective.h).
#include "sweep/objective.h"

#include <string>
#include <vector>

#include "sweep/toml_read.h"
#include "task/task.h"
#include "util/error.h"
#include "util/text.h"

namespace kiln::sweep {

void resolve_objective(SweepSpec& spec, const config::RunConfig& base) {
  const std::vector<task::Metric> metrics = task::build(base)->metrics();
  std::vector<std::string> keys;  // the names the trial's summary reports, e.g. test_accuracy
  for (const task::Metric& m : metrics) keys.push_back(task::metric_key("test", m));
  size_t pick = metrics.size();
  if (spec.metric.empty()) {
    for (size_t i = 0; i < metrics.size() && pick == metrics.size(); ++i) {
      if (metrics[i].higher_is_better) pick = i;
    }
    if (pick == metrics.size()) pick = 0;  // only lower-is-better metrics: the loss comes first
  } else {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == spec.metric) pick = i;
    }
  }
  if (pick >= metrics.size()) {
    std::string msg = "key 'objective.metric' at " + spec.metric_at + " is \"" + spec.metric + "\", which task '" +
                      base.train.task + "' (train.task) does not report";
    const std::string dym = util::did_you_mean(spec.metric, keys);
    if (!dym.empty()) msg += "; " + dym;
    throw Error::usage(msg, "its metrics are: " + join_names(keys));
  }
  spec.metric = keys[pick];
  if (!spec.direction_given) {
    spec.direction = metrics[pick].higher_is_better ? optuna::Direction::kMaximize : optuna::Direction::kMinimize;
    spec.direction_given = true;  // decided now: describe() prints it
  }
}

}  // namespace kiln::sweep
