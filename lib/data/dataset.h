// Dataset: the seam between data sources and the loader. A dataset holds uint8 images
// (C x H x W, row-major) and int64 labels; `read` must be safe to call from many threads.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kiln::config {
struct DataConfig;
}

namespace kiln::data {

struct ImageShape {
  int64_t channels = 1, height = 0, width = 0;
  int64_t numel() const { return channels * height * width; }
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual ImageShape shape() const = 0;
  virtual int64_t num_classes() const = 0;
  // Copies sample `index`'s pixels (shape().numel() bytes) to `pixels`; returns its label.
  // Thread-safe: called concurrently by loader workers.
  virtual int64_t read(int64_t index, uint8_t* pixels) const = 0;
  // A short fingerprint of the underlying files/content (for the run manifest).
  virtual std::string fingerprint() const { return ""; }
};

using DatasetPtr = std::shared_ptr<const Dataset>;

struct Splits {
  DatasetPtr train, test;
};

// Builds the train/test splits of a dataset from its config section.
using DatasetFactory = std::function<Splits(const config::DataConfig&)>;

// Registers a dataset under `name` (used by data.dataset). Returns true so it can
// initialise a static in the registering file.
bool register_dataset(const std::string& name, DatasetFactory factory);
std::vector<std::string> dataset_names();

// Builds data.dataset's splits, applying limit_train/limit_test. Throws Error::usage for
// an unknown name (with a suggestion) or bad files.
Splits load_splits(const config::DataConfig& cfg);

// A view on the first `n` samples of `base`.
DatasetPtr take_first(DatasetPtr base, int64_t n);

}  // namespace kiln::data
