// Metrics sinks: where step and evaluation records go (console, metrics.jsonl, ...).
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace kiln::metrics {

struct StepRecord {
  int64_t step = 0;   // optimizer steps done (1-based after the first step)
  int64_t epoch = 0;  // 0-based epoch the step belongs to
  double loss = 0.0;  // mean training loss of the step
  double lr = 0.0;
  double grad_norm = -1.0;    // pre-clip global norm; -1 when clipping is off
  double data_wait_ms = 0.0;  // time the step waited for its batches
  double copy_ms = -1.0;      // CUDA: device time of the newest finished host-to-device copy; -1 on the CPU
  int64_t samples = 0;        // samples in the step
  double time_s = 0.0;        // seconds since training started
  bool skipped = false;       // the update was dropped: train.on_nonfinite = "skip", or fp16's scaler found inf
  double loss_scale = -1.0;   // fp16: the loss scale of this step's backward; -1 otherwise
};

// Named metric values in the task's order, e.g. {"test_loss", 0.31}, {"test_accuracy", 0.89}.
using Values = std::vector<std::pair<std::string, double>>;

struct EvalRecord {
  int64_t step = 0, epoch = 0;
  Values values;  // the task's evaluation metrics on the held-out split
  double time_s = 0.0;
};

struct Progress {
  int64_t step = 0, total_steps = 0;
  int64_t epoch = 0, epochs = 0;
  double samples_per_s = 0.0;
  double elapsed_s = 0.0;
  double last_loss = -1.0;        // newest logged loss, -1 before the first
  int64_t tokens_per_sample = 0;  // > 0: throughput is shown in tokens/s (a language model)
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void on_step(const StepRecord&) {}
  virtual void on_eval(const EvalRecord&) {}
  virtual void on_progress(const Progress&) {}  // called after every step; sinks throttle
  virtual void on_finish() {}                   // the run ended with its summary (not stopped, not failed)
  virtual void close() {}
};

// Appends one JSON object per record to `path` ({"type": "step", ...} / {"type": "eval", ...}).
std::unique_ptr<Sink> make_jsonl_sink(const std::filesystem::path& path);

// TensorBoard: an event file under `dir` (RUN_DIR/tb/) with the step scalars (train/loss,
// train/lr, train/grad_norm, train/data_wait_ms, train/samples_per_s or tokens_per_s every
// `every` steps), the evaluations (eval/<metric>), the config and environment as text and,
// for a sweep trial, its hyperparameters for the HParams view. A write that fails (disk
// full) stops TensorBoard logging with a warning, not the run: metrics.jsonl is the record.
struct TensorboardOptions {
  std::filesystem::path dir;
  int64_t every = 50;                         // throughput scalar every N steps (log.every)
  int64_t tokens_per_sample = 0;              // > 0: throughput in tokens/s
  int64_t resumed_after = -1;                 // >= 0: a resumed run continues after this step
  std::string config_toml, environment_json;  // shown as text (a fresh run only)
  std::string hparams_json, hparams_group;    // a sweep trial's {"key": value} and its trial name
};
std::unique_ptr<Sink> make_tensorboard_sink(const TensorboardOptions& opts);

// Human output on stderr. mode: "bar" (a progress line redrawn in place), "lines" (a log
// line every `every` steps), "off". "auto" picks bar on a terminal, lines otherwise.
std::unique_ptr<Sink> make_console_sink(const std::string& mode, int64_t every);

}  // namespace kiln::metrics
