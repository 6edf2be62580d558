// Unit tests for data/loader.h: epoch_order is a seeded permutation; the simple loader
// covers every sample exactly once per epoch, batches and normalises as documented, and a
// resumed epoch (start at batch k) yields exactly the tail of an uninterrupted one.
#include <ATen/ops/cat.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "data/dataset.h"
#include "data/layout.h"
#include "data/loader.h"
#include "util/error.h"

namespace kiln::data {
namespace {

// Sample i: C x 2 x 3 pixels, pixel (c, k) = (i + 7 * k + 50 * c) % 256; label i.
// The label encodes the index, and so does every pixel.
class IndexedDataset : public ImageDataset {
 public:
  IndexedDataset(int64_t n, int64_t channels) : n_(n), c_(channels) {}
  int64_t size() const override { return n_; }
  ImageShape shape() const override { return ImageShape{c_, 2, 3}; }
  int64_t num_classes() const override { return n_; }
  int64_t read_image(int64_t index, uint8_t* pixels) const override {
    for (int64_t c = 0; c < c_; ++c) {
      for (int64_t k = 0; k < 6; ++k) pixels[c * 6 + k] = pixel(index, c, k);
    }
    return index;
  }
  static uint8_t pixel(int64_t index, int64_t c, int64_t k) {
    return static_cast<uint8_t>((index + 7 * k + 50 * c) % 256);
  }

 private:
  int64_t n_, c_;
};

LoaderOptions options(int64_t batch_size, bool shuffle, bool drop_last, uint64_t seed = 5) {
  LoaderOptions o;
  o.batch_size = batch_size;
  o.shuffle = shuffle;
  o.drop_last = drop_last;
  o.seed = seed;
  o.threads = 1;
  return o;
}

std::vector<Batch> whole_epoch(Loader& loader, int64_t epoch, int64_t first_batch = 0) {
  loader.start(epoch, first_batch);
  std::vector<Batch> out;
  while (auto b = loader.next()) {
    out.push_back(std::move(*b));
    if (out.size() > 10000) break;  // a loader that never ends
  }
  return out;
}

std::vector<int64_t> labels_of(const std::vector<Batch>& batches) {
  std::vector<int64_t> out;
  for (const auto& b : batches) {
    const auto l = b.target.contiguous();
    out.insert(out.end(), l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel());
  }
  return out;
}

// ---- epoch_order ----------------------------------------------------------------------

TEST(LoaderOrder, IsAPermutation) {
  for (int64_t n : {0, 1, 2, 3, 10, 257, 1000}) {
    auto order = epoch_order(n, 123, 4, true);
    ASSERT_EQ(static_cast<int64_t>(order.size()), n);
    std::sort(order.begin(), order.end());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(order[size_t(i)], i) << "n=" << n;
  }
}

TEST(LoaderOrder, SameSeedAndEpochGiveSameOrder) {
  EXPECT_EQ(epoch_order(500, 9, 2, true), epoch_order(500, 9, 2, true));
}

TEST(LoaderOrder, DiffersAcrossEpochsAndSeeds) {
  const auto base = epoch_order(500, 9, 2, true);
  EXPECT_NE(base, epoch_order(500, 9, 3, true));
  EXPECT_NE(base, epoch_order(500, 10, 2, true));
  EXPECT_NE(epoch_order(500, 9, 0, true), epoch_order(500, 9, 1, true));
  // It really shuffles: not the identity.
  std::vector<int64_t> identity(500);
  for (int64_t i = 0; i < 500; ++i) identity[size_t(i)] = i;
  EXPECT_NE(base, identity);
}

TEST(LoaderOrder, IdentityWithoutShuffle) {
  const auto order = epoch_order(37, 9, 2, false);
  for (int64_t i = 0; i < 37; ++i) EXPECT_EQ(order[size_t(i)], i);
  EXPECT_EQ(order, epoch_order(37, 1234, 99, false));
}

TEST(LoaderOrder, EveryPositionIsReachable) {
  // Across many epochs, index 0 lands in every position of a small order (a biased
  // shuffle, e.g. one that never moves an element, would leave positions unvisited).
  std::set<size_t> positions;
  for (int64_t e = 0; e < 200; ++e) {
    const auto order = epoch_order(5, 77, e, true);
    positions.insert(size_t(std::find(order.begin(), order.end(), 0) - order.begin()));
  }
  EXPECT_EQ(positions.size(), 5u);
}

TEST(LoaderOrder, BatchesPerEpoch) {
  EXPECT_EQ(batches_per_epoch(10, 4, false), 3);
  EXPECT_EQ(batches_per_epoch(10, 4, true), 2);
  EXPECT_EQ(batches_per_epoch(8, 4, false), 2);
  EXPECT_EQ(batches_per_epoch(8, 4, true), 2);
  EXPECT_EQ(batches_per_epoch(3, 4, false), 1);
  EXPECT_EQ(batches_per_epoch(3, 4, true), 0);
  EXPECT_EQ(batches_per_epoch(0, 4, false), 0);
  EXPECT_EQ(batches_per_epoch(60000, 128, false), 469);
  EXPECT_EQ(batches_per_epoch(60000, 128, true), 468);
}

// ---- simple loader --------------------------------------------------------------------

TEST(LoaderSimple, EverySampleOnceAndLastBatchSmaller) {
  auto ds = std::make_shared<const IndexedDataset>(10, 1);
  auto loader = make_simple_loader(ds, options(4, true, false));
  EXPECT_EQ(loader->batches_per_epoch(), 3);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    const auto batches = whole_epoch(*loader, epoch);
    ASSERT_EQ(batches.size(), 3u);
    EXPECT_EQ(batches[0].target.size(0), 4);
    EXPECT_EQ(batches[1].target.size(0), 4);
    EXPECT_EQ(batches[2].target.size(0), 2);
    EXPECT_EQ(batches[2].input.size(0), 2);
    for (size_t k = 0; k < batches.size(); ++k) {
      EXPECT_EQ(batches[k].epoch, epoch);
      EXPECT_EQ(batches[k].index, static_cast<int64_t>(k));
    }
    auto seen = labels_of(batches);
    // The batches follow epoch_order exactly.
    EXPECT_EQ(seen, epoch_order(10, 5, epoch, true)) << "epoch " << epoch;
    std::sort(seen.begin(), seen.end());
    for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(seen[size_t(i)], i);
  }
}

// model.channels_last: both loaders hand out NHWC batches (1 channel included, as
// Fashion-MNIST's) holding the same values as the NCHW ones.
TEST(LoaderLayout, ChannelsLastBatchesAreNhwcWithTheSameValues) {
  for (int64_t channels : {1, 3}) {
    for (bool threaded : {false, true}) {
      auto ds = std::make_shared<const IndexedDataset>(10, channels);
      LoaderOptions nchw = options(4, true, false);
      // One mean and std per channel, as data.mean/data.std must give (data/registry.cpp).
      nchw.mean.assign(static_cast<size_t>(channels), 0.25);
      nchw.std.assign(static_cast<size_t>(channels), 0.5);
      LoaderOptions nhwc = nchw;
      nhwc.channels_last = true;
      auto make = [&](const LoaderOptions& o) { return threaded ? make_loader(ds, o) : make_simple_loader(ds, o); };
      const auto plain = whole_epoch(*make(nchw), 1);
      const auto last = whole_epoch(*make(nhwc), 1);
      ASSERT_EQ(plain.size(), last.size());
      for (size_t k = 0; k < plain.size(); ++k) {
        EXPECT_FALSE(is_channels_last(plain[k].input));
        EXPECT_TRUE(is_channels_last(last[k].input))
            << channels << " channels, threaded " << threaded << ", batch " << k;
        EXPECT_TRUE(at::equal(plain[k].input, last[k].input))
            << channels << " channels, threaded " << threaded << ", batch " << k;
      }
    }
  }
}

// Both loaders refuse a normalisation that does not cover every channel (the channels past
// it would be left unwritten), with a usage error naming the keys.
TEST(LoaderOptionsCheck, OneMeanAndStdPerChannel) {
  auto ds = std::make_shared<const IndexedDataset>(8, 3);
  for (bool threaded : {false, true}) {
    LoaderOptions o = options(4, true, false);  // mean {0}, std {1}: one channel's worth
    try {
      auto l = threaded ? make_loader(ds, o) : make_simple_loader(ds, o);
      whole_epoch(*l, 0);
      ADD_FAILURE() << "no error, threaded " << threaded;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage);
      EXPECT_NE(std::string(e.what()).find("3 channel(s) but data.mean/data.std give 1/1"), std::string::npos)
          << e.what();
    }
  }
}

TEST(LoaderSimple, DropLastDropsThePartialBatch) {
  auto ds = std::make_shared<const IndexedDataset>(10, 1);
  auto loader = make_simple_loader(ds, options(4, true, true));
  EXPECT_EQ(loader->batches_per_epoch(), 2);
  const auto batches = whole_epoch(*loader, 1);
  ASSERT_EQ(batches.size(), 2u);
  for (const auto& b : batches) EXPECT_EQ(b.target.size(0), 4);
  auto seen = labels_of(batches);
  const auto order = epoch_order(10, 5, 1, true);
  EXPECT_EQ(seen, std::vector<int64_t>(order.begin(), order.begin() + 8));
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());  // no repeats
}

// A data-parallel job: shard r of 3 with batch 4 takes slice r of each global batch of 12
// from the one epoch order, so the three shards' batch k together are exactly what one loader
// with batch 12 and drop_last gives as batch k (inputs too); the last partial global batch
// (26 = 2 x 12 + 2) is left out on every shard. The threaded loader shards the same way.
TEST(LoaderSharded, ShardsTogetherAreOneLoaderWithTheGlobalBatch) {
  auto ds = std::make_shared<const IndexedDataset>(26, 1);
  auto whole = make_simple_loader(ds, options(12, true, true));
  for (const bool threaded : {false, true}) {
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      const auto global = whole_epoch(*whole, epoch);
      ASSERT_EQ(global.size(), 2u);
      std::vector<std::vector<Batch>> shards;
      for (int64_t r = 0; r < 3; ++r) {
        LoaderOptions o = options(4, true, /*drop_last=*/false);
        o.shard = r;
        o.shards = 3;
        auto l = threaded ? make_loader(ds, o) : make_simple_loader(ds, o);
        EXPECT_EQ(l->batches_per_epoch(), 2);
        shards.push_back(whole_epoch(*l, epoch));
        ASSERT_EQ(shards.back().size(), 2u);
      }
      for (size_t k = 0; k < 2; ++k) {
        std::vector<at::Tensor> inputs, targets;
        for (const auto& sh : shards) {
          EXPECT_EQ(sh[k].target.size(0), 4);
          EXPECT_EQ(sh[k].index, int64_t(k));
          inputs.push_back(sh[k].input);
          targets.push_back(sh[k].target);
        }
        EXPECT_TRUE(at::equal(at::cat(targets), global[k].target)) << "batch " << k << (threaded ? " threaded" : "");
        EXPECT_TRUE(at::equal(at::cat(inputs), global[k].input)) << "batch " << k;
      }
    }
  }
  // Resumed mid-epoch, a shard gives its own tail.
  LoaderOptions o = options(4, true, false);
  o.shard = 2;
  o.shards = 3;
  auto l = make_simple_loader(ds, o);
  const auto all = whole_epoch(*l, 1), tail = whole_epoch(*l, 1, 1);
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_TRUE(at::equal(tail[0].target, all[1].target));
}

// An evaluation split in parts: part r of 3 reads positions [26r/3, 26(r+1)/3) in order, in
// its own batches; the parts together are the split, each sample once.
TEST(LoaderSharded, EvaluationPartsCoverTheSplitOnce) {
  auto ds = std::make_shared<const IndexedDataset>(26, 1);
  std::vector<int64_t> seen;
  for (int64_t r = 0; r < 3; ++r) {
    LoaderOptions o = options(4, false, false);
    o.part = r;
    o.parts = 3;
    auto l = make_simple_loader(ds, o);
    const auto part = labels_of(whole_epoch(*l, 0));
    EXPECT_EQ(int64_t(part.size()), 26 * (r + 1) / 3 - 26 * r / 3);
    EXPECT_EQ(l->batches_per_epoch(), (int64_t(part.size()) + 3) / 4);
    seen.insert(seen.end(), part.begin(), part.end());
  }
  EXPECT_EQ(seen, epoch_order(26, 5, 0, false));
}

TEST(LoaderSimple, UnshuffledIsInOrder) {
  auto ds = std::make_shared<const IndexedDataset>(7, 1);
  auto loader = make_simple_loader(ds, options(3, false, false));
  const auto seen = labels_of(whole_epoch(*loader, 4));
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
}

TEST(LoaderSimple, ImagesAreNormalisedFloatAndLabelsInt64) {
  auto ds = std::make_shared<const IndexedDataset>(9, 2);
  LoaderOptions o = options(4, true, false);
  o.mean = {0.25, 0.5};
  o.std = {0.5, 2.0};
  auto loader = make_simple_loader(ds, o);
  const auto batches = whole_epoch(*loader, 0);
  ASSERT_EQ(batches.size(), 3u);
  int64_t checked = 0;
  for (const auto& b : batches) {
    ASSERT_EQ(b.input.scalar_type(), at::kFloat);
    ASSERT_EQ(b.target.scalar_type(), at::kLong);
    ASSERT_TRUE(b.input.device().is_cpu());
    const int64_t B = b.target.size(0);
    ASSERT_EQ(b.input.sizes().vec(), (std::vector<int64_t>{B, 2, 2, 3}));
    const auto img = b.input.contiguous();
    const float* px = img.data_ptr<float>();
    for (int64_t s = 0; s < B; ++s) {
      const int64_t index = b.target[s].item<int64_t>();
      for (int64_t c = 0; c < 2; ++c) {
        for (int64_t k = 0; k < 6; ++k) {
          const float x = IndexedDataset::pixel(index, c, k);
          const float expected =
              (x / 255.0f - static_cast<float>(o.mean[size_t(c)])) / static_cast<float>(o.std[size_t(c)]);
          EXPECT_FLOAT_EQ(px[(s * 2 + c) * 6 + k], expected)
              << "sample " << index << " channel " << c << " pixel " << k;
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 9 * 2 * 6);
}

TEST(LoaderSimple, KnownPixelValues) {
  // mean 0.5, std 0.25: pixel 0 -> (0 - 0.5) / 0.25 = -2, 255 -> 2, 51 -> -1.2, 204 -> 1.2.
  class Extremes : public ImageDataset {
   public:
    int64_t size() const override { return 2; }
    ImageShape shape() const override { return ImageShape{1, 1, 2}; }
    int64_t num_classes() const override { return 2; }
    int64_t read_image(int64_t index, uint8_t* pixels) const override {
      pixels[0] = index == 0 ? 0 : 255;
      pixels[1] = index == 0 ? 51 : 204;  // 0.2 and 0.8 of 255
      return index;
    }
  };
  LoaderOptions o = options(2, false, false);
  o.mean = {0.5};
  o.std = {0.25};
  auto loader = make_simple_loader(std::make_shared<const Extremes>(), o);
  const auto batches = whole_epoch(*loader, 0);
  ASSERT_EQ(batches.size(), 1u);
  const auto img = batches[0].input.contiguous();
  EXPECT_FLOAT_EQ(img[0][0][0][0].item<float>(), -2.0f);
  EXPECT_FLOAT_EQ(img[0][0][0][1].item<float>(), -1.2f);
  EXPECT_FLOAT_EQ(img[1][0][0][0].item<float>(), 2.0f);
  EXPECT_FLOAT_EQ(img[1][0][0][1].item<float>(), 1.2f);
  EXPECT_TRUE(at::equal(batches[0].target, at::tensor(std::vector<int64_t>{0, 1})));
}

TEST(LoaderSimple, ResumeMidEpochYieldsTheExactTail) {
  auto ds = std::make_shared<const IndexedDataset>(23, 1);
  for (bool drop_last : {false, true}) {
    auto full_loader = make_simple_loader(ds, options(5, true, drop_last, 31));
    auto resumed_loader = make_simple_loader(ds, options(5, true, drop_last, 31));
    const auto full = whole_epoch(*full_loader, 3);
    ASSERT_EQ(static_cast<int64_t>(full.size()), drop_last ? 4 : 5);
    for (int64_t k = 0; k <= static_cast<int64_t>(full.size()); ++k) {
      const auto tail = whole_epoch(*resumed_loader, 3, k);
      ASSERT_EQ(tail.size(), full.size() - size_t(k)) << "resume at " << k;
      for (size_t j = 0; j < tail.size(); ++j) {
        const Batch& a = full[size_t(k) + j];
        const Batch& b = tail[j];
        EXPECT_EQ(b.index, a.index);
        EXPECT_EQ(b.epoch, 3);
        EXPECT_TRUE(at::equal(a.input, b.input)) << "resume at " << k << ", batch " << a.index;
        EXPECT_TRUE(at::equal(a.target, b.target)) << "resume at " << k << ", batch " << a.index;
      }
    }
  }
}

TEST(LoaderSimple, RestartingAnEpochRepeatsIt) {
  // The same loader started twice on one epoch gives identical batches (no hidden state).
  auto ds = std::make_shared<const IndexedDataset>(11, 1);
  auto loader = make_simple_loader(ds, options(4, true, false));
  const auto a = whole_epoch(*loader, 2);
  (void)whole_epoch(*loader, 5);
  const auto b = whole_epoch(*loader, 2);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(at::equal(a[i].input, b[i].input));
    EXPECT_TRUE(at::equal(a[i].target, b[i].target));
  }
}

TEST(LoaderSimple, WorksOverARegisteredDataset) {
  ASSERT_TRUE(register_dataset("kiln-test-loader-indexed", [](const config::DataConfig&) {
    return Splits{std::make_shared<const IndexedDataset>(13, 1), std::make_shared<const IndexedDataset>(6, 1)};
  }));
  config::DataConfig cfg;
  cfg.dataset = "kiln-test-loader-indexed";
  cfg.limit_train = 9;
  const Splits s = load_splits(cfg);
  auto loader = make_simple_loader(s.train, options(4, true, false));
  EXPECT_EQ(loader->batches_per_epoch(), 3);
  auto seen = labels_of(whole_epoch(*loader, 0));
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(LoaderSimple, CollateBuildsTheRequestedSlice) {
  const IndexedDataset ds(10, 1);
  const std::vector<int64_t> order = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
  const Batch b = collate(ds, order, 3, 4, options(4, false, false));
  EXPECT_TRUE(at::equal(b.target, at::tensor(std::vector<int64_t>{6, 5, 4, 3})));
  EXPECT_EQ(b.input.sizes().vec(), (std::vector<int64_t>{4, 1, 2, 3}));
  // mean 0, std 1: plain x / 255.
  EXPECT_FLOAT_EQ(b.input[0][0][1][2].item<float>(), float(IndexedDataset::pixel(6, 0, 5)) / 255.0f);
}

}  // namespace
}  // namespace kiln::data
