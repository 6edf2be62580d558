// Optimizers from [optim]: SGD (momentum, Nesterov, weight decay) and AdamW, on LibTorch's
// implementations; the lr is set every step from the schedule (schedule.h).
#pragma once
#include <torch/optim/optimizer.h>

#include <memory>
#include <vector>

namespace kiln::config {
struct OptimConfig;
}

namespace kiln::optim {

std::unique_ptr<torch::optim::Optimizer> build(const config::OptimConfig& cfg, std::vector<at::Tensor> params);

// Sets the lr of every param group.
void set_lr(torch::optim::Optimizer& opt, double lr);

}  // namespace kiln::optim
