// kiln bench optim.
#include "train/optim_bench.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "data/dataset.h"
#include "instrument/device_timer.h"
#include "model/registry.h"
#include "optim/optimizer.h"
#include "repro/repro.h"
#include "task/task.h"
#include "train/trainer.h"

namespace kiln::train {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Fresh copies of `net_params` with fixed random gradients, so every measurement starts
// from the same weights and state.
std::vector<at::Tensor> fresh_params(const std::vector<at::Tensor>& net_params) {
  at::manual_seed(7);
  std::vector<at::Tensor> ps;
  for (const auto& p : net_params) {
    at::Tensor q = p.detach().clone().requires_grad_(true);
    q.mutable_grad() = at::randn_like(q).mul_(1e-2);
    ps.push_back(q);
  }
  return ps;
}

// Milliseconds per step of `steps` steps, after a warm-up.
double time_steps(const config::OptimConfig& ocfg, const std::vector<at::Tensor>& net_params, int64_t steps, int cuda) {
  const std::vector<at::Tensor> ps = fresh_params(net_params);
  auto opt = optim::build(ocfg, ps);
  auto run = [&](int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      optim::set_lr(*opt, ocfg.lr * (1.0 - 1e-4 * double(i % 100)));
      opt->step();
    }
    if (cuda >= 0) instrument::cuda_synchronize(cuda);
  };
  run(20);
  const auto t0 = std::chrono::steady_clock::now();
  run(steps);
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(t1 - t0).count() / double(steps);
}

}  // namespace

nlohmann::json bench_optimizer(const config::RunConfig& cfg, const std::string& device, const OptimBenchOptions& opts) {
  if (cfg.train.threads > 0) at::set_num_threads(static_cast<int>(cfg.train.threads));
  // The model's parameters as build_components makes them (the data only for its shapes).
  config::DataConfig data_cfg = cfg.data;
  data_cfg.task = cfg.train.task;
  const data::Splits splits = data::load_splits(data_cfg);
  const auto task = task::build(cfg);
  const data::SampleSpec spec = splits.train->spec();
  task->check(spec, cfg.data.dataset);
  repro::seed_torch(cfg.repro.seed, "model_init");
  auto net = model::build(cfg.model, model::InputSpec{spec.input.shape, task->outputs(spec)});
  net->to(c10::Device(device));
  const std::vector<at::Tensor> params = net->parameters();
  int64_t numel = 0;
  for (const auto& p : params) numel += p.numel();
  const int cuda = instrument::cuda_index(device);

  nlohmann::json out = {{"device", device},        {"threads", at::get_num_threads()},
                        {"model", cfg.model.name}, {"tensors", params.size()},
                        {"parameters", numel},     {"steps", opts.steps},
                        {"repeats", opts.repeats}};
  for (const char* name : {"adamw", "sgd"}) {
    config::OptimConfig ocfg = cfg.optim;
    ocfg.name = name;
    std::vector<double> unfused, fused;
    for (int64_t r = 0; r < opts.repeats; ++r) {  // interleaved, so drift hits both alike
      ocfg.fused = "false";
      unfused.push_back(time_steps(ocfg, params, opts.steps, cuda));
      ocfg.fused = "true";
      fused.push_back(time_steps(ocfg, params, opts.steps, cuda));
    }
    const double u = median(unfused), f = median(fused);
    out[name] = {
        {"unfused_ms", u}, {"fused_ms", f}, {"speedup", u / f}, {"unfused_ms_all", unfused}, {"fused_ms_all", fused}};
    if (opts.progress) {
      std::cerr << name << ": unfused " << u << " ms/step, fused " << f << " ms/step (" << u / f << "x)\n";
    }
  }
  return out;
}

}  // namespace kiln::train
