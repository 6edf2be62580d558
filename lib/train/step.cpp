// train::step: the numbered phases of one optimizer step.
#include "train/step.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/logical_not.h>
#include <ATen/ops/maximum.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/tensor.h>

#include <csignal>

#include "instrument/scope.h"
#include "optim/fused_step.h"
#include "util/error.h"

namespace kiln::train {

bool all_finite(const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> flags;
  for (const auto& t : tensors) {
    if (t.defined()) flags.push_back(at::isfinite(t.detach()).all());
  }
  return flags.empty() || at::stack(flags).all().item<bool>();
}

at::Tensor nonfinite_flag(const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> flags;
  for (const auto& t : tensors) {
    if (t.defined()) flags.push_back(at::isfinite(t.detach()).all().to(tensors.front().device()));
  }
  return at::logical_not(at::stack(flags).all()).to(at::kFloat);
}

at::Tensor clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm) {
  std::vector<at::Tensor> norms;
  for (const auto& p : params) {
    if (p.grad().defined()) norms.push_back(p.grad().detach().norm(2).to(at::kFloat));
  }
  if (norms.empty()) return at::zeros({}, at::kFloat);
  auto total = at::stack(norms).norm(2);
  // coef = min(1, max_norm / (total + 1e-6)), applied on the device.
  auto coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
  for (const auto& p : params) {
    if (p.grad().defined()) p.grad().detach().mul_(coef.to(p.grad().dtype()));
  }
  return total;
}

StepStats step(model::Net& net, torch::optim::Optimizer& opt, const task::Task& task,
               const std::vector<data::Batch>& micro, const StepOptions& opts) {
  StepStats stats;
  for (const auto& b : micro) stats.samples += b.target.size(0);

  // 1. Clear gradients (set to none: no memset kernels).
  {
    KILN_SCOPE(instrument::Phase::kOptimizer);
    opt.zero_grad(true);
  }

  // 2-3. Forward and backward per micro-batch. Each loss is weighted by its share of the
  //      step's samples, so the accumulated gradient is that of the mean over all samples.
  at::Tensor total_loss;
  for (size_t i = 0; i < micro.size(); ++i) {
    const data::Batch& b = micro[i];
    const bool sync = i + 1 == micro.size();  // data-parallel: average once, after the last
    if (opts.sync) opts.sync->before_forward(sync);
    at::Tensor loss;
    {
      KILN_SCOPE(instrument::Phase::kForward);
      // Autocast covers forward and loss only; backward replays the forward's dtypes. The
      // loss leaves in fp32 (LibTorch's losses are on its fp32 list; .to is a no-op then).
      const Autocast autocast(opts.precision, b.input.device().type());
      loss = task.loss(net.forward(b.input), b.target).to(at::kFloat);
    }
    const double weight = double(b.target.size(0)) / double(stats.samples);
    {
      KILN_SCOPE(instrument::Phase::kBackward);
      if (opts.sync) opts.sync->before_backward(sync);
      // fp16: the scaled loss, so that small gradients survive fp16's range.
      (opts.scaler ? opts.scaler->scale(loss * weight) : loss * weight).backward();
    }
    auto l = loss.detach() * weight;
    total_loss = total_loss.defined() ? total_loss + l : l;
  }
  stats.loss = total_loss;
  if (opts.group) {
    // One small all-reduce: the job's loss (the mean of the ranks' equal-sized shares, what
    // one process with the global batch would log, up to the order of the sums) and how many
    // ranks have a SIGINT / SIGTERM pending, so that all stop after the same step.
    KILN_SCOPE(instrument::Phase::kComm);
    const int sig = opts.stop ? opts.stop->load() : 0;
    const at::Tensor flags =
        at::tensor({double(sig == SIGINT), double(sig == SIGTERM)}, at::TensorOptions().dtype(at::kDouble))
            .to(total_loss.device());
    std::vector<at::Tensor> l = {at::cat({total_loss.to(at::kDouble).reshape({1}), flags})};
    opts.group->allreduce_sum(l);
    stats.loss = (l[0][0] / double(opts.group->size())).to(at::kFloat);
    const at::Tensor counts = l[0].narrow(0, 1, 2).cpu();
    stats.stop_signal = counts[1].item<double>() > 0 ? SIGTERM : counts[0].item<double>() > 0 ? SIGINT : 0;
    stats.samples *= opts.group->size();
  }

  // 4-5. Clip the global gradient norm; update the parameters.
  KILN_SCOPE(instrument::Phase::kOptimizer);
  auto* fused = dynamic_cast<optim::FusedStep*>(&opt);
  if (opts.dry_run && !(fused && fused->takes_found_inf())) {
    throw Error::runtime("internal error: a dry-run step needs a fused optimizer that takes found_inf");
  }
  if ((opts.scaler || opts.skip_nonfinite || opts.dry_run) && fused && fused->takes_found_inf() &&
      opts.skip_on_device) {
    // The same decisions as below, taken on the device: the fused kernel reads found_inf
    // and leaves weights and state alone where it is 1.
    at::Tensor found_inf;
    if (opts.scaler) {
      stats.loss_scale = opts.scaler->scale_now();
      found_inf = opts.scaler->unscale(net.parameters());
      opts.scaler->update(found_inf);
    }
    if (opts.skip_nonfinite) {
      std::vector<at::Tensor> check = {stats.loss};
      for (const auto& p : net.parameters()) check.push_back(p.grad());
      const at::Tensor bad = nonfinite_flag(check).to(stats.loss.device());
      found_inf = found_inf.defined() ? at::maximum(found_inf, bad.to(found_inf.device())) : bad;
    }
    if (opts.dry_run) found_inf = at::ones({}, stats.loss.options());
    // Clipping a skipped step's inf gradients gives nan: harmless, nothing reads them.
    if (opts.grad_clip > 0) stats.grad_norm = clip_grad_norm(net.parameters(), opts.grad_clip);
    fused->step_scaled({std::nullopt, found_inf.defined() ? std::optional<at::Tensor>(found_inf) : std::nullopt});
    stats.skip_flag = found_inf;
    return stats;
  }
  if (opts.scaler) {
    // Unscaled before anything reads the gradients (the finiteness check, clipping). An
    // inf/nan gradient skips the update and backs the scale off: fp16 overflow, not divergence.
    stats.loss_scale = opts.scaler->scale_now();
    const at::Tensor found_inf = opts.scaler->unscale(net.parameters());
    const bool skip = GradScaler::should_skip(found_inf);
    opts.scaler->update(found_inf);
    if (skip) {
      opt.zero_grad(true);
      stats.skipped = true;
      return stats;
    }
  }
  if (opts.skip_nonfinite) {
    // Checked before clipping (which would turn an inf gradient into nan). The step still
    // counts: the LR schedule and the data order go on as in any other run.
    std::vector<at::Tensor> check = {stats.loss};
    for (const auto& p : net.parameters()) check.push_back(p.grad());
    if (!all_finite(check)) {
      opt.zero_grad(true);
      stats.skipped = true;
      return stats;
    }
  }
  if (opts.grad_clip > 0) stats.grad_norm = clip_grad_norm(net.parameters(), opts.grad_clip);
  opt.step();
  return stats;
}

}  // namespace kiln::train
