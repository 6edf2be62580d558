// GradScaler: dynamic loss scaling for fp16 mixed precision, with torch.amp.GradScaler's
// semantics. fp16 gradients of small losses underflow to zero; multiplying the loss by a large
// scale S before backward() keeps them representable, and dividing the gradients by S before
// the optimizer step gives the true gradients back. S is adjusted as training goes: halved
// (backoff) whenever a scaled gradient overflowed to inf/nan, that step being skipped, and
// doubled (growth) after growth_interval consecutive good steps.
//
// One step, none of it waiting for the device:
//   scaler.scale(loss).backward();                        // grads = S * true grads
//   at::Tensor found_inf = scaler.unscale(params);        // grads = true grads; 1.0 if any was inf/nan
//   if (!GradScaler::should_skip(found_inf)) opt.step();  // the one host sync, the caller's choice
//   scaler.update(found_inf);                             // S and the growth tracker, on the device
// Gradient clipping, if any, goes between unscale() and opt.step(), on the true gradients.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

namespace torch::serialize {
class InputArchive;
class OutputArchive;
}  // namespace torch::serialize

namespace kiln::train {

struct GradScalerOptions {
  double init_scale = 65536.0;     // S at the start (2^16); > 0
  double growth_factor = 2.0;      // S *= this after growth_interval good steps in a row; > 1
  double backoff_factor = 0.5;     // S *= this on a step with an inf/nan gradient; in (0, 1)
  int64_t growth_interval = 2000;  // good steps in a row before S grows; >= 1, fits int32
  bool enabled = true;             // false: every call is a no-op (fp32 / bf16 runs)
};

// What a checkpoint needs to resume the scaling exactly.
struct GradScalerState {
  double scale = 1.0;          // S: a float32 value, held exactly by the double
  int64_t growth_tracker = 0;  // good steps in a row since S last changed, in [0, growth_interval)
};

class GradScaler {
 public:
  // Bad options throw kiln::Error::usage. The state lives on `device` (that of the loss and
  // of most gradients): float32 and int32 scalars (shape {}), so nothing syncs with the host.
  GradScaler(const GradScalerOptions& options, c10::Device device);

  bool enabled() const { return options_.enabled; }
  const GradScalerOptions& options() const { return options_; }

  // loss * S, by ordinary type promotion with the 0-dim float32 S: a scalar (0-dim) fp16 or
  // bf16 loss gives a float32 product, a loss with dimensions keeps its dtype. Overflow in
  // backward() shows as inf/nan gradients, which the next unscale() reports. Disabled: loss.
  at::Tensor scale(const at::Tensor& loss) const;

  // Divides each parameter's defined .grad() by S in place (dense gradients of floating
  // dtypes, on any devices: grouped by device and dtype for ATen's fused kernel) and returns
  // found_inf: a float32 scalar on the scaler's device, 1.0 when any gradient held an inf or a
  // nan before unscaling, else 0.0. At most once between two update()s (a second call would
  // divide by S twice): throws kiln::Error::runtime (an internal error) otherwise.
  // Disabled: touches nothing and returns an undefined tensor (nothing was checked; a caller
  // that must catch non-finite gradients then checks them itself, as train::all_finite does).
  at::Tensor unscale(const std::vector<at::Tensor>& params);

  // Whether the optimizer step must be skipped: found_inf (from unscale()) is 1. One host
  // sync (.item()); false for an undefined found_inf. A caller that would rather not wait can
  // keep found_inf on the device and mask the update itself.
  static bool should_skip(const at::Tensor& found_inf);

  // Ends the step: on found_inf == 1, S *= backoff_factor and the tracker resets; otherwise
  // the tracker counts one more good step, and on reaching growth_interval S *= growth_factor
  // (unless that overflows float32) and it resets. found_inf must be defined (throws
  // kiln::Error::runtime otherwise); it need not come from unscale() (a caller's own check
  // works too). Allows the next unscale(). Disabled: no-op.
  void update(const at::Tensor& found_inf);

  // S as a number, for logs and metrics (a host sync). Disabled: 1.0.
  double current_scale() const;
  // S as of now, a copy on the device (no sync): what a step's metrics record, read later.
  // Disabled: undefined.
  at::Tensor scale_now() const { return enabled() ? scale_.clone() : at::Tensor(); }

  // For checkpoints (host syncs). Disabled: {1.0, 0}; load_state is then a no-op.
  // load_state throws kiln::Error::usage on values no scaler with these options could hold
  // (S not a positive finite float32, the tracker outside [0, growth_interval)).
  GradScalerState state() const;
  void load_state(const GradScalerState& s);

 private:
  GradScalerOptions options_;
  c10::Device device_;
  at::Tensor scale_;           // float32, shape {}, on device_: S
  at::Tensor growth_tracker_;  // int32, shape {}, on device_
  bool unscaled_ = false;      // unscale() ran since the last update()
};

// Checkpoint keys: "<prefix>_scale" (double) and "<prefix>_growth_tracker" (int), at the
// archive's top level as checkpoint.cpp writes its counters. A disabled scaler writes nothing.
void save(torch::serialize::OutputArchive& archive, const GradScaler& scaler,
          const std::string& prefix = "grad_scaler");
// Restores what save() wrote; true when it did. False, reading nothing into the scaler, when
// the archive has neither key (a checkpoint from before the scaler, or of a run without it:
// the scaler keeps its init_scale) or when the scaler is disabled. One key without the other,
// or a value of the wrong type, throws kiln::Error::usage.
bool load(torch::serialize::InputArchive& archive, GradScaler& scaler, const std::string& prefix = "grad_scaler");

}  // namespace kiln::train
