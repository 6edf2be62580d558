// Optimizers from [optim]: SGD (momentum, Nesterov, weight decay) and AdamW, either
// LibTorch's per-parameter implementations or the fused ones over ATen's kernels
// (fused_adamw.h, fused_sgd.h; optim.fused); the lr is set every step from the schedule
// (schedule.h).
#pragma once
#include <c10/core/Device.h>
#include <torch/optim/optimizer.h>

#include <memory>
#include <string>
#include <vector>

namespace kiln::config {
struct OptimConfig;
}

namespace kiln::optim {

// The optimizer for `params`, fused or not as use_fused decides for their device (the
// first parameter's; kiln's nets sit on one device). Exit 2 for an unknown name or
// optim.fused = true where no fused kernel exists.
std::unique_ptr<torch::optim::Optimizer> build(const config::OptimConfig& cfg, std::vector<at::Tensor> params);

// True when this LibTorch has a fused kernel for optimizer `name` (adamw | sgd) on devices
// of `type` (ATen registers _fused_adamw_ and _fused_sgd_ for CPU and CUDA).
bool fused_available(const std::string& name, c10::DeviceType type);

// optim.fused resolved for parameters on `device`: "true" = fused (exit 2 where
// unavailable), "false" = LibTorch's, "auto" = fused wherever the kernel exists (CPU and
// CUDA; measured faster on the CPU, docs/benchmarks.md, "Fused optimizers").
bool use_fused(const config::OptimConfig& cfg, c10::Device device);

// Sets the lr of every param group.
void set_lr(torch::optim::Optimizer& opt, double lr);

}  // namespace kiln::optim
