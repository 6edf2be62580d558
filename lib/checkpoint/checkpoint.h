// Checkpoints: model, optimizer and training counters in one LibTorch archive, written
// atomically (temp file, fsync, rename) so a crash never leaves a half-written file.
#pragma once
#include <torch/optim/optimizer.h>

#include <filesystem>

#include "model/registry.h"

namespace kiln::checkpoint {

struct TrainState {
  int64_t step = 0;        // optimizer steps done
  int64_t epoch = 0;       // epoch in progress (or next to start)
  int64_t next_batch = 0;  // first batch of `epoch` not yet trained on
};

void save(const std::filesystem::path& path, model::Net& net, torch::optim::Optimizer& opt, const TrainState& state);

// Loads into an already built model and optimizer of the same shape.
TrainState load(const std::filesystem::path& path, model::Net& net, torch::optim::Optimizer& opt);

}  // namespace kiln::checkpoint
