// Optimizer construction.
#include "optim/optimizer.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "config/config.h"
#include "optim/fused_adamw.h"
#include "optim/fused_sgd.h"
#include "util/error.h"

namespace kiln::optim {

bool fused_available(const std::string& name, c10::DeviceType type) {
  const char* op = name == "adamw" ? "aten::_fused_adamw_" : name == "sgd" ? "aten::_fused_sgd_" : nullptr;
  if (op == nullptr) return false;
  c10::DispatchKey key;
  switch (type) {
    case c10::DeviceType::CPU:
      key = c10::DispatchKey::CPU;
      break;
    case c10::DeviceType::CUDA:
      key = c10::DispatchKey::CUDA;
      break;
    default:
      return false;
  }
  const auto handle = c10::Dispatcher::singleton().findSchema({op, ""});
  return handle.has_value() && handle->hasKernelForDispatchKey(key);
}

bool use_fused(const config::OptimConfig& cfg, c10::Device device) {
  if (cfg.fused == "false") return false;
  const bool available = fused_available(cfg.name, device.type());
  if (cfg.fused == "true") {
    if (!available) {
      throw Error::usage("optim.fused = true but this LibTorch has no fused " + cfg.name + " kernel for " +
                             device.str() + " parameters",
                         "use optim.fused = \"auto\" or false");
    }
    return true;
  }
  if (cfg.fused != "auto") {
    throw Error::usage("optim.fused must be \"auto\", true or false, got '" + cfg.fused + "'");
  }
  // auto: fused wherever ATen has the kernel. Measured faster on the CPU for every model
  // tried (AdamW 2.9-4.4x, SGD 1.2-3.5x the per-parameter step, docs/benchmarks.md, "Fused
  // optimizers"); on CUDA it replaces a few launches per parameter with a handful per step.
  return available;
}

std::unique_ptr<torch::optim::Optimizer> build(const config::OptimConfig& cfg, std::vector<at::Tensor> params) {
  if (cfg.name != "sgd" && cfg.name != "adamw") {
    throw Error::usage("unknown optimizer '" + cfg.name + "' (optim.name)", "use adamw or sgd");
  }
  const c10::Device device = params.empty() ? c10::Device(c10::kCPU) : params.front().device();
  const bool fused = use_fused(cfg, device);
  if (cfg.name == "sgd") {
    auto o =
        torch::optim::SGDOptions(cfg.lr).momentum(cfg.momentum).nesterov(cfg.nesterov).weight_decay(cfg.weight_decay);
    if (fused) return std::make_unique<FusedSGD>(std::move(params), o);
    return std::make_unique<torch::optim::SGD>(std::move(params), o);
  }
  auto o = torch::optim::AdamWOptions(cfg.lr)
               .betas(std::make_tuple(cfg.beta1, cfg.beta2))
               .eps(cfg.eps)
               .weight_decay(cfg.weight_decay);
  if (fused) return std::make_unique<FusedAdamW>(std::move(params), o);
  return std::make_unique<torch::optim::AdamW>(std::move(params), o);
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& group : opt.param_groups()) group.options().set_lr(lr);
}

}  // namespace kiln::optim
