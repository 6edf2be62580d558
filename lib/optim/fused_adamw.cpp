// FusedAdamW over at::_fused_adamw_.
#include "optim/fused_adamw.h"

#include <ATen/ops/_foreach_add.h>
#include <ATen/ops/_fused_adamw.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros_like.h>
#include <torch/serialize/archive.h>

#include <cmath>
#include <memory>
#include <tuple>
#include <vector>

#include "optim/fused_detail.h"

namespace kiln::optim {

using torch::optim::AdamWOptions;
using torch::optim::AdamWParamState;

at::Tensor FusedAdamW::step(LossClosure closure) { return closure_step(closure); }

at::Tensor& FusedAdamW::device_step(const at::Tensor& p, const AdamWParamState& s, bool advance) {
  DeviceStep& d = steps_[p.unsafeGetTensorImpl()];
  // Rebuilt when missing or when the host count moved without it (load, or a hand-edited
  // state); after a found_inf step the device count is the right one and stays.
  if (!d.t.defined() || d.t.device() != p.device() || (!steps_on_device_ && d.host != s.step())) {
    d.t = at::full({}, static_cast<double>(s.step()), at::TensorOptions().dtype(at::kFloat).device(p.device()));
  }
  d.host = s.step() + (advance ? 1 : 0);
  return d.t;
}

AdamWParamState& FusedAdamW::state_of(const at::Tensor& p, bool amsgrad) {
  auto& slot = state_[p.unsafeGetTensorImpl()];
  if (!slot) {  // AdamW's initial state
    auto s = std::make_unique<AdamWParamState>();
    s->step(0);
    s->exp_avg(at::zeros_like(p, at::MemoryFormat::Preserve));
    s->exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Preserve));
    slot = std::move(s);
  }
  auto& s = static_cast<AdamWParamState&>(*slot);
  if (amsgrad && !s.max_exp_avg_sq().defined()) s.max_exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Preserve));
  return s;
}

void FusedAdamW::init_state() {
  at::NoGradGuard no_grad;
  for (auto& group : param_groups_) {
    const bool amsgrad = static_cast<AdamWOptions&>(group.options()).amsgrad();
    for (const at::Tensor& p : group.params()) {
      if (p.requires_grad()) device_step(p, state_of(p, amsgrad), /*advance=*/false);
    }
  }
}

void FusedAdamW::use_device_lr(const at::Tensor& lr) {
  FusedStep::use_device_lr(lr);
  graphed_ = true;
  steps_on_device_ = true;
}

void FusedAdamW::step_scaled(const GradScaling& scaling) {
  at::NoGradGuard no_grad;
  for (auto& group : param_groups_) {
    auto& o = static_cast<AdamWOptions&>(group.options());
    std::vector<detail::Bucket> buckets;  // a: exp_avg, b: exp_avg_sq, c: max_exp_avg_sq
    for (const at::Tensor& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& s = state_of(p, o.amsgrad());
      detail::Bucket& b = detail::bucket_for(buckets, p);
      detail::add_param(b, p, "AdamW");
      b.a.push_back(detail::state_like(s.exp_avg(), p));
      b.b.push_back(detail::state_like(s.exp_avg_sq(), p));
      if (o.amsgrad()) b.c.push_back(detail::state_like(s.max_exp_avg_sq(), p));
      b.steps.push_back(device_step(p, s));
      s.step(s.step() + 1);
    }
    const auto [beta1, beta2] = o.betas();
    for (detail::Bucket& b : buckets) {
      // The kernel takes the step count of this update: the caller advances it first.
      at::_foreach_add_(b.steps, 1);
      const auto grad_scale = detail::on_device(scaling.grad_scale, b.device);
      const auto found_inf = detail::on_device(scaling.found_inf, b.device);
      if (lr_.defined()) {
        at::_fused_adamw_(b.params, b.grads, b.a, b.b, b.c, b.steps, detail::lr_on(lr_, b.device), beta1, beta2,
                          o.weight_decay(), o.eps(), o.amsgrad(), /*maximize=*/false, grad_scale, found_inf);
      } else {
        at::_fused_adamw_(b.params, b.grads, b.a, b.b, b.c, b.steps, o.lr(), beta1, beta2, o.weight_decay(), o.eps(),
                          o.amsgrad(), /*maximize=*/false, grad_scale, found_inf);
      }
      if (found_inf) {
        // A skipped update is no step: take back the increment where found_inf is 1.
        at::_foreach_add_(b.steps, found_inf->reshape({}), -1);
        steps_on_device_ = true;
      }
      if (grad_scale) detail::write_back_copies(b);
    }
  }
}

void FusedAdamW::sync_steps() {
  if (!steps_on_device_) return;
  for (auto& [key, d] : steps_) {
    auto it = state_.find(key);
    if (it == state_.end() || !d.t.defined()) continue;
    auto& s = static_cast<AdamWParamState&>(*it->second);
    s.step(static_cast<int64_t>(std::llround(d.t.item<double>())));
    d.host = s.step();
  }
  steps_on_device_ = graphed_;  // replays advance the device counts unseen: read them every time
}

void FusedAdamW::save(torch::serialize::OutputArchive& archive) const {
  // Logically const: the step counts keep their values, only their host copies catch up.
  const_cast<FusedAdamW*>(this)->sync_steps();
  torch::optim::AdamW::save(archive);
}

void FusedAdamW::load(torch::serialize::InputArchive& archive) {
  torch::optim::AdamW::load(archive);
  steps_.clear();
  steps_on_device_ = graphed_;
}

}  // namespace kiln::optim
