// The loader benchmark behind `kiln bench loader`: throughput of finished batches for a
// config, with and without augmentation, against a plain memcpy of the same output bytes
// (the ceiling), and on CUDA the host-to-device bandwidth against a plain pinned copy.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "config/config.h"

namespace kiln::data {

struct LoaderBenchOptions {
  int64_t epochs = 3;    // measured epochs per variant (after one warm-up epoch)
  bool progress = true;  // a line per variant on stderr
};

// Runs the benchmark on the train split of `cfg` on `device` ("cpu", "cuda:0") and returns
// the figures as JSON: samples_per_s, mb_per_s, the no-augmentation variant, the memcpy
// ceiling and the loader's share of it, and on CUDA h2d_gbps vs plain_h2d_gbps.
nlohmann::json bench_loader(const config::RunConfig& cfg, const std::string& device, const LoaderBenchOptions& opts);

}  // namespace kiln::data
