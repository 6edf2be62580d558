// kiln's CPU batch-norm(-ReLU) kernel against LibTorch's batch_norm (and relu) in double, in
// both layouts and over shapes that reach every tail (H * W not a multiple of the 8 lanes,
// planes split into pieces, channels-last chunks of a few rows): outputs, batch statistics
// and all three gradients; the same bits for any intra-op thread count; NaN passing through as
// LibTorch's ReLU passes it; the ReLU's gradient zero exactly where the output is; and
// model::BatchNorm2d on it, with running statistics as LibTorch's.
#include "model/batch_norm_relu.h"

#include <gtest/gtest.h>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <limits>

#include "model/batch_norm.h"

namespace kiln::model {
namespace {

struct ThreadCount {
  int saved = at::get_num_threads();
  ~ThreadCount() { at::set_num_threads(saved); }
};

// [n, c, h, w] with per channel means and scales unlike each other (and far from 0 for one
// channel: the variance must not come from a cancelling E[x^2] - E[x]^2).
at::Tensor input(int64_t n, int64_t c, int64_t h, int64_t w, bool channels_last, uint64_t seed = 5) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::Tensor x = at::randn({n, c, h, w}, gen) * (at::arange(c, at::kFloat).view({1, c, 1, 1}) * 0.5 + 0.5) +
                 at::arange(c, at::kFloat).view({1, c, 1, 1}) - 1;
  if (c > 2) x.select(1, 2).add_(100);
  return channels_last ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
}

struct Out {
  at::Tensor y, mean, var, dx, dweight, dbias;
};

// One forward and backward with the upstream gradient `dy`.
Out run_ours(const at::Tensor& x0, const at::Tensor& w0, const at::Tensor& b0, const at::Tensor& dy, bool relu) {
  const at::Tensor x = x0.detach().requires_grad_(true), w = w0.detach().requires_grad_(true),
                   b = b0.detach().requires_grad_(true);
  auto [y, mean, var] = batch_norm_train_cpu(x, w, b, 1e-5, relu);
  y.backward(dy);
  return {y.detach(), mean, var, x.grad(), w.grad(), b.grad()};
}

// LibTorch's ops, in double.
Out run_reference(const at::Tensor& x0, const at::Tensor& w0, const at::Tensor& b0, const at::Tensor& dy, bool relu) {
  const at::Tensor x = x0.to(at::kDouble).contiguous().requires_grad_(true);
  const at::Tensor w = w0.to(at::kDouble).requires_grad_(true), b = b0.to(at::kDouble).requires_grad_(true);
  at::Tensor y = at::batch_norm(x, w, b, {}, {}, /*training=*/true, 0.1, 1e-5, false);
  if (relu) y = at::relu(y);
  y.backward(dy.to(at::kDouble));
  const at::Tensor xd = x.detach();
  return {y.detach(), xd.mean({0, 2, 3}), xd.var({0, 2, 3}, /*unbiased=*/false), x.grad(), w.grad(), b.grad()};
}

void expect_close(const at::Tensor& ours, const at::Tensor& ref, double tol, const std::string& what) {
  ASSERT_EQ(ours.sizes(), ref.sizes()) << what;
  const double err = (ours.to(at::kDouble) - ref).abs().max().item<double>();
  const double scale = ref.abs().max().item<double>() + 1e-12;
  EXPECT_LT(err / scale, tol) << what << ": max error " << err << " of " << scale;
}

struct Shape {
  int64_t n, c, h, w;
};

TEST(BatchNormTrainCpu, MatchesLibTorchsBatchNormAndReluInEitherLayout) {
  at::manual_seed(1);
  // NCHW units: 4x3x5x7 one block of 4 images (35-value planes: 8-lane tails); 2x5x150x120
  // planes of 18000 in two pieces; 45x3x20x20 blocks of 40 images and of 5. Channels-last
  // units: 140 rows in one; 16x130x3x3 126 rows and a partial 18; 2x64x28x28 six of 256 and
  // a partial one. 7x2x1x1: one value a plane, the same memory in both layouts.
  const Shape shapes[] = {{4, 3, 5, 7},    {2, 5, 150, 120}, {45, 3, 20, 20},
                          {16, 130, 3, 3}, {2, 64, 28, 28},  {7, 2, 1, 1}};
  for (const Shape& s : shapes) {
    for (bool cl : {false, true}) {
      for (bool relu : {false, true}) {
        const std::string what = std::to_string(s.n) + "x" + std::to_string(s.c) + "x" + std::to_string(s.h) + "x" +
                                 std::to_string(s.w) + (cl ? " channels-last" : " NCHW") + (relu ? " relu" : "");
        const at::Tensor x = input(s.n, s.c, s.h, s.w, cl);
        const at::Tensor w = at::rand({s.c}) + 0.5, b = at::randn({s.c});
        const at::Tensor dy = at::randn_like(x);
        const Out ours = run_ours(x, w, b, dy, relu), ref = run_reference(x, w, b, dy, relu);
        EXPECT_TRUE(ours.y.is_contiguous(cl ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous)) << what;
        EXPECT_TRUE(ours.dx.is_contiguous(cl ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous)) << what;
        expect_close(ours.y, ref.y, 1e-5, what + " y");
        expect_close(ours.mean, ref.mean, 1e-6, what + " mean");
        expect_close(ours.var, ref.var, 1e-5, what + " var");
        expect_close(ours.dx, ref.dx, 1e-4, what + " dx");
        expect_close(ours.dweight, ref.dweight, 1e-4, what + " dweight");
        expect_close(ours.dbias, ref.dbias, 1e-5, what + " dbias");
      }
    }
  }
}

TEST(BatchNormTrainCpu, TheSameBitsForAnyIntraOpThreadCount) {
  ThreadCount restore;
  at::manual_seed(2);
  const Shape shapes[] = {{8, 32, 28, 28}, {2, 5, 150, 120}, {45, 3, 20, 20}};
  for (const Shape& s : shapes) {
    for (bool cl : {false, true}) {
      const at::Tensor x = input(s.n, s.c, s.h, s.w, cl), w = at::rand({s.c}) + 0.5, b = at::randn({s.c});
      const at::Tensor dy = at::randn_like(x);
      std::vector<Out> outs;
      for (int threads : {1, 2, 3}) {
        at::set_num_threads(threads);
        ASSERT_EQ(at::get_num_threads(), threads);
        outs.push_back(run_ours(x, w, b, dy, true));
      }
      for (size_t i = 1; i < outs.size(); ++i) {
        const std::string what = std::to_string(s.n) + "x" + std::to_string(s.c) + (cl ? " CL" : " NCHW");
        EXPECT_TRUE(at::equal(outs[i].y, outs[0].y)) << what;
        EXPECT_TRUE(at::equal(outs[i].mean, outs[0].mean)) << what;
        EXPECT_TRUE(at::equal(outs[i].var, outs[0].var)) << what;
        EXPECT_TRUE(at::equal(outs[i].dx, outs[0].dx)) << what;
        EXPECT_TRUE(at::equal(outs[i].dweight, outs[0].dweight)) << what;
        EXPECT_TRUE(at::equal(outs[i].dbias, outs[0].dbias)) << what;
      }
    }
  }
}

TEST(BatchNormTrainCpu, TheReluGradientIsZeroExactlyWhereTheOutputIs) {
  at::manual_seed(3);
  for (bool cl : {false, true}) {
    // A third of each channel's values at its mean exactly (c0 + {-d, 0, +d}, shuffled): their
    // ReLU inputs are rounding-sized, either sign, where a forward and a backward that rounded
    // x * a + b differently would disagree about the mask.
    const int64_t n = 6, c = 4, hw = 81;
    at::Tensor pattern = (at::arange(n * hw) % 3 - 1).to(at::kFloat);
    at::Tensor x = at::empty({n, c, 9, 9});
    for (int64_t ch = 0; ch < c; ++ch) {
      const at::Tensor shuffled = pattern.index_select(0, at::randperm(n * hw)).view({n, 9, 9});
      x.select(1, ch).copy_(0.1 + 0.7 * double(ch) + 0.37 * shuffled);
    }
    if (cl) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    const at::Tensor w = at::rand({c}) + 0.5, b = at::zeros({c});
    const at::Tensor dy = at::rand_like(x) + 0.5;  // > 0 everywhere: each mask error shows
    const Out o = run_ours(x, w, b, dy, true);
    const at::Tensor kept = (o.y > 0).to(at::kDouble);
    // Each gradient sums g = dy over the kept values: the backward's mask must be the output's.
    const at::Tensor dd = dy.to(at::kDouble) * kept;
    const at::Tensor xhat = (x.to(at::kDouble) - o.mean.to(at::kDouble).view({1, c, 1, 1})) /
                            (o.var.to(at::kDouble).view({1, c, 1, 1}) + 1e-5).sqrt();
    const std::string what = cl ? "channels-last" : "NCHW";
    expect_close(o.dbias, dd.sum({0, 2, 3}), 1e-6, what + " dbias");
    expect_close(o.dweight, (dd * xhat).sum({0, 2, 3}), 1e-5, what + " dweight");
    const int64_t on_edge = (o.y == 0).logical_and(x.sub(o.mean.view({1, c, 1, 1})).abs() < 1e-5).sum().item<int64_t>();
    EXPECT_GT(on_edge, 0) << what << ": no value of the channel's mean gave a zero output";
  }
}

TEST(BatchNormTrainCpu, NanPassesThroughAsLibTorchsRelu) {
  at::Tensor x = input(2, 4, 6, 6, false);
  x[1][2][3][3] = std::numeric_limits<float>::quiet_NaN();
  auto [y, mean, var] = batch_norm_train_cpu(x, at::ones({4}), at::zeros({4}), 1e-5, true);
  // Channel 2's statistics are NaN, and so is every one of its outputs; the others are finite.
  EXPECT_TRUE(std::isnan(mean[2].item<float>()));
  EXPECT_TRUE(y.select(1, 2).isnan().all().item<bool>());
  EXPECT_TRUE(y.select(1, 0).isfinite().all().item<bool>());
}

TEST(BatchNormTrainCpu, TakesOnlyWhatItComputes) {
  const at::Tensor w = at::ones({4}), b = at::zeros({4});
  EXPECT_TRUE(batch_norm_train_cpu_takes(at::randn({2, 4, 3, 3}), w, b));
  EXPECT_TRUE(batch_norm_train_cpu_takes(at::randn({2, 4, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast), w, b));
  EXPECT_FALSE(batch_norm_train_cpu_takes(at::randn({2, 4, 3, 3}).to(at::kBFloat16), w, b));
  EXPECT_FALSE(batch_norm_train_cpu_takes(at::randn({2, 4, 3, 3}).to(at::kDouble), w, b));
  EXPECT_FALSE(batch_norm_train_cpu_takes(at::randn({2, 3, 4, 3}).transpose(1, 2), w, b));  // neither layout
  EXPECT_FALSE(batch_norm_train_cpu_takes(at::randn({1, 4, 1, 1}), w, b));                  // one value a channel
  EXPECT_FALSE(batch_norm_train_cpu_takes(at::randn({2, 4, 3}), w, b));
  EXPECT_FALSE(batch_norm_train_cpu_takes(at::randn({2, 4, 3, 3}), w.view({2, 2}), b));
  EXPECT_THROW(batch_norm_train_cpu(at::randn({1, 4, 1, 1}), w, b, 1e-5, true), c10::Error);
}

TEST(BatchNormTrainCpu, TheModuleKeepsLibTorchsRunningStatisticsGradientsAndEvaluation) {
  for (bool cl : {false, true}) {
    for (bool cumulative : {false, true}) {
      const std::string what = std::string(cl ? "channels-last" : "NCHW") + (cumulative ? " cumulative" : "");
      auto options = torch::nn::BatchNorm2dOptions(3).momentum(0.2);
      if (cumulative) options.momentum(c10::nullopt);  // running stats: the mean over batches
      torch::nn::BatchNorm2d plain(options);
      BatchNorm2d ours(options);
      for (uint64_t step = 0; step < 3; ++step) {
        const at::Tensor x = input(6, 3, 5, 5, cl, 20 + step);
        ASSERT_TRUE(ours->uses_cpu_kernel(x));
        const at::Tensor dy = at::randn_like(x);
        const at::Tensor a = plain->forward(x), b = ours->forward(x);
        // To fp32 rounding of the inputs (one channel is near 100, where an fp32 ulp is 8e-6).
        EXPECT_TRUE(at::allclose(a, b, 1e-4, 1e-4)) << what << ": " << (a - b).abs().max();
        at::relu(a).backward(dy);
        ours->forward_relu(x).backward(dy);  // both have now seen x twice
        EXPECT_TRUE(at::allclose(plain->weight.grad(), ours->weight.grad(), 1e-3, 1e-4)) << what;
        EXPECT_TRUE(at::allclose(plain->bias.grad(), ours->bias.grad(), 1e-3, 1e-4)) << what;
        plain->forward(x);
        plain->zero_grad();
        ours->zero_grad();
      }
      EXPECT_TRUE(at::allclose(plain->running_mean, ours->running_mean, 1e-5, 1e-6)) << what;
      EXPECT_TRUE(at::allclose(plain->running_var, ours->running_var, 1e-5, 1e-6)) << what;
      EXPECT_EQ(plain->num_batches_tracked.item<int64_t>(), ours->num_batches_tracked.item<int64_t>());
      // Evaluation is LibTorch's, bit for bit, given the same running statistics.
      plain->eval();
      ours->eval();
      {
        torch::NoGradGuard no_grad;
        ours->running_mean.copy_(plain->running_mean);
        ours->running_var.copy_(plain->running_var);
      }
      const at::Tensor x = input(6, 3, 5, 5, cl, 40);
      EXPECT_FALSE(ours->uses_cpu_kernel(x));
      EXPECT_TRUE(at::equal(plain->forward(x), ours->forward(x))) << what;
    }
  }
}

}  // namespace
}  // namespace kiln::model
