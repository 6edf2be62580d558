// The optimizer benchmark behind `kiln bench optim`: milliseconds per optimizer step alone
// (set_lr + step, as the trainer calls them), LibTorch's optimizer against the fused one
// (optim.fused = false / true), for AdamW and SGD on the parameters of a config's model,
// with fixed random gradients. No forward, backward or data: the part optim.fused changes.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "config/config.h"

namespace kiln::train {

struct OptimBenchOptions {
  int64_t steps = 200;   // timed steps per measurement (after 20 warm-up steps)
  int64_t repeats = 7;   // measurements per variant, interleaved; the median is reported
  bool progress = true;  // a line per optimizer on stderr
};

// Runs it on `device` ("cpu", "cuda:0") with cfg's model and optim settings (name aside:
// both optimizers run) and returns the figures as JSON: the parameter count, and per
// optimizer unfused_ms, fused_ms (medians) and speedup.
nlohmann::json bench_optimizer(const config::RunConfig& cfg, const std::string& device, const OptimBenchOptions& opts);

}  // namespace kiln::train
