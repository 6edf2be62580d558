// What a report shows of one run dir, gathered into one JSON object that the page's script
// draws: the step and evaluation records of metrics.jsonl (as columns), throughput derived
// from them, the profiling window (profile/profile.json, profile/trace.json), config.toml,
// the manifest's environment and summary.json.
#pragma once
#include <nlohmann/json.hpp>

#include "run/run_dir.h"

namespace kiln::report {

// Throws kiln::Error::usage naming the file when metrics.jsonl, profile.json, trace.json,
// manifest.json or summary.json cannot be read or is garbled. A last metrics line cut short
// (a killed run) is left out with a note, as every other reader of the log does.
nlohmann::json run_data(const run::RunDir& dir);

// The fallback for the run's headline metric, used when its config does not build a task
// (run_data otherwise takes the task's, as run::read_run does): among the evaluation keys
// (test_accuracy, test_loss, ...) the first accuracy-like one, else the first that is not a
// loss, else the first; "" when none.
std::string main_metric(const std::vector<std::string>& eval_keys);

}  // namespace kiln::report
