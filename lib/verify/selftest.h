// kiln verify --selftest: is "same seed, same weights" true on this machine? Short runs of
// each config in fresh processes (the way a user reruns a command), with the loader's thread
// count varied between them, compared bit for bit: weights SHA-256 and every step's loss.
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::verify {

struct SelftestConfig {
  std::string name;    // shown in the report, e.g. "default" or a file name
  std::string toml;    // the config text
  int64_t steps = 30;  // train.max_steps of each run
};

struct SelftestOptions {
  std::vector<SelftestConfig> configs;  // empty: the shipped configs (shipped_configs())
  int processes = 4;                    // fresh `kiln train` processes per config (>= 2)
  int64_t steps = 0;                    // > 0: train.max_steps of every run, instead of each config's own
  std::vector<std::string> sets;        // extra --set overrides for every run (e.g. data.limit_train=...)
  std::filesystem::path exe;            // the kiln binary to run (empty: this process's own)
  bool progress = true;                 // a line per run on stderr
};

// The configs shipped in configs/ (built into the binary): default.toml for 120 steps (its
// MLP steps are cheap), the others for 30.
std::vector<SelftestConfig> shipped_configs();

// Runs the self-test and returns {"match": bool, "configs": [{"name", "steps", "runs":
// [{"loader_threads", "weights_sha256"}], "match", "first_divergent_step" (or null),
// "losses_at_divergence"}], "environment": {...}}. A run that fails to finish is a runtime
// error (exit 1) with its last error line.
nlohmann::json selftest(const SelftestOptions& opts);

// The first step at which any run's loss differs from (or is missing against) the first
// run's; -1 when all agree. Each map is step -> loss.
int64_t first_divergent_step(const std::vector<std::map<int64_t, double>>& runs);

}  // namespace kiln::verify
