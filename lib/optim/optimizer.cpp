// Optimizer construction.
#include "optim/optimizer.h"

#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "config/config.h"
#include "util/error.h"

namespace kiln::optim {

std::unique_ptr<torch::optim::Optimizer> build(const config::OptimConfig& cfg, std::vector<at::Tensor> params) {
  if (cfg.name == "sgd") {
    auto o =
        torch::optim::SGDOptions(cfg.lr).momentum(cfg.momentum).nesterov(cfg.nesterov).weight_decay(cfg.weight_decay);
    return std::make_unique<torch::optim::SGD>(std::move(params), o);
  }
  if (cfg.name == "adamw") {
    auto o = torch::optim::AdamWOptions(cfg.lr)
                 .betas(std::make_tuple(cfg.beta1, cfg.beta2))
                 .eps(cfg.eps)
                 .weight_decay(cfg.weight_decay);
    return std::make_unique<torch::optim::AdamW>(std::move(params), o);
  }
  throw Error::usage("unknown optimizer '" + cfg.name + "' (optim.name)", "use adamw or sgd");
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& group : opt.param_groups()) group.options().set_lr(lr);
}

}  // namespace kiln::optim
