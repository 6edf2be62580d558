// Tests of the threaded loader (make_loader): batches byte-identical to the single-threaded
// reference loader for every thread count and prefetch depth, every sample once per epoch,
// exact resume, worker errors that surface in the caller, early stops that join cleanly,
// and (on a GPU) the pinned ring, the copy stream and GPU-side normalisation.
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/copy_ring.h"
#include "data/loader.h"
#include "util/error.h"

namespace kiln::data {
namespace {

// Sample i: 1 x 6 x 5 pixels hashed from (i, pixel), label i % 7. Distinct per sample, so a
// wrong sample or a wrong crop shows up as different bytes.
class HashDataset : public ImageDataset {
 public:
  explicit HashDataset(int64_t n, int64_t throw_at = -1) : n_(n), throw_at_(throw_at) {}
  int64_t size() const override { return n_; }
  ImageShape shape() const override { return ImageShape{1, 6, 5}; }
  int64_t num_classes() const override { return 7; }
  int64_t read_image(int64_t index, uint8_t* pixels) const override {
    if (index == throw_at_) throw Error::usage("corrupt sample " + std::to_string(index));
    for (int64_t k = 0; k < 30; ++k) pixels[k] = static_cast<uint8_t>((index * 2654435761u + k * 40503u) >> 7);
    return index % 7;
  }

 private:
  int64_t n_, throw_at_;
};

LoaderOptions opts(int64_t threads, int64_t prefetch, bool augment, uint64_t seed = 11) {
  LoaderOptions o;
  o.batch_size = 8;
  o.seed = seed;
  o.threads = threads;
  o.prefetch = prefetch;
  o.mean = {0.4};
  o.std = {0.2};
  if (augment) o.augment = {2, true};
  return o;
}

std::vector<Batch> epoch(Loader& l, int64_t e, int64_t first = 0) {
  l.start(e, first);
  std::vector<Batch> out;
  while (auto b = l.next()) out.push_back(std::move(*b));
  return out;
}

void expect_same(const std::vector<Batch>& a, const std::vector<Batch>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].index, b[i].index) << what;
    EXPECT_TRUE(at::equal(a[i].input.cpu(), b[i].input.cpu())) << what << " batch " << i;
    EXPECT_TRUE(at::equal(a[i].target.cpu(), b[i].target.cpu())) << what << " batch " << i;
  }
}

TEST(ThreadedLoader, ByteIdenticalToReferenceForAnyThreadCount) {
  auto ds = std::make_shared<const HashDataset>(101);  // 13 batches, the last one of 5
  for (bool augment : {false, true}) {
    auto ref = make_simple_loader(ds, opts(1, 1, augment));
    std::vector<std::vector<Batch>> expected;
    for (int e = 0; e < 3; ++e) expected.push_back(epoch(*ref, e));
    for (int64_t threads : {1, 2, 4, 8}) {
      for (int64_t prefetch : {1, 3, 16}) {
        auto l = make_loader(ds, opts(threads, prefetch, augment));
        for (int e = 0; e < 3; ++e) {
          expect_same(epoch(*l, e), expected[size_t(e)],
                      "threads " + std::to_string(threads) + " prefetch " + std::to_string(prefetch) + " epoch " +
                          std::to_string(e) + (augment ? " augmented" : ""));
        }
      }
    }
  }
}

std::vector<int64_t> sample_ids(const std::vector<Batch>& batches, const HashDataset& ds) {
  // Without augmentation the first normalised pixel identifies nothing by itself, so match
  // whole images against the dataset instead.
  std::vector<int64_t> ids;
  std::vector<uint8_t> px(30);
  auto o = opts(1, 1, false);
  const auto lut = normalize_lut(o.mean, o.std);
  for (const auto& b : batches) {
    auto img = b.input.cpu().contiguous();
    for (int64_t r = 0; r < img.size(0); ++r) {
      const float* row = img.data_ptr<float>() + r * 30;
      int64_t found = -1;
      for (int64_t i = 0; i < ds.size() && found < 0; ++i) {
        ds.read_image(i, px.data());
        bool same = true;
        for (int k = 0; k < 30 && same; ++k) same = lut[px[size_t(k)]] == row[k];
        if (same) found = i;
      }
      ids.push_back(found);
    }
  }
  return ids;
}

TEST(ThreadedLoader, EverySampleOncePerEpochAndShuffledDifferently) {
  HashDataset raw(53);
  auto ds = std::make_shared<const HashDataset>(53);
  auto l = make_loader(ds, opts(3, 4, false));
  const auto e0 = sample_ids(epoch(*l, 0), raw), e1 = sample_ids(epoch(*l, 1), raw);
  for (const auto& ids : {e0, e1}) {
    ASSERT_EQ(ids.size(), 53u);
    std::set<int64_t> unique(ids.begin(), ids.end());
    EXPECT_EQ(unique.size(), 53u);
    EXPECT_EQ(unique.count(-1), 0u);
  }
  EXPECT_NE(e0, e1);
  auto other_seed = make_loader(ds, opts(3, 4, false, 12));
  EXPECT_NE(sample_ids(epoch(*other_seed, 0), raw), e0);
}

TEST(ThreadedLoader, DropLastDropsThePartialBatch) {
  auto ds = std::make_shared<const HashDataset>(21);
  auto o = opts(2, 2, false);
  o.drop_last = true;
  auto l = make_loader(ds, o);
  const auto b = epoch(*l, 0);
  ASSERT_EQ(b.size(), 2u);
  for (const auto& x : b) EXPECT_EQ(x.target.size(0), 8);
}

TEST(ThreadedLoader, ResumeAtAnyBatchYieldsTheExactTail) {
  auto ds = std::make_shared<const HashDataset>(77);  // 10 batches
  auto full = make_loader(ds, opts(2, 3, true));
  const auto all = epoch(*full, 4);
  for (int64_t k : {0, 1, 5, 9, 10}) {
    auto resumed = make_loader(ds, opts(4, 2, true));
    const auto tail = epoch(*resumed, 4, k);
    expect_same(tail, std::vector<Batch>(all.begin() + k, all.end()), "resume at " + std::to_string(k));
  }
}

TEST(ThreadedLoader, RestartingMidEpochGivesTheNewEpoch) {
  auto ds = std::make_shared<const HashDataset>(90);
  auto ref = make_simple_loader(ds, opts(1, 1, true));
  auto l = make_loader(ds, opts(4, 8, true));
  l->start(0, 0);
  ASSERT_TRUE(l->next().has_value());
  ASSERT_TRUE(l->next().has_value());
  expect_same(epoch(*l, 1), epoch(*ref, 1), "restart into epoch 1");
}

TEST(ThreadedLoader, WorkerErrorSurfacesInTheCaller) {
  auto ds = std::make_shared<const HashDataset>(64, /*throw_at=*/37);
  for (int64_t threads : {1, 4}) {
    auto o = opts(threads, 4, false);
    o.shuffle = false;  // sample 37 is in batch 4
    auto l = make_loader(ds, o);
    l->start(0, 0);
    int good = 0;
    std::string message;
    try {
      while (l->next()) ++good;
    } catch (const Error& e) {
      message = e.what();
    }
    EXPECT_EQ(good, 4) << "threads " << threads;
    EXPECT_NE(message.find("corrupt sample 37"), std::string::npos) << message;
    // The loader stays usable: a new epoch starts (and fails at the same sample again).
    l->start(1, 5);
    EXPECT_TRUE(l->next().has_value());
  }  // the destructor joins every worker; a hang here fails the test by timeout
}

TEST(ThreadedLoader, EarlyStopJoinsAllThreads) {
  auto ds = std::make_shared<const HashDataset>(4000);
  for (int i = 0; i < 20; ++i) {
    auto l = make_loader(ds, opts(8, 4, true));
    l->start(0, 0);
    ASSERT_TRUE(l->next().has_value());
  }  // destroyed with workers busy and slots full
  auto never_started = make_loader(ds, opts(3, 2, false));
}

TEST(ThreadedLoader, ReportsWaitTimeAndNoCopyTimeOnCpu) {
  auto ds = std::make_shared<const HashDataset>(40);
  auto l = make_loader(ds, opts(2, 2, false));
  for (const auto& b : epoch(*l, 0)) {
    EXPECT_GE(b.wait_ms, 0.0);
    EXPECT_EQ(b.copy_ms, -1.0);
    EXPECT_EQ(b.input.scalar_type(), at::kFloat);
    EXPECT_FALSE(b.input.is_pinned());
  }
}

// ---- CUDA ---------------------------------------------------------------------------------

bool have_cuda() { return at::hasCUDA() && torch::cuda::is_available(); }

// Also under deterministic algorithms, where LibTorch fills every new device buffer (NaN,
// INT64_MAX): that fill must be ordered before the copy into it, not race it.
TEST(ThreadedLoaderCuda, BatchesOnTheGpuEqualTheHostReference) {
  if (!have_cuda()) GTEST_SKIP() << "needs a CUDA device (none visible)";
  auto ds = std::make_shared<const HashDataset>(101);
  auto ref = make_simple_loader(ds, opts(1, 1, true));
  const bool was_deterministic = at::globalContext().deterministicAlgorithms();
  for (bool deterministic : {false, true}) {
    at::globalContext().setDeterministicAlgorithms(deterministic, /*warn_only=*/false);
    for (bool gpu_normalize : {false, true}) {
      auto o = opts(3, 4, true);
      o.device = c10::Device("cuda:0");
      o.gpu_normalize = gpu_normalize;
      auto l = make_loader(ds, o);
      for (int e = 0; e < 2; ++e) {
        const auto got = epoch(*l, e);
        for (const auto& b : got) {
          EXPECT_TRUE(b.input.is_cuda());
          EXPECT_EQ(b.input.scalar_type(), at::kFloat);
        }
        // Bit-identical: the GPU normalises through the same float32 table as the host.
        expect_same(
            got, epoch(*ref, e),
            std::string("gpu_normalize ") + (gpu_normalize ? "on" : "off") + (deterministic ? ", deterministic" : ""));
      }
    }
  }
  at::globalContext().setDeterministicAlgorithms(was_deterministic, false);
}

TEST(ThreadedLoaderCuda, PinnedPoolIsAllocatedOnceAndCopyTimesAreReported) {
  if (!have_cuda()) GTEST_SKIP() << "needs a CUDA device (none visible)";
  auto ds = std::make_shared<const HashDataset>(4000);
  auto o = opts(2, 4, true);
  o.batch_size = 256;
  o.device = c10::Device("cuda:0");
  auto l = make_loader(ds, o);
  epoch(*l, 0);  // warm-up: the ring's pinned buffers are allocated here
  const int64_t after_warmup = pinned_pool_bytes();
  ASSERT_GT(after_warmup, 0);
  bool saw_copy_time = false;
  int64_t batches = 16, bytes = 0;                          // the warm-up epoch: 16 batches (4000 = 15 x 256 + 160)
  bytes += 4000 * (int64_t(ds->spec().input.numel()) + 8);  // uint8 images (gpu_normalize) + int64 labels
  for (int e = 1; e < 4; ++e) {
    for (const auto& b : epoch(*l, e)) {
      saw_copy_time = saw_copy_time || b.copy_ms > 0;
      ++batches;
      bytes += b.target.numel() * (int64_t(ds->spec().input.numel()) + 8);
    }
    EXPECT_EQ(pinned_pool_bytes(), after_warmup) << "epoch " << e;
  }
  EXPECT_TRUE(saw_copy_time);
  torch::cuda::synchronize();
  const CopyTotals t = l->copy_totals();  // every copy counted once
  EXPECT_EQ(t.copies, batches);
  EXPECT_EQ(int64_t(t.bytes), bytes);
  EXPECT_GT(t.ms, 0.0);
}

}  // namespace
}  // namespace kiln::data

namespace kiln::data {
namespace {

// CPU batches are views of the loader's own buffers: every one starts on a 64-byte line
// (MKL/oneDNN see the same alignment in every run; malloc's 16 bytes varied with timing).
TEST(ThreadedLoaderAlignment, CpuBatchesAre64ByteAligned) {
  auto ds = std::make_shared<HashDataset>(203);
  for (int64_t threads : {1, 3}) {
    auto l = make_loader(ds, opts(threads, 3, true));
    for (int64_t e = 0; e < 2; ++e) {
      // Holding every batch makes the loader allocate fresh buffers for later ones.
      for (const auto& b : epoch(*l, e)) {
        EXPECT_EQ(reinterpret_cast<uintptr_t>(b.input.data_ptr()) % 64, 0u) << "batch " << b.index;
        EXPECT_EQ(reinterpret_cast<uintptr_t>(b.target.data_ptr()) % 64, 0u) << "batch " << b.index;
      }
    }
  }
}

}  // namespace
}  // namespace kiln::data
