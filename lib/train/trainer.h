// train::run: the training loop behind `kiln train`, usable directly from C++ programs.
#pragma once
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "dist/world.h"
#include "metrics/sink.h"
#include "train/step_hook.h"

namespace kiln::train {

struct TrainOptions {
  std::filesystem::path run_dir;           // empty: runs/<train.name>-<timestamp>/ under the cwd
  std::string resume;                      // "auto" (newest checkpoint of run_dir) or a checkpoint path
  bool allow_config_change = false;        // resume even if the config changes the computation
  int64_t stop_after = 0;                  // > 0: stop after this many steps, schedule unchanged (verify --steps)
  std::string command_line;                // recorded in the manifest
  const std::atomic<int>* stop = nullptr;  // a signal number (SIGINT/SIGTERM) once set: stop after the step
  bool console = true;                     // progress and per-epoch lines on stderr
  std::vector<std::shared_ptr<metrics::Sink>> sinks;  // extra sinks
  StepHook* hook = nullptr;  // around every step, e.g. a profiling window (kiln profile, --profile-steps)
  bool eval_at_stop = true;  // false: no evaluation after the last step (kiln profile: its window is over)
  // A sweep trial's hyperparameters (a JSON object) and name, for TensorBoard's HParams view.
  std::string hparams_json, hparams_group;
  // This process's place in a data-parallel job (dist::from_env() in the CLI); a world of one
  // by default. Rank 0 owns the run dir; the others train alongside and write nothing.
  dist::World world;
  double dist_timeout_s = 300;  // rendezvous and every collective (a peer that stops answering)
};

// Trains `cfg` (already validated) and returns the summary: run_dir, epochs, steps,
// test_accuracy, test_loss, samples_per_s, seed, weights_sha256, and more. The same object
// is written to <run_dir>/summary.json. Input problems throw Error::usage before the run
// dir is created.
nlohmann::json run(const config::RunConfig& cfg, const TrainOptions& opts = {});

// Resolves train.device ("auto" picks CUDA when available). Throws Error::usage when a
// CUDA device is asked for and none is there.
std::string resolve_device(const std::string& device);

// parent/<name>-<YYYYmmdd-HHMMSS> (not created).
std::filesystem::path timestamped_path(const std::filesystem::path& parent, const std::string& name);

// Creates the run directory: `explicit_dir` if given (it must be empty or absent), else
// runs/<name>-<YYYYmmdd-HHMMSS>[-N].
std::filesystem::path make_run_dir(const std::string& name, const std::filesystem::path& explicit_dir);

}  // namespace kiln::train
