// FusedAdamW: torch::optim::AdamW whose step is one at::_fused_adamw_ call per param group
// and (device, dtype), instead of the nine small kernels per parameter of LibTorch's.
//
// It is an AdamW in every other respect: the same options, the same AdamWParamState (step,
// exp_avg, exp_avg_sq, max_exp_avg_sq with amsgrad) and AdamW's save/load, so a checkpoint
// written by one loads into the other and training continues where it stopped. The update
// is the same formula (decoupled weight decay, bias corrections in double from the step
// count); the kernel evaluates it in another order, so results agree with AdamW's to a few
// ulp per step rather than bit for bit (fused_test.cpp states the bound).
//
// The kernel reads each parameter's step count from a float32 tensor on the parameter's
// device. FusedAdamW keeps one per parameter beside the state (rebuilt from
// AdamWParamState::step whenever the two disagree, e.g. after load()) and advances both.
// With found_inf the device decides whether the step counts, so the host copies lag until
// sync_steps(), which save() calls.
#pragma once
#include <torch/optim/adamw.h>

#include <unordered_map>

#include "optim/fused_step.h"

namespace kiln::optim {

class FusedAdamW : public torch::optim::AdamW, public FusedStep {
 public:
  using torch::optim::AdamW::AdamW;

  // Runs the closure (if any) with grad mode on, then step_scaled({}).
  at::Tensor step(LossClosure closure = nullptr) override;
  void step_scaled(const GradScaling& scaling) override;
  void init_state() override;
  void use_device_lr(const at::Tensor& lr) override;

  // AdamW's archive; save first brings the step counts up to date (sync_steps).
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

  // Copies the device step counts into AdamWParamState::step: needed only after a
  // step_scaled with found_inf (one host sync per parameter; checkpoints are rare).
  void sync_steps();

 private:
  struct DeviceStep {
    at::Tensor t;       // float32 scalar on the parameter's device: the kernel's step count
    int64_t host = -1;  // AdamWParamState::step when t was last in step with it
  };
  // p's state, created (AdamW's initial state) if it has none.
  torch::optim::AdamWParamState& state_of(const at::Tensor& p, bool amsgrad);
  // p's device step count (made from s.step() when stale); `advance`: the caller is about
  // to count one more step on the host too.
  at::Tensor& device_step(const at::Tensor& p, const torch::optim::AdamWParamState& s, bool advance = true);

  std::unordered_map<void*, DeviceStep> steps_;
  bool steps_on_device_ = false;  // a found_inf step ran: t, not the host count, is right
  bool graphed_ = false;          // use_device_lr: replays advance t, so t is always right
};

}  // namespace kiln::optim
