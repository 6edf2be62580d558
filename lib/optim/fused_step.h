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
  // Whether step_scaled with found_inf gives exactly the update a step skipped on the host
  // would (fused SGD: not with dampening > 0, whose first momentum buffer differs).
  virtual bool takes_found_inf() const { return true; }

  // For a step captured in a CUDA graph (train.cuda_graph), where the host never sees the
  // replays: every later step reads the learning rate from `lr` (float32, one element, on
  // the parameters' device; the caller fills it before each replay; a float32 lr, as CUDA's
  // kernels read it, so an lr that is no float32 number rounds) instead of the options,
  // and state the kernel advances on the device (AdamW's step counts) is read back from the
  // device whenever the host needs it (save).
  virtual void use_device_lr(const at::Tensor& lr) { lr_ = lr; }

  // Creates every parameter's initial state now, as the first step would (zeros; AdamW's
  // step 0), so that a captured step is never the one that allocates it. The first update is
  // bit for bit the same (fused SGD's zeroed momentum buffer: 0 * momentum + grad = grad).
  virtual void init_state() = 0;

 protected:
  at::Tensor lr_;  // use_device_lr's; undefined: the options' lr

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
