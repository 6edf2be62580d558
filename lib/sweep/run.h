// sweep::run: `kiln sweep` as one library call. It loads the spec, checks it against kiln's
// config before anything is written, opens the study (a local Optuna journal file with the
// native sampler and pruner, or a remote Optuna server), runs the trials, and writes the
// leaderboard (stderr), DIR/best.toml and DIR/summary.json. cli/sweep_command.cpp only
// parses arguments, calls it and prints the summary.
#pragma once
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace kiln::sweep {

struct SweepOptions {
  std::filesystem::path spec;        // the sweep spec file (spec.h)
  int64_t trials = -1;               // trials in the study when done; -1 = the spec's n_trials
  int parallel = -1;                 // trials at once; -1 = the spec's (0 is a usage error)
  std::filesystem::path dir;         // the sweep directory; "" = sweeps/<name>
  std::filesystem::path study_file;  // the Optuna journal file; "" = DIR/study.journal
  std::string optuna_url;            // ask this Optuna server instead; "" = the local study file
  std::string optuna_token;          // the server's bearer token; "" = none
  std::string kiln_exe;              // the kiln binary whose `kiln train` each trial runs
  // Called once, just before the first trial starts, for the flag that stops the trials (a
  // signal number once set). Not earlier: until then (loading, checking, connecting to a
  // server) a Ctrl-C keeps its default effect and stops the process at once. Empty = no stop.
  std::function<const std::atomic<int>*()> install_stop;
  bool console = true;  // per-trial lines, the leaderboard and the best trial on stderr
};

// Runs the sweep and returns its summary, also written to DIR/summary.json: study_name, dir,
// trials, complete, pruned, failed, metric, direction, study_file (local study only) and,
// once a trial completed, best {number, value, params} and best_toml (DIR/best.toml, the
// base config with the best params, ready for `kiln train`). A study continued from an
// earlier run counts its finished trials against `trials`. Throws kiln::Error: usage for a
// bad spec or option (nothing written then), runtime for a server or file failure,
// kInterrupted/kTerminated when the stop flag was set.
nlohmann::json run(const SweepOptions& options);

// Throws kiln::Error (runtime, exit 1) "no trial completed" when `summary` (from run) has no
// best trial. Separate from run so that a caller can print the summary first, as
// `kiln sweep --json` does.
void require_best(const nlohmann::json& summary);

}  // namespace kiln::sweep
