// profile::run: `kiln profile` as a library call. It trains `cfg` for warmup + steps steps
// with the training loop itself (train::run) in a scratch run dir, with a profiling window
// over the last `steps`, and returns the summary (the --json object).
#pragma once
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "dist/world.h"

namespace kiln::profile {

struct ProfileOptions {
  int64_t warmup = 10;            // steps before the window (allocator, cuDNN autotuning and caches settle)
  int64_t steps = 50;             // steps in the window
  std::filesystem::path out_dir;  // profile.json, trace.json [, torch_trace.json]
  bool torch_trace = false;
  bool nvtx_ops = false;
  std::string command_line;
  const std::atomic<int>* stop = nullptr;
  bool console = true;
  // A data-parallel job (dist::from_env()): rank 0 profiles (its window, its --out); the other
  // ranks train alongside and return {"rank": r}.
  dist::World world;
};

// Checks options before anything runs (Error::usage: steps < 1, warmup < 0, an --out that
// cannot be written).
void check_options(const ProfileOptions& opts);

nlohmann::json run(const config::RunConfig& cfg, const ProfileOptions& opts);

}  // namespace kiln::profile
