// Loader: turns a Dataset into batches on the training device. This is the seam the
// training loop uses; the multithreaded pinned-memory loader implements the same interface.
//
// Determinism contract: which samples form batch k of epoch e depends only on
// (seed, epoch, dataset size, batch options): see epoch_order().
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <optional>
#include <vector>

#include "data/dataset.h"

namespace kiln::data {

struct Batch {
  at::Tensor images;  // float32 [B, C, H, W], normalised, on the training device
  at::Tensor labels;  // int64 [B], on the training device
  int64_t epoch = 0;
  int64_t index = 0;      // batch number within the epoch
  double wait_ms = 0.0;   // how long next() blocked the caller for this batch
};

struct LoaderOptions {
  int64_t batch_size = 128;
  bool shuffle = true;
  bool drop_last = false;
  int64_t threads = 0;
  int64_t prefetch = 4;
  uint64_t seed = 0;           // the loader's stream seed (derived from the run seed)
  std::vector<double> mean = {0.0}, std = {1.0};
  c10::Device device = c10::Device(c10::kCPU);
};

class Loader {
 public:
  virtual ~Loader() = default;
  virtual int64_t batches_per_epoch() const = 0;
  // Starts producing the batches of `epoch`, beginning at batch `first_batch` (resume).
  virtual void start(int64_t epoch, int64_t first_batch = 0) = 0;
  // The next batch of the current epoch, or nullopt at its end.
  virtual std::optional<Batch> next() = 0;
};

// The sample indices of `epoch` in order: a Philox-driven Fisher-Yates shuffle keyed by
// (seed, epoch), or 0..n-1 when !shuffle.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle);

int64_t batches_per_epoch(int64_t n, int64_t batch_size, bool drop_last);

// Builds the samples [order[first], order[first + count]) into a batch on opts.device.
Batch collate(const Dataset& ds, const std::vector<int64_t>& order, int64_t first, int64_t count,
              const LoaderOptions& opts);

// The in-order loader: builds each batch on the calling thread.
std::unique_ptr<Loader> make_simple_loader(DatasetPtr ds, const LoaderOptions& opts);

}  // namespace kiln::data
