// The one training step that train, profile and sweep all run.
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/optim/optimizer.h>

#include <atomic>
#include <vector>

#include "data/loader.h"
#include "dist/grad_sync.h"
#include "dist/group.h"
#include "model/registry.h"
#include "task/task.h"
#include "train/grad_scaler.h"
#include "train/precision.h"

namespace kiln::train {

struct StepOptions {
  double grad_clip = 0.0;       // max global L2 norm of the gradients; 0 = off
  bool skip_nonfinite = false;  // train.on_nonfinite = "skip": no update when the loss or a gradient is nan/inf
  Precision precision = Precision::kFp32;  // train.precision: autocast over forward and loss
  GradScaler* scaler = nullptr;            // fp16: scales the loss, unscales the gradients, skips inf steps
  // A data-parallel job: the last micro-batch's backward averages the gradients over the
  // ranks, and the step's loss and sample count are the job's (the mean, the sum).
  dist::GradSync* sync = nullptr;
  dist::Group* group = nullptr;
  // The stop flag (a signal number once set), agreed among the ranks in the same all-reduce
  // as the loss: StepStats::stop_signal.
  const std::atomic<int>* stop = nullptr;
  // A fused optimizer (optim.fused) takes the skip decision of fp16's scaler and of
  // train.on_nonfinite = "skip" as a device tensor (found_inf), so the step never waits for
  // the device. false: the host reads it and skips the update itself (what an unfused
  // optimizer always does; the weights are the same either way, step_test.cpp).
  bool skip_on_device = true;
  // A CUDA graph's warm-up (graph_step.h): every kernel of the step runs, but the fused
  // optimizer gets found_inf = 1, so weights and optimizer state stay as they were.
  bool dry_run = false;
};

struct StepStats {
  at::Tensor loss;       // scalar, detached, on the device: mean training loss over the step's samples
  at::Tensor grad_norm;  // scalar on the device (pre-clip global norm), undefined when clipping is off
  int64_t samples = 0;   // the job's: every rank's (the same number on each)
  // The update was skipped (skip_nonfinite and a nan/inf loss or gradient, or fp16's scaler
  // found an inf/nan gradient: the scale backs off). Decided on the host (`skipped`) or, with
  // a fused optimizer, on the device: `skip_flag`, a float32 scalar, 1 = skipped, which
  // StepLog reads when it writes the record (with the loss, not every step).
  bool skipped = false;
  at::Tensor skip_flag;
  at::Tensor loss_scale;  // fp16: the scale this step's backward used (device scalar); undefined otherwise
  // A data-parallel job: the stop signal any rank had when its step reached the all-reduce
  // (SIGTERM over SIGINT), 0 for none; every rank gets the same.
  int stop_signal = 0;
};

// One optimizer step over `micro` (grad_accum micro-batches, at least one). Nothing in it
// waits for the device, so the host can run ahead of the GPU.
// The loss is the task's (classification: cross-entropy).
StepStats step(model::Net& net, torch::optim::Optimizer& opt, const task::Task& task,
               const std::vector<data::Batch>& micro, const StepOptions& opts);

// True when every element of every defined tensor is finite (one host sync).
bool all_finite(const std::vector<at::Tensor>& tensors);

// The same on the device, no sync: a float32 scalar on the first tensor's device, 1 when
// some element of some defined tensor is nan/inf, else 0 (the found_inf of fused kernels).
at::Tensor nonfinite_flag(const std::vector<at::Tensor>& tensors);

// Scales all gradients so their global L2 norm is at most max_norm; returns the norm before
// clipping as a device scalar (no host sync, unlike torch::nn::utils::clip_grad_norm_).
at::Tensor clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm);

}  // namespace kiln::train
