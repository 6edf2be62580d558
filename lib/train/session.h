// Session: one run's life in its run dir. It creates the run dir (or resumes one: the newest
// checkpoint, the config check, metrics.jsonl trimmed back to it), writes the effective
// config and the manifest, saves checkpoints under the train.on_nonfinite check, turns a
// stop signal into a resumable checkpoint and an error, and writes the end: final.pt,
// summary.json and the manifest's result. Building the components is build_components'.
#pragma once
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "config/config.h"
#include "run/manifest.h"
#include "run/run_dir.h"
#include "train/components.h"
#include "train/step_log.h"
#include "train/trainer.h"

namespace kiln::train {

class Session {
 public:
  // Runs the hook's fit checks first, so a bad profiling window is refused before the run
  // dir is created (or, resuming, changed).
  Session(const config::RunConfig& cfg, const TrainOptions& opts, Components& c);

  const run::RunDir& dir() const { return dir_; }
  const checkpoint::TrainState& start() const { return start_; }  // non-zero when resuming
  bool resumed() const { return !manifest_.resumed_from.empty(); }
  // --resume auto found no run to continue and started one: the loop checkpoints step 0 at
  // once, so that a restart killed before checkpoint.every still has a checkpoint to resume.
  bool started_by_auto() const { return started_by_auto_; }
  int64_t last_step() const { return last_step_; }  // total_steps, or opts.stop_after
  StepLog& log() { return *log_; }

  void save_checkpoint(const checkpoint::TrainState& state);
  [[noreturn]] void interrupt(const checkpoint::TrainState& state, int signal);
  // Writes final.pt (at `state`, so a run killed before its summary resumes from it),
  // summary.json and the manifest's end; returns the summary.
  nlohmann::json finish(const checkpoint::TrainState& state);
  // A run that ends without its summary: the manifest's status ("interrupted" or "failed")
  // and the reason, for `kiln runs`. Never throws.
  void record_end(const std::string& status, const std::string& error) noexcept;

 private:
  void resume();
  checkpoint::TrainState with_classes(const checkpoint::TrainState& st) const;
  // Every rank's RNG states (a collective: all ranks call it at each checkpoint); empty for
  // one process.
  std::vector<std::string> gather_rng();
  // What a checkpoint adds: fp16's loss scale; a data-parallel job's size and the other
  // ranks' RNG states (`rngs`, from gather_rng).
  checkpoint::WriteExtra extra_writer(std::vector<std::string> rngs) const;
  // Refuses a checkpoint of another world size; restores this rank's RNG states (rank > 0).
  void read_world(torch::serialize::InputArchive& a, const std::filesystem::path& from) const;
  // train.on_nonfinite = "stop": refuses to checkpoint weights that hold nan/inf.
  void check_weights(const checkpoint::TrainState& st) const;
  // Exit 4 naming the newest step checkpoint at or before `sound_up_to` (weights that went on
  // to give a finite loss) as the one to continue from.
  [[noreturn]] void diverged(const std::string& what, int64_t step, int64_t epoch, int64_t sound_up_to) const;

  // Rank 0 of a data-parallel job (or the one process) owns the run dir; the other ranks keep
  // the same counters and checks but write nothing.
  bool owner() const { return c_.world.rank == 0; }
  void gather_world();  // the ranks' hosts, pids and devices into the manifest

  const config::RunConfig& cfg_;
  const TrainOptions& opts_;
  Components& c_;
  run::RunDir dir_;
  run::Manifest manifest_;
  checkpoint::TrainState start_;
  std::vector<std::string> classes_;  // the data's class names by label (empty: unnamed)
  int64_t last_step_ = 0;
  double resumed_seconds_ = 0;
  int64_t resumed_samples_ = 0;
  std::unique_ptr<StepLog> log_;
  bool started_by_auto_ = false;
  int64_t exchanges_ = 0;  // gather_rng's calls so far (the store key of each)
};

}  // namespace kiln::train
