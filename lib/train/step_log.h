// StepLog: the run's metrics on their way to the sinks. Step losses stay on the device and
// are fetched every log.every steps in one copy, so logging never stalls the GPU pipeline;
// a nan/inf loss is acted on (train.on_nonfinite) once its records are written.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "metrics/sink.h"
#include "train/evaluate.h"
#include "train/step.h"

namespace kiln::train {

class StepLog {
 public:
  // Called (and expected to throw) for a nan/inf loss under train.on_nonfinite = "stop".
  using Diverged = std::function<void(const std::string& what, int64_t step, int64_t epoch)>;

  // `train_seconds` and `samples`: what a resumed run had done already (the summary's
  // samples/s and train time cover the whole run, as if it never stopped).
  StepLog(const config::RunConfig& cfg, int64_t total_steps, std::vector<std::shared_ptr<metrics::Sink>> sinks,
          Diverged diverged, double train_seconds, int64_t samples);
  ~StepLog();  // closes the sinks

  // wait_ms: host time the step blocked on the loader; copy_ms: device time of the newest
  // finished host-to-device copy (-1 on the CPU).
  void step(int64_t step, int64_t epoch, const StepStats& st, double lr, double wait_ms, double copy_ms);
  void eval(int64_t step, int64_t epoch, const EvalResult& r);
  // Writes every buffered step record (before a checkpoint, an eval, the end).
  void flush();
  void finish();  // the run ended with its summary: tells the sinks (after a flush)

  // A language model's window length: progress shows tokens/s (0: samples/s).
  void set_tokens_per_sample(int64_t n) { tokens_per_sample_ = n; }

  double train_seconds() const { return train_seconds_; }
  int64_t samples() const { return samples_; }
  const EvalResult* last_eval() const { return has_eval_ ? &last_eval_ : nullptr; }
  int64_t last_eval_step() const { return last_eval_step_; }  // -1 before the first
  int64_t last_eval_epoch() const { return last_eval_epoch_; }

 private:
  struct Pending {
    int64_t step, epoch, samples;
    double lr, wait_ms, copy_ms;
    at::Tensor loss, grad_norm, loss_scale;
    bool skipped;
    at::Tensor skip_flag;  // decided on the device (StepStats::skip_flag): read at the flush
    double time_s;         // training seconds when the step ended (its own, not the flush's)
  };

  const config::RunConfig& cfg_;
  int64_t total_steps_;
  std::vector<std::shared_ptr<metrics::Sink>> sinks_;
  Diverged diverged_;
  std::vector<Pending> pending_;
  std::chrono::steady_clock::time_point start_, last_tick_;
  double train_seconds_, last_loss_ = -1;
  int64_t samples_, tokens_per_sample_ = 0;
  bool warned_nonfinite_ = false, has_eval_ = false;
  EvalResult last_eval_;
  int64_t last_eval_step_ = -1, last_eval_epoch_ = -1;
};

}  // namespace kiln::train
