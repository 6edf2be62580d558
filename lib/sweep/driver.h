// The sweep loop: ask the backend for trials, run each as a `kiln train` child (up to
// `parallel` at once, pinned round-robin to GPUs), report every epoch's objective, stop the
// trials the pruner rejects, and tell each result. A crash, NaN or timeout in one trial is
// that trial's FAIL; the sweep goes on.
#pragma once
#include <atomic>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "optuna/study.h"
#include "sweep/backend.h"
#include "sweep/spec.h"

namespace kiln::sweep {

// What run_trials needs besides the spec (sweep::run fills it from SweepOptions).
struct DriverOptions {
  std::filesystem::path dir;            // trials/<number>/ go here
  std::string kiln_exe;                 // the kiln binary the trials run
  std::string base_config;              // CONFIG argument of the trials ("" = built-in defaults)
  std::vector<std::string> extra_sets;  // "--set" values every trial gets
  int64_t n_trials = 0;                 // trials to run now (0 = until the timeout)
  int64_t study_trials = 0;             // > 0: also stop asking once the study holds this many (Backend::ask_within)
  int parallel = 1;
  int gpus = 0;                            // > 1: CUDA_VISIBLE_DEVICES round-robin
  const std::atomic<int>* stop = nullptr;  // a signal number once set: stop the trials and return
  bool console = true;
};

struct TrialResult {
  int number = -1;
  optuna::TrialState state = optuna::TrialState::kFail;
  std::optional<double> value;
  std::map<std::string, nlohmann::json> params;  // external values
  double seconds = 0;
  std::string reason;  // FAIL / PRUNED: why
  std::filesystem::path run_dir;
};

// "optim.lr=0.003": the --set argument for one param value.
std::string set_argument(const std::string& name, const optuna::Distribution& d, double internal);

// "optim.lr=0.00312": a param value for people (4 significant digits for floats).
std::string param_text(const std::string& name, const nlohmann::json& value);

// Runs trials until n_trials have finished, the spec's timeout passes or `stop` is set
// (then running trials get SIGTERM and are told FAIL "interrupted"). Returns the trials
// this call ran, in the order they finished.
std::vector<TrialResult> run_trials(const SweepSpec& spec, Backend& backend, const DriverOptions& opts);

}  // namespace kiln::sweep
