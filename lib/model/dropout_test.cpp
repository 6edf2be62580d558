// model::Dropout's CPU kernel: kept elements are x / (1 - p) and the others 0, about 1 - p of
// them kept, neighbours independent, the same mask for any intra-op thread count, one draw
// from the default generator per call (so the generator state alone decides the next mask),
// the gradient through the same mask, and evaluation / p = 0 / p = 1 as LibTorch's.
#include "model/dropout.h"

#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <mutex>

namespace kiln::model {
namespace {

uint64_t draw_from_default_generator() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

// Restores LibTorch's intra-op thread count when a test changes it.
struct ThreadCount {
  int saved = at::get_num_threads();
  ~ThreadCount() { at::set_num_threads(saved); }
};

TEST(Dropout, KeepsAboutOneMinusPScaledAndZeroesTheRest) {
  const int64_t n = 1 << 20;
  const at::Tensor x = at::rand({n}) + 0.5;  // no element is 0, so a 0 in y means dropped
  for (double p : {0.1, 0.3, 0.5, 0.9}) {
    auto [y, mask] = dropout_cpu(x, p, 12345);
    const at::Tensor kept = mask.to(at::kBool);
    // Kept: x * (1 / (1 - p)) in float, exactly; dropped: exactly 0.
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    EXPECT_TRUE(at::equal(y.masked_select(kept), x.masked_select(kept) * scale)) << p;
    EXPECT_EQ(y.masked_select(kept.logical_not()).count_nonzero().item<int64_t>(), 0) << p;
    EXPECT_EQ((y != 0).sum().item<int64_t>(), kept.sum().item<int64_t>()) << p;
    // The kept count is Binomial(n, 1 - p): within 6 standard deviations.
    const double mean = n * (1 - p), sd = std::sqrt(n * p * (1 - p));
    EXPECT_NEAR(kept.sum().item<double>(), mean, 6 * sd) << p;
  }
}

TEST(Dropout, NeighboursAreIndependent) {
  // Elements 4j .. 4j+3 share one Philox block; 4j+3 and 4j+4 come from consecutive blocks.
  const int64_t n = 1 << 20;
  const at::Tensor m = dropout_cpu(at::ones({n}), 0.5, 7).second.to(at::kDouble);
  for (int64_t lag : {1, 2, 3, 4}) {
    const at::Tensor a = m.slice(0, 0, n - lag), b = m.slice(0, lag, n);
    const double pairs = double(a.numel()), sd = std::sqrt(pairs * 0.25 * 0.75);  // both kept: 1/4
    EXPECT_NEAR((a * b).sum().item<double>(), pairs * 0.25, 6 * sd) << "lag " << lag;
  }
  for (int64_t lane = 0; lane < 4; ++lane) {  // each word of a block is kept half the time
    const at::Tensor w = m.slice(0, lane, n, 4);
    EXPECT_NEAR(w.sum().item<double>(), w.numel() * 0.5, 6 * std::sqrt(w.numel() * 0.25)) << "word " << lane;
  }
}

TEST(Dropout, TheMaskDependsOnTheSeedAndNotOnTheThreadCount) {
  ThreadCount restore;
  const at::Tensor x = at::randn({3, 100003});  // odd sizes: chunks split a Philox block
  at::set_num_threads(1);
  const auto [y1, m1] = dropout_cpu(x, 0.3, 99);
  for (int threads : {2, 3, 4}) {
    at::set_num_threads(threads);
    const auto [y, m] = dropout_cpu(x, 0.3, 99);
    EXPECT_TRUE(at::equal(m, m1)) << threads << " threads";
    EXPECT_TRUE(at::equal(y, y1)) << threads << " threads";
  }
  EXPECT_FALSE(at::equal(dropout_cpu(x, 0.3, 100).second, m1));
}

TEST(Dropout, EachCallTakesOneDrawFromTheDefaultGenerator) {
  Dropout drop(0.3);
  drop->train();
  const at::Tensor x = at::randn({64, 257});
  at::manual_seed(5);
  const at::Tensor a = drop->forward(x);
  const uint64_t after_one = draw_from_default_generator();
  at::manual_seed(5);
  const uint64_t seed = draw_from_default_generator();
  EXPECT_EQ(draw_from_default_generator(), after_one);  // the call drew exactly once
  EXPECT_TRUE(at::equal(a, dropout_cpu(x, 0.3, seed).first));
  at::manual_seed(5);
  EXPECT_TRUE(at::equal(drop->forward(x), a));   // same generator state, same mask
  EXPECT_FALSE(at::equal(drop->forward(x), a));  // the next call, another mask
}

TEST(Dropout, TheGradientGoesThroughTheSameMask) {
  Dropout drop(0.25);
  drop->train();
  const at::Tensor x = at::randn({32, 96}).add_(10).requires_grad_();  // no 0 among x
  const at::Tensor w = at::randn({32, 96});
  const at::Tensor y = drop->forward(x);
  (y * w).sum().backward();
  const at::Tensor kept = y.detach() != 0;
  const float scale = static_cast<float>(1.0 / 0.75);
  EXPECT_TRUE(at::equal(x.grad(), at::where(kept, w * scale, at::zeros_like(w))));
}

TEST(Dropout, NonContiguousInputAndOtherFloatTypes) {
  const at::Tensor x = at::randn({40, 30}).t();  // [30, 40], strides (1, 30)
  const auto [y, m] = dropout_cpu(x, 0.5, 3);
  const auto [yc, mc] = dropout_cpu(x.contiguous(), 0.5, 3);
  EXPECT_TRUE(at::equal(y, yc));  // row-major order of the logical tensor, whatever its strides
  for (auto t : {at::kDouble, at::kBFloat16, at::kHalf}) {
    const at::Tensor xt = x.to(t);
    const auto [yt, mt] = dropout_cpu(xt, 0.5, 3);
    EXPECT_EQ(yt.scalar_type(), t);
    EXPECT_TRUE(at::equal(mt, m)) << t;  // the mask does not depend on the type
    const at::Tensor kept = mt.to(at::kBool);
    EXPECT_TRUE(at::equal(yt.masked_select(kept), (xt.masked_select(kept).to(at::kDouble) * 2).to(t))) << t;
  }
}

TEST(Dropout, EvaluationAndTheEndsOfTheRange) {
  const at::Tensor x = at::randn({8, 16}).requires_grad_();
  Dropout drop(0.5);
  drop->eval();
  EXPECT_TRUE(drop->forward(x).is_same(x));
  Dropout none(0.0);
  none->train();
  EXPECT_TRUE(none->forward(x).is_same(x));
  Dropout all(1.0);
  all->train();
  const at::Tensor y = all->forward(x);
  EXPECT_EQ(y.count_nonzero().item<int64_t>(), 0);
  EXPECT_FALSE(y.isnan().any().item<bool>());  // 0, not x * inf
  y.sum().backward();
  EXPECT_EQ(x.grad().count_nonzero().item<int64_t>(), 0);
}

}  // namespace
}  // namespace kiln::model
