// FusedStep: what kiln's fused optimizers (fused_adamw.h, fused_sgd.h) add to
// torch::optim::Optimizer: a step that takes a gradient scaler's tensors, so a GradScaler
// can hand them to ATen's fused kernel instead of unscaling and checking the gradients itself.
#pragma once
#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>

#include <functional>
#include <optional>

namespace kiln::optim {

struct GradScaling {
  // Float32 with one element, on the parameters' device (copied to another device's group
  // when the parameters span devices). The kernel first divides the gradients by it, in
  // place, so afterwards they hold the unscaled values.
  std::optional<at::Tensor> grad_scale;
  // Float32 with one element: 1 = a gradient was inf/nan, the kernel leaves parameters and
  // state untouched (and the step count does not advance); 0 = update as usual. Read on
  // the device, so the step never waits for it.
  std::optional<at::Tensor> found_inf;
};

// A fused optimizer: one ATen kernel per (device, dtype) group of parameters instead of a
// few small ones per parameter. Reach it with dynamic_cast from torch::optim::Optimizer.
class FusedStep {
 public:
  virtual ~FusedStep() = default;
  // One update of every parameter that has a gradient; step() is step_scaled({}).
  virtual void step_scaled(const GradScaling& scaling) = 0;

 protected:
  // torch::optim::Optimizer::step's contract for both: the closure (if any) with grad mode
  // on, then step_scaled({}); returns the closure's loss.
  at::Tensor closure_step(const std::function<at::Tensor()>& closure) {
    at::Tensor loss;
    if (closure != nullptr) {
      at::AutoGradMode enable_grad(true);
      loss = closure();
    }
    step_scaled({});
    return loss;
  }
};

}  // namespace kiln::optim
