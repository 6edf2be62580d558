// Epoch order, collation and the simple in-order loader.
#include "data/loader.h"

#include <chrono>
#include <numeric>

#include "config/config.h"
#include "data/layout.h"
#include "repro/rng.h"
#include "util/error.h"

namespace kiln::data {

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (!shuffle) return order;
  for (int64_t i = n - 1; i > 0; --i) {
    const uint64_t bits = repro::philox_u64(seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(i), 1);
    const auto j = static_cast<int64_t>(repro::bounded(bits, static_cast<uint64_t>(i + 1)));
    std::swap(order[i], order[j]);
  }
  return order;
}

int64_t batches_per_epoch(int64_t n, int64_t batch_size, bool drop_last) {
  return drop_last ? n / batch_size : (n + batch_size - 1) / batch_size;
}

namespace {
// The positions [lo, hi) of a part of a split of n.
std::pair<int64_t, int64_t> part_range(int64_t n, const LoaderOptions& o) {
  return {n * o.part / o.parts, n * (o.part + 1) / o.parts};
}
}  // namespace

int64_t batches_per_epoch(int64_t n, const LoaderOptions& opts) {
  if (opts.shards > 1) return n / (opts.batch_size * opts.shards);
  if (opts.parts > 1) {
    const auto [lo, hi] = part_range(n, opts);
    return batches_per_epoch(hi - lo, opts.batch_size, opts.drop_last);
  }
  return batches_per_epoch(n, opts.batch_size, opts.drop_last);
}

BatchSpan batch_span(int64_t k, int64_t n, const LoaderOptions& opts) {
  if (opts.shards > 1) return {(k * opts.shards + opts.shard) * opts.batch_size, opts.batch_size};
  if (opts.parts > 1) {
    const auto [lo, hi] = part_range(n, opts);
    const int64_t first = lo + k * opts.batch_size;
    return {first, std::min(opts.batch_size, hi - first)};
  }
  const int64_t first = k * opts.batch_size;
  return {first, std::min(opts.batch_size, n - first)};
}

at::ScalarType host_input_dtype(const SampleSpec& spec, bool device_normalize) {
  if (!spec.is_image()) return spec.input.dtype;
  return device_normalize ? at::kByte : at::kFloat;
}

void check_options(const SampleSpec& spec, const LoaderOptions& opts) {
  if (!spec.is_image() && opts.augment.enabled()) {
    throw Error::usage(
        "augment.crop_padding/augment.hflip work on images, but the dataset's inputs are " + describe(spec.input),
        "set augment.crop_padding = 0 and augment.hflip = false");
  }
  // One normalisation per channel: with fewer, the channels past them would be left unwritten.
  if (spec.is_image() &&
      (opts.mean.size() != static_cast<size_t>(spec.image().channels) || opts.std.size() != opts.mean.size())) {
    throw Error::usage("the images have " + std::to_string(spec.image().channels) +
                           " channel(s) but data.mean/data.std give " + std::to_string(opts.mean.size()) + "/" +
                           std::to_string(opts.std.size()),
                       "give one data.mean and one data.std entry per channel");
  }
}

std::vector<int64_t> batch_shape(int64_t rows, const TensorSpec& t) {
  std::vector<int64_t> sizes = {rows};
  sizes.insert(sizes.end(), t.shape.begin(), t.shape.end());
  return sizes;
}

std::vector<int64_t> loader_order(const Dataset& ds, uint64_t seed, int64_t epoch, bool shuffle) {
  if (!shuffle || ds.draws_own_order()) return {};
  return epoch_order(ds.size(), seed, epoch, true);
}

void fill_batch(const Dataset& ds, const std::vector<int64_t>& order, int64_t first, int64_t count, int64_t epoch,
                const LoaderOptions& opts, const std::vector<float>& lut, at::Tensor& input, at::Tensor& target) {
  // An empty order is 0, 1, 2, ... (no array for a dataset of 10^8 windows).
  auto sample = [&](int64_t i) { return order.empty() ? first + i : order[static_cast<size_t>(first + i)]; };
  const SampleSpec spec = ds.spec();
  const SampleKey key{opts.seed, epoch};
  auto* tgt = static_cast<char*>(target.data_ptr());
  const size_t tb = spec.target.bytes();
  if (!spec.is_image()) {
    auto* in = static_cast<char*>(input.data_ptr());
    const size_t ib = spec.input.bytes();
    for (int64_t i = 0; i < count; ++i) ds.read_keyed(sample(i), key, in + i * ib, tgt + i * tb);
    return;
  }
  const ImageShape s = spec.image();
  const int64_t n = s.numel();
  const bool as_float = input.scalar_type() == at::kFloat;
  // Samples are read into a scratch buffer first unless they can go straight to the output.
  thread_local std::vector<uint8_t> scratch;
  scratch.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t index = sample(i);
    const AugmentDraw d = draw_augment(opts.augment, opts.seed, epoch, index);
    if (as_float) {
      ds.read_keyed(index, key, scratch.data(), tgt + i * tb);
      augment_f32(scratch.data(), s, opts.augment, d, lut.data(), input.data_ptr<float>() + i * n);
    } else if (opts.augment.enabled()) {
      ds.read_keyed(index, key, scratch.data(), tgt + i * tb);
      augment_u8(scratch.data(), s, opts.augment, d, input.data_ptr<uint8_t>() + i * n);
    } else {
      ds.read_keyed(index, key, input.data_ptr<uint8_t>() + i * n, tgt + i * tb);
    }
  }
}

Batch collate(const Dataset& ds, const std::vector<int64_t>& order, int64_t first, int64_t count,
              const LoaderOptions& opts, int64_t epoch) {
  const SampleSpec spec = ds.spec();
  check_options(spec, opts);
  auto input = at::empty(batch_shape(count, spec.input), host_input_dtype(spec, false));
  auto target = at::empty(batch_shape(count, spec.target), spec.target.dtype);
  fill_batch(ds, order, first, count, epoch, opts, normalize_lut(opts.mean, opts.std), input, target);
  Batch b;
  b.input = in_layout(input.to(opts.device), opts);
  b.target = target.to(opts.device);
  return b;
}

at::Tensor in_layout(const at::Tensor& input, const LoaderOptions& opts) {
  return opts.channels_last ? channels_last(input) : input;
}

LoaderOptions loader_options(const config::RunConfig& cfg, const std::string& device, bool train) {
  LoaderOptions o;
  o.batch_size = train ? cfg.loader.batch_size : cfg.loader.eval_batch_size;
  o.shuffle = train && cfg.loader.shuffle;
  o.drop_last = train && cfg.loader.drop_last;
  o.threads = cfg.loader.threads;
  o.prefetch = cfg.loader.prefetch;
  o.seed = repro::derive_seed(cfg.repro.seed, "loader");
  o.mean = cfg.data.mean;
  o.std = cfg.data.std;
  o.gpu_normalize = cfg.loader.gpu_normalize;
  o.channels_last = cfg.model.channels_last;
  if (train) o.augment = {cfg.augment.crop_padding, cfg.augment.hflip};
  o.device = c10::Device(device);
  return o;
}

namespace {

class SimpleLoader : public Loader {
 public:
  SimpleLoader(DatasetPtr ds, LoaderOptions opts) : ds_(std::move(ds)), opts_(std::move(opts)) {}

  int64_t batches_per_epoch() const override { return data::batches_per_epoch(ds_->size(), opts_); }

  void start(int64_t epoch, int64_t first_batch) override {
    epoch_ = epoch;
    next_ = first_batch;
    order_ = loader_order(*ds_, opts_.seed, epoch, opts_.shuffle);
  }

  std::optional<Batch> next() override {
    if (next_ >= batches_per_epoch()) return std::nullopt;
    const auto t0 = std::chrono::steady_clock::now();
    const BatchSpan span = batch_span(next_, ds_->size(), opts_);
    Batch b = collate(*ds_, order_, span.first, span.count, opts_, epoch_);
    b.epoch = epoch_;
    b.index = next_++;
    b.wait_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return b;
  }

 private:
  DatasetPtr ds_;
  LoaderOptions opts_;
  std::vector<int64_t> order_;
  int64_t epoch_ = 0, next_ = 0;
};

}  // namespace

std::unique_ptr<Loader> make_simple_loader(DatasetPtr ds, const LoaderOptions& opts) {
  return std::make_unique<SimpleLoader>(std::move(ds), opts);
}

}  // namespace kiln::data
