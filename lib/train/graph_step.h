// GraphStep: train.cuda_graph = true. The whole of train::step (forward, loss, backward,
// fp16's unscale and skip, clipping, the fused optimizer) captured once as a CUDA graph and
// replayed every step: one launch instead of hundreds, which is what a small model on a fast
// GPU is limited by (kiln profile's "launch-bound").
//
// How (docs/profiling.md, "CUDA graphs"):
// - The first call copies its batches into static input buffers (the graph reads those; each
//   later call copies its batches in, device to device), creates the optimizer's state
//   (FusedStep::init_state) and gives the optimizer a device learning rate (a float32 tensor
//   filled before each replay, so the lr schedule keeps working).
// - Warm-up: 3 dry-run steps on a side stream (every kernel, so lazy initialisation happens
//   outside the capture, but found_inf = 1, so no update), then the BatchNorm buffers, the
//   loss scale and the CUDA generator are put back as they were. Every step of a graph run is
//   thus a replay, the first included: a run resumed at any step replays the same graph the
//   uninterrupted run did, and resume stays exact.
// - Capture on the side stream, in thread-local capture mode (the loader's threads go on
//   using CUDA meanwhile), with autocast's weight cache off (a cached cast would be captured
//   once and never redone) and profiling spans off (the replay is one span, `step`).
// - Replay: copy the batches in, fill the lr, replay, and copy the step's outputs (loss,
//   norm, scale, skip flag) out of the graph's memory before the next replay overwrites them.
//
// What it refuses (check_cuda_graph, exit 2 before anything is written): a device that is
// not CUDA, an optimizer that is not fused, loader.drop_last = false (the partial last batch
// would change the captured shapes), a grad_accum that does not divide the epoch's batches,
// and data-parallel jobs (c10d's Reducer does host work inside backward). Evaluation is not
// graphed: it runs once per epoch, without the backward and optimizer launches that dominate
// the training step, and the test split's last batch is partial.
#pragma once
#include <memory>
#include <vector>

#include "config/config.h"
#include "data/loader.h"
#include "model/registry.h"
#include "task/task.h"
#include "train/step.h"

namespace kiln::train {

struct Components;

// Throws Error::usage (naming the key and what to change) when cfg.train.cuda_graph is set and
// `c` cannot be captured; no-op otherwise.
void check_cuda_graph(const config::RunConfig& cfg, const Components& c);

class GraphStep {
 public:
  // `opts` as for train::step (its stop flag is not read: a graphed step has no all-reduce).
  GraphStep(model::Net& net, torch::optim::Optimizer& opt, const task::Task& task, const StepOptions& opts);
  ~GraphStep();
  GraphStep(const GraphStep&) = delete;
  GraphStep& operator=(const GraphStep&) = delete;

  // One optimizer step over `micro` at learning rate `lr`: captures on the first call,
  // replays after. Every call's batches must have the first call's shapes and dtypes.
  StepStats run(const std::vector<data::Batch>& micro, double lr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::train
