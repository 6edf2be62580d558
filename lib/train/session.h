// Session: everything one training run holds (data, model, optimizer, loaders, run dir,
// sinks), set up in the order that keeps "bad input writes nothing": config and data are
// checked before the run dir exists.
#pragma once
#include <chrono>
#include <filesystem>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "config/config.h"
#include "data/loader.h"
#include "metrics/sink.h"
#include "model/registry.h"
#include "train/evaluate.h"
#include "train/step.h"
#include "train/trainer.h"

namespace kiln::train {

class Session {
 public:
  Session(const config::RunConfig& cfg, const TrainOptions& opts);
  ~Session();

  // Logging: losses stay on the device and are fetched every log.every steps, so logging
  // never stalls the GPU pipeline.
  // wait_ms: host time the step blocked on the loader; copy_ms: device time of the newest
  // finished host-to-device copy (-1 on the CPU).
  void record_step(int64_t step, int64_t epoch, const StepStats& st, double lr, double wait_ms, double copy_ms);
  void record_eval(int64_t step, int64_t epoch, const EvalResult& r);
  void save_checkpoint(const checkpoint::TrainState& state);
  [[noreturn]] void interrupt(const checkpoint::TrainState& state, int signal);
  // Writes final.pt (at `state`, so a run killed before its summary resumes from it),
  // summary.json and the manifest's end.
  nlohmann::json finish(const checkpoint::TrainState& state);

  const config::RunConfig& cfg;
  std::string device;
  data::Splits splits;
  model::NetPtr net;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::unique_ptr<data::Loader> train_loader, test_loader;
  int64_t steps_per_epoch = 0, total_steps = 0;
  checkpoint::TrainState state;  // where training starts (non-zero when resuming)
  std::filesystem::path run_dir;

 private:
  struct Pending {
    int64_t step, epoch, samples;
    double lr, wait_ms, copy_ms;
    at::Tensor loss, grad_norm;
    bool skipped;
  };
  void flush();
  // train.on_nonfinite = "stop": refuses to checkpoint weights that hold nan/inf.
  void check_weights(const checkpoint::TrainState& st) const;
  [[noreturn]] void diverged(const std::string& what, int64_t step, int64_t epoch) const;
  void write_manifest(const nlohmann::json* end);

  const TrainOptions& opts_;
  std::vector<std::shared_ptr<metrics::Sink>> sinks_;
  std::vector<Pending> pending_;
  std::chrono::steady_clock::time_point start_;
  double train_seconds_ = 0, last_loss_ = -1;
  int64_t samples_ = 0;
  bool warned_nonfinite_ = false;
  EvalResult last_eval_;
  int64_t last_eval_epoch_ = -1;
  std::filesystem::path resumed_from_;  // the checkpoint this run continues, if any
  std::string started_at_;
  std::chrono::steady_clock::time_point last_tick_;
};

}  // namespace kiln::train
