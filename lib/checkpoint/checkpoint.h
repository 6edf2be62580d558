// Checkpoints: model, optimizer, training counters (the loader's position among them) and
// every RNG state in one LibTorch archive, written atomically (temp file, fsync, rename).
// A sidecar `<file>.sha256`, written after the archive, marks it complete: a checkpoint
// without one, or whose bytes no longer match it, is never loaded.
#pragma once
#include <torch/optim/optimizer.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "model/registry.h"

namespace kiln::checkpoint {

struct TrainState {
  int64_t step = 0;        // optimizer steps done
  int64_t epoch = 0;       // epoch in progress (or next to start)
  int64_t next_batch = 0;  // first batch of `epoch` not yet trained on
  // The classes' names by label, where the data names them (empty otherwise): a checkpoint
  // says what its outputs mean, and a resume can tell that the folder's classes changed.
  std::vector<std::string> classes;
  // The dataset's preprocessing (Dataset::preprocessing(): a table's standardisation), JSON
  // text; empty where there is none. A model on tables is useless without it.
  std::string preprocessing;
};

// What layers above add to a checkpoint's top level (train's GradScaler: its scale), written
// after and read after everything else; empty: nothing.
using WriteExtra = std::function<void(torch::serialize::OutputArchive&)>;
using ReadExtra = std::function<void(torch::serialize::InputArchive&)>;

// Saves net, optimizer, state and the RNG states to `path` (+ `path`.sha256).
void save(const std::filesystem::path& path, model::Net& net, torch::optim::Optimizer& opt, const TrainState& state,
          const WriteExtra& extra = {});

// Checks `path` against its sidecar, then loads into an already built model and optimizer of
// the same shape and restores the RNG states. Throws Error::usage naming the file when the
// checkpoint is incomplete, corrupt or does not fit the model.
TrainState load(const std::filesystem::path& path, model::Net& net, torch::optim::Optimizer& opt,
                const ReadExtra& extra = {});

// Loads only the model's weights (no optimizer, no RNG states): for using a trained model.
void load_weights(const std::filesystem::path& path, model::Net& net);

// Throws Error::usage naming `path` unless it is complete and its bytes match its sidecar.
void verify(const std::filesystem::path& path);

// Removes a checkpoint and its sidecar.
void remove(const std::filesystem::path& path);

}  // namespace kiln::checkpoint
