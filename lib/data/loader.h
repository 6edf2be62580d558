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

#include "data/augment.h"
#include "data/copy_ring.h"
#include "data/dataset.h"

namespace kiln::config {
struct RunConfig;
}

namespace kiln::data {

// Shapes and dtypes are the dataset's SampleSpec with a batch dimension in front, except that
// image inputs (uint8 [C, H, W]) arrive normalised as float32 [B, C, H, W].
struct Batch {
  at::Tensor input;   // on the training device
  at::Tensor target;  // on the training device (class labels: int64 [B])
  int64_t epoch = 0;
  int64_t index = 0;      // batch number within the epoch
  double wait_ms = 0.0;   // how long next() blocked the caller for this batch
  double copy_ms = -1.0;  // CUDA: device time of the newest finished host-to-device copy (-1: none yet / CPU)
};

struct LoaderOptions {
  int64_t batch_size = 128;
  bool shuffle = true;
  bool drop_last = false;
  int64_t threads = 0;
  int64_t prefetch = 4;
  uint64_t seed = 0;  // the loader's stream seed (derived from the run seed)
  std::vector<double> mean = {0.0}, std = {1.0};
  AugmentOptions augment;      // applied per sample, keyed on (seed, epoch, sample index)
  bool gpu_normalize = true;   // CUDA: send uint8 over PCIe and normalise on the GPU (4x fewer bytes)
  bool channels_last = false;  // model.channels_last: image batches [B, C, H, W] laid out NHWC in memory
  c10::Device device = c10::Device(c10::kCPU);
  // A data-parallel job's training loader (dist::World): global batch k is batch_size x
  // shards samples of the one epoch order and this rank takes slice number `shard` of it.
  int64_t shard = 0, shards = 1;
  // A data-parallel job's evaluation loader: this rank reads its contiguous share of the split,
  // positions [n x part / parts, n x (part + 1) / parts), in batches of batch_size.
  int64_t part = 0, parts = 1;
};

class Loader {
 public:
  virtual ~Loader() = default;
  virtual int64_t batches_per_epoch() const = 0;
  // Starts producing the batches of `epoch`, beginning at batch `first_batch` (resume).
  virtual void start(int64_t epoch, int64_t first_batch = 0) = 0;
  // The next batch of the current epoch, or nullopt at its end.
  virtual std::optional<Batch> next() = 0;
  // The host-to-device copies finished so far (CUDA); zeros when nothing is copied.
  virtual CopyTotals copy_totals() { return {}; }
};

// Loader options from a run's config: the training split (`train`: batch size, shuffling,
// augmentation) or the evaluation split (eval batch size, in order, no augmentation).
LoaderOptions loader_options(const config::RunConfig& cfg, const std::string& device, bool train);

// The sample indices of `epoch` in order: a Philox-driven Fisher-Yates shuffle keyed by
// (seed, epoch), or 0..n-1 when !shuffle.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle);

// What the loaders read `epoch` in: epoch_order() when shuffling a dataset that does not draw
// its own samples at random (Dataset::draws_own_order), else empty, meaning 0, 1, 2, ...
std::vector<int64_t> loader_order(const Dataset& ds, uint64_t seed, int64_t epoch, bool shuffle);

int64_t batches_per_epoch(int64_t n, int64_t batch_size, bool drop_last);

// Batch k of an epoch as positions [first, first + count) of its order. Sharded (shards > 1),
// global batch k is the positions [k x B x shards, (k + 1) x B x shards) and this shard's are
// B of them from shard x B on; a last partial global batch is left out (every rank steps with
// B samples, so the job computes what one process with batch B x shards and drop_last does).
struct BatchSpan {
  int64_t first = 0, count = 0;
};
BatchSpan batch_span(int64_t k, int64_t n, const LoaderOptions& opts);
// Batches of an epoch of n samples under opts (batch size, drop_last, shards).
int64_t batches_per_epoch(int64_t n, const LoaderOptions& opts);

// The host dtype of a batch's input: float32 for images normalised on the host, uint8 for
// images normalised on the device (`device_normalize`), else the dataset's own.
at::ScalarType host_input_dtype(const SampleSpec& spec, bool device_normalize);

// `input` as the model takes it: with opts.channels_last, a 4-D batch in channels-last memory
// format (same shape and values, NHWC strides: data::channels_last, which also restrides C = 1).
at::Tensor in_layout(const at::Tensor& input, const LoaderOptions& opts);

// [rows, t.shape...]: a batch of `rows` samples of `t`.
std::vector<int64_t> batch_shape(int64_t rows, const TensorSpec& t);

// Refuses options that need image inputs (augmentation) for a dataset without them, and a
// data.mean/data.std without one entry per image channel.
void check_options(const SampleSpec& spec, const LoaderOptions& opts);

// Fills host tensors `input` ([>= count, ...], of host_input_dtype; images normalised
// through `lut` when float32) and `target` ([>= count, ...]) with samples
// order[first .. first + count) of `epoch` (an empty order: first .. first + count), images augmented. The one place a batch's
// content is decided: both loaders call it.
void fill_batch(const Dataset& ds, const std::vector<int64_t>& order, int64_t first, int64_t count, int64_t epoch,
                const LoaderOptions& opts, const std::vector<float>& lut, at::Tensor& input, at::Tensor& target);

// Builds the samples [order[first], order[first + count]) of `epoch` into a batch on opts.device
// (images normalised on the host).
Batch collate(const Dataset& ds, const std::vector<int64_t>& order, int64_t first, int64_t count,
              const LoaderOptions& opts, int64_t epoch = 0);

// The in-order loader: builds each batch on the calling thread. The reference the threaded
// loader is tested against.
std::unique_ptr<Loader> make_simple_loader(DatasetPtr ds, const LoaderOptions& opts);

// The loader kiln trains with: opts.threads worker threads (0 = the machine's cores) build up
// to opts.prefetch batches ahead into a ring of host buffers (pinned on CUDA, where copies run
// on a dedicated stream). Batches are byte-identical to make_simple_loader's for any thread count.
std::unique_ptr<Loader> make_loader(DatasetPtr ds, const LoaderOptions& opts);

}  // namespace kiln::data
