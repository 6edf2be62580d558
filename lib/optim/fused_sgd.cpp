// FusedSGD over at::_fused_sgd_.
#include "optim/fused_sgd.h"

#include <ATen/ops/_fused_sgd.h>
#include <ATen/ops/zeros_like.h>

#include <memory>
#include <vector>

#include "optim/fused_detail.h"

namespace kiln::optim {

using torch::optim::SGDOptions;
using torch::optim::SGDParamState;

at::Tensor FusedSGD::step(LossClosure closure) { return closure_step(closure); }

bool FusedSGD::takes_found_inf() const {
  for (const auto& group : param_groups_) {
    const auto& o = static_cast<const SGDOptions&>(group.options());
    if (o.momentum() != 0 && o.dampening() != 0) return false;
  }
  return true;
}

void FusedSGD::init_state() {
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const SGDOptions&>(group.options());
    if (o.momentum() == 0) continue;
    TORCH_CHECK(o.dampening() == 0, "fused SGD: a zeroed momentum buffer starts differently with dampening > 0");
    for (const at::Tensor& p : group.params()) {
      auto& slot = state_[p.unsafeGetTensorImpl()];
      if (!slot && p.requires_grad()) {
        auto s = std::make_unique<SGDParamState>();
        s->momentum_buffer(at::zeros_like(p, at::MemoryFormat::Preserve));
        slot = std::move(s);
      }
    }
  }
}

void FusedSGD::step_scaled(const GradScaling& scaling) {
  at::NoGradGuard no_grad;
  for (auto& group : param_groups_) {
    auto& o = static_cast<SGDOptions&>(group.options());
    const bool momentum = o.momentum() != 0;
    // tag 1: parameters whose momentum buffer this step creates (is_first_step); a: buffers.
    std::vector<detail::Bucket> buckets;
    for (const at::Tensor& p : group.params()) {
      if (!p.grad().defined()) continue;
      int first = 0;
      at::Tensor* buf = nullptr;
      if (momentum) {
        auto& slot = state_[p.unsafeGetTensorImpl()];
        if (!slot) {
          TORCH_CHECK(!scaling.found_inf || o.dampening() == 0,
                      "fused SGD: found_inf with dampening > 0 cannot start a momentum buffer exactly");
          auto s = std::make_unique<SGDParamState>();
          s->momentum_buffer(at::zeros_like(p, at::MemoryFormat::Preserve));
          slot = std::move(s);
          first = 1;
        }
        buf = &static_cast<SGDParamState&>(*slot).momentum_buffer();
      }
      detail::Bucket& b = detail::bucket_for(buckets, p, first);
      detail::add_param(b, p, "SGD");
      if (buf != nullptr) b.a.push_back(detail::state_like(*buf, p));
    }
    for (detail::Bucket& b : buckets) {
      const auto grad_scale = detail::on_device(scaling.grad_scale, b.device);
      const auto found_inf = detail::on_device(scaling.found_inf, b.device);
      if (lr_.defined()) {
        at::_fused_sgd_(b.params, b.grads, b.a, o.weight_decay(), o.momentum(), detail::lr_on(lr_, b.device),
                        o.dampening(), o.nesterov(), /*maximize=*/false, /*is_first_step=*/b.tag == 1, grad_scale,
                        found_inf);
      } else {
        at::_fused_sgd_(b.params, b.grads, b.a, o.weight_decay(), o.momentum(), o.lr(), o.dampening(), o.nesterov(),
                        /*maximize=*/false, /*is_first_step=*/b.tag == 1, grad_scale, found_inf);
      }
      if (grad_scale) detail::write_back_copies(b);
    }
  }
}

}  // namespace kiln::optim
