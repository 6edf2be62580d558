// The sweep spec file (`kiln sweep SPEC.toml`): study name, base config, objective, budget,
// sampler, pruner and search space, loaded and validated before anything starts. Every
// mistake is a kiln::Error::usage (exit 2) naming the file:line and the key.
//
//   name = "lr_search"                 # default: the spec file's stem
//   base = "../configs/fashion_cnn.toml"  # or an inline table ([base.optim] lr = 0.01), or ""
//   [objective]  metric = "test_accuracy", direction = "maximize"  # default: the task's (objective.h)
//   [budget]     n_trials = 20, timeout_s = 0, trial_timeout_s = 0, parallel = 1
//   [sampler]    name = "tpe", seed = 0, n_startup_trials = 10, n_ei_candidates = 24
//   [pruner]     name = "median", n_startup_trials = 5, n_warmup_steps = 0, interval_steps = 1
//                (successive_halving: min_resource = 0 (auto), reduction_factor = 4,
//                 min_early_stopping_rate = 0)
//   [space."optim.lr"]  type = "float", low = 1e-5, high = 1e-1, log = true
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "optuna/study.h"

namespace kiln::sweep {

// The base config used when a spec has no `base` key. Looked up relative to the spec's
// directory and then each parent directory, so a spec anywhere under a checkout (e.g.
// configs/sweeps/) finds the repo's configs/fashion_cnn.toml.
inline constexpr const char* kDefaultBase = "configs/fashion_cnn.toml";

struct SamplerSpec {
  std::string name = "tpe";  // grid | random | tpe
  uint64_t seed = 0;
  int n_startup_trials = 10;  // tpe: random trials before TPE takes over
  int n_ei_candidates = 24;   // tpe: candidates drawn from l(x) per suggestion
};

struct PrunerSpec {
  std::string name = "median";  // none | median | successive_halving
  // median (Optuna's MedianPruner)
  int n_startup_trials = 5;  // no pruning until this many trials finished
  int n_warmup_steps = 0;    // no pruning of a trial before this step (epochs)
  int interval_steps = 1;    // check every N steps
  // successive_halving (Optuna's SuccessiveHalvingPruner)
  int min_resource = 0;  // steps before the first rung; 0 = "auto"
  int reduction_factor = 4;
  int min_early_stopping_rate = 0;
};

struct SweepSpec {
  std::string name;                 // study name
  std::filesystem::path spec_path;  // absolute
  // The base kiln config: a file (absolute path), or an inline [base] table, or neither
  // (kiln's built-in defaults). base_inline is TOML text of the inline table's sections,
  // laid out so each key sits on the line it has in the spec file: feed it to
  // config::apply_toml with spec_path as the source and errors point into the spec.
  std::filesystem::path base_path;
  std::string base_inline;
  // [objective]: an evaluation metric of the base config's task, as the summary names it
  // ("test_accuracy"); "" until resolve_objective() picks the task's default. direction is
  // the metric's own (higher_is_better) unless the spec gave one (direction_given).
  std::string metric;
  std::string metric_at;  // file:line of objective.metric (the file when absent), for errors
  optuna::Direction direction = optuna::Direction::kMaximize;
  bool direction_given = false;  // by the spec, or by resolve_objective once it has run
  int64_t n_trials = 20;         // 0 = unlimited (then timeout_s > 0)
  double timeout_s = 0;          // whole sweep, seconds; 0 = none
  double trial_timeout_s = 0;    // per trial, seconds; 0 = none
  int parallel = 1;              // trials at once
  SamplerSpec sampler;
  PrunerSpec pruner;
  optuna::Space space;
};

// Reads and validates a spec file; throws kiln::Error::usage naming file:line and key.
SweepSpec load_spec(const std::filesystem::path& path);

// The same on the text of a spec file at `path` (which names it in errors and anchors a
// relative `base`); the fuzzers' entry point.
SweepSpec parse_spec(std::string_view text, const std::filesystem::path& path);

// A few lines for humans: name, objective, budget, sampler, pruner, base and the space.
std::string describe(const SweepSpec& spec);

}  // namespace kiln::sweep
