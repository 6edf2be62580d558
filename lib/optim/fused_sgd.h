// FusedSGD: torch::optim::SGD whose step is one at::_fused_sgd_ call per param group and
// (device, dtype), instead of LibTorch's three to five small kernels per parameter.
//
// An SGD in every other respect: the same options (momentum, dampening, Nesterov, L2
// weight decay), the same SGDParamState (momentum_buffer, created on a parameter's first
// step with momentum) and SGD's save/load, so checkpoints load into either. The kernel's
// is_first_step starts a buffer at the gradient, as SGD's clone does; new buffers are
// zeroed first, so a first step that found_inf skips leaves a buffer the next step treats
// exactly like a first one (with dampening 0, kiln's; dampening > 0 and found_inf is
// refused).
#pragma once
#include <torch/optim/sgd.h>

#include "optim/fused_step.h"

namespace kiln::optim {

class FusedSGD : public torch::optim::SGD, public FusedStep {
 public:
  using torch::optim::SGD::SGD;

  // Runs the closure (if any) with grad mode on, then step_scaled({}).
  at::Tensor step(LossClosure closure = nullptr) override;
  void step_scaled(const GradScaling& scaling) override;
  bool takes_found_inf() const override;
  void init_state() override;
};

}  // namespace kiln::optim
