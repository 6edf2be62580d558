// `kiln bench sampler`: the sweep's own overhead per trial (ask + tell through the study
// file, native TPE) as the study grows, on a synthetic objective (no training).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::sweep {

// Runs `trials` trials of a 4-parameter space (log float, float, int, categorical) with
// `sampler` ("tpe" or "random") in a temporary journal; reports the mean ask + tell
// milliseconds over the 10 trials before each of `points` (e.g. 100, 1000).
nlohmann::json bench_sampler(int trials, const std::vector<int>& points, const std::string& sampler, uint64_t seed);

}  // namespace kiln::sweep
