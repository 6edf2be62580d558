// Dataset: the seam between data sources and the loader. A dataset declares what one sample
// holds (SampleSpec: the input's and the target's dtype and shape) and copies samples out;
// `read` must be safe to call from many threads. ImageDataset is the common case: uint8
// images [C, H, W] with one int64 class label, which the loader normalises and augments.
#pragma once
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kiln::config {
struct DataConfig;
}

namespace kiln::data {

// A dense per-sample tensor: dtype and shape without the batch dimension ({} = a scalar).
struct TensorSpec {
  c10::ScalarType dtype = c10::ScalarType::Byte;
  std::vector<int64_t> shape;
  int64_t numel() const;
  size_t bytes() const;  // numel() * the dtype's size
};

// "uint8 [1, 28, 28]", for messages.
std::string describe(const TensorSpec& t);
// numpy's name of a dtype ("uint8", "int64", "float32"), which users know from their files.
std::string dtype_name(c10::ScalarType t);

struct ImageShape {
  int64_t channels = 1, height = 0, width = 0;
  int64_t numel() const { return channels * height * width; }
};

struct SampleSpec {
  TensorSpec input, target;
  int64_t num_classes = 0;  // class-label targets: labels lie in [0, num_classes); 0 otherwise
  // The classes' names by label, where the data names them (an image folder's subfolders);
  // null otherwise. Shared, so copying a spec per batch costs no allocation.
  std::shared_ptr<const std::vector<std::string>> class_names;
  // uint8 [C, H, W] inputs are images: the loader normalises them per channel (data.mean,
  // data.std) to float32 and may augment them; any other input reaches the model as read.
  bool is_image() const;
  ImageShape image() const;  // the [C, H, W] of an image input
};

// Which draw a sample is read for: the loader's seed and the epoch. A dataset whose samples
// are random (an image folder's random crops) keys its draws on (seed, epoch, index), as the
// loader's augmentation does, so a sample never depends on the thread that reads it.
struct SampleKey {
  uint64_t seed = 0;
  int64_t epoch = 0;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual SampleSpec spec() const = 0;
  // Copies sample `index`'s input (spec().input.bytes() bytes) to `input` and its target
  // (spec().target.bytes()) to `target`, both suitably aligned for their dtypes.
  // Thread-safe: called concurrently by loader workers.
  virtual void read(int64_t index, void* input, void* target) const = 0;
  // The loader's call: the same, for a sample that may depend on `key`. Most datasets do not.
  virtual void read_keyed(int64_t index, const SampleKey& key, void* input, void* target) const {
    read(index, input, target);
  }
  // True when read_keyed already draws each sample at random from (seed, epoch, index) (token
  // windows at Philox offsets): the loader then reads indices in order and keeps no shuffled
  // array of size() entries (10^8 windows of a 20 GB shard would be 800 MB of it).
  virtual bool draws_own_order() const { return false; }
  // A short fingerprint of the underlying files/content (for the run manifest).
  virtual std::string fingerprint() const { return ""; }
  // How the dataset turns its files into samples where that is learned from the data (a
  // table's standardisation statistics and categories), as a JSON object's text; "" when
  // nothing is. Saved in the run dir (preprocessing.json) and in every checkpoint.
  virtual std::string preprocessing() const { return ""; }
  // Files the dataset left out as unreadable (an image folder with data.on_bad_image =
  // "skip"), each as "path: why", for the run dir's skipped.txt.
  virtual std::vector<std::string> skipped() const { return {}; }
};

// uint8 images [C, H, W] with one int64 class label each (Fashion-MNIST, image folders).
class ImageDataset : public Dataset {
 public:
  virtual ImageShape shape() const = 0;
  virtual int64_t num_classes() const = 0;
  // Copies sample `index`'s pixels (shape().numel() bytes) to `pixels`; returns its label.
  virtual int64_t read_image(int64_t index, uint8_t* pixels) const = 0;

  SampleSpec spec() const final;
  void read(int64_t index, void* input, void* target) const final {
    *static_cast<int64_t*>(target) = read_image(index, static_cast<uint8_t*>(input));
  }
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
// an unknown name (with a suggestion), bad files, or splits whose samples differ in spec.
Splits load_splits(const config::DataConfig& cfg);

// A view on the first `n` samples of `base`.
DatasetPtr take_first(DatasetPtr base, int64_t n);

}  // namespace kiln::data
