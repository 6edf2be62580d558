// Unit tests for train/grad_scaler.h, on the CPU (where ATen's _amp kernels run too): unscaling
// is an exact division by the scale, an inf or a nan backs it off, growth follows the formula
// step by step, gradients of several dtypes are unscaled together, the state survives an
// archive, and a disabled scaler changes nothing.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/serialize/archive.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "train/grad_scaler.h"
#include "util/error.h"

namespace kiln::train {
namespace {

const c10::Device kCpu(c10::kCPU);

// A leaf parameter of grad's shape and dtype whose .grad() is `grad`.
at::Tensor param_with_grad(const at::Tensor& grad) {
  at::Tensor p = at::zeros(grad.sizes(), grad.options()).requires_grad_();
  p.mutable_grad() = grad;
  return p;
}

// Same dtype, shape and bits (at::equal would call -0.0 and 0.0 equal).
::testing::AssertionResult same_bits(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) {
    return ::testing::AssertionFailure() << "dtype or shape differs";
  }
  const at::ScalarType bits = a.element_size() == 8 ? at::kLong : a.element_size() == 4 ? at::kInt : at::kShort;
  if (!at::equal(a.contiguous().view(bits), b.contiguous().view(bits))) {
    return ::testing::AssertionFailure() << "values differ: max |a - b| = "
                                         << (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
  }
  return ::testing::AssertionSuccess();
}

float as_float(const at::Tensor& t) { return t.item<float>(); }

GradScalerOptions options(double init_scale, int64_t growth_interval) {
  GradScalerOptions o;
  o.init_scale = init_scale;
  o.growth_interval = growth_interval;
  return o;
}

TEST(GradScaler, ScaleMultipliesTheLoss) {
  GradScaler scaler(options(1024.0, 2000), kCpu);
  const at::Tensor loss = at::full({}, 0.37, at::kFloat);
  EXPECT_TRUE(same_bits(scaler.scale(loss), loss * 1024.0f));
  // Ordinary type promotion between two 0-dim tensors: an fp16 scalar loss is scaled in
  // float32 (no overflow of the loss itself; gradients overflow, if at all, in fp16 layers,
  // and unscale() reports that). A loss with dimensions keeps its dtype.
  const at::Tensor half = at::full({}, 0.5, at::kHalf);
  EXPECT_TRUE(same_bits(scaler.scale(half), at::full({}, 512.0, at::kFloat)));
  const at::Tensor half_rows = at::full({2}, 0.5, at::kHalf);
  EXPECT_TRUE(same_bits(scaler.scale(half_rows), at::full({2}, 512.0, at::kHalf)));
}

TEST(GradScaler, UnscaleDividesGradsByTheScaleExactly) {
  // A power-of-two scale: multiplying and dividing by it are exact (away from subnormals).
  const double s = 4096.0;
  GradScaler scaler(options(s, 2000), kCpu);
  at::manual_seed(1);
  const at::Tensor true_a = at::randn({5, 3});
  const at::Tensor true_b = at::randn({7});
  std::vector<at::Tensor> params = {param_with_grad(true_a * float(s)), param_with_grad(true_b * float(s)),
                                    at::zeros({2}).requires_grad_()};  // no gradient: skipped
  const at::Tensor found_inf = scaler.unscale(params);
  EXPECT_TRUE(same_bits(params[0].grad(), true_a));
  EXPECT_TRUE(same_bits(params[1].grad(), true_b));
  EXPECT_FALSE(params[2].grad().defined());
  EXPECT_EQ(found_inf.scalar_type(), at::kFloat);
  EXPECT_EQ(found_inf.dim(), 0);
  EXPECT_EQ(as_float(found_inf), 0.0f);
  EXPECT_FALSE(GradScaler::should_skip(found_inf));
}

TEST(GradScaler, UnscaleWithoutAnyGradientFindsNothing) {
  GradScaler scaler(options(8.0, 2000), kCpu);
  const at::Tensor found_inf = scaler.unscale({at::zeros({3}).requires_grad_()});
  ASSERT_TRUE(found_inf.defined());
  EXPECT_EQ(as_float(found_inf), 0.0f);
}

class GradScalerNonFinite : public ::testing::TestWithParam<float> {};

TEST_P(GradScalerNonFinite, OneBadElementBacksTheScaleOffAndResetsTheTracker) {
  GradScalerOptions o = options(65536.0, 3);
  o.backoff_factor = 0.25;
  GradScaler scaler(o, kCpu);
  // One good step first, so the reset of the tracker shows.
  scaler.update(scaler.unscale({param_with_grad(at::ones({4}))}));
  ASSERT_EQ(scaler.state().growth_tracker, 1);

  at::Tensor bad = at::ones({6}) * 65536.0f;
  bad[4].fill_(GetParam());
  std::vector<at::Tensor> params = {param_with_grad(at::ones({3}) * 65536.0f), param_with_grad(bad)};
  const at::Tensor found_inf = scaler.unscale(params);
  EXPECT_EQ(as_float(found_inf), 1.0f);
  EXPECT_TRUE(GradScaler::should_skip(found_inf));
  EXPECT_TRUE(same_bits(params[0].grad(), at::ones({3})));  // the finite gradients are unscaled all the same
  scaler.update(found_inf);
  EXPECT_EQ(scaler.state().scale, 65536.0 * 0.25);
  EXPECT_EQ(scaler.state().growth_tracker, 0);
  EXPECT_EQ(scaler.current_scale(), 16384.0);
}

INSTANTIATE_TEST_SUITE_P(GradScaler, GradScalerNonFinite,
                         ::testing::Values(std::numeric_limits<float>::infinity(),
                                           -std::numeric_limits<float>::infinity(),
                                           std::numeric_limits<float>::quiet_NaN()));

TEST(GradScaler, GrowthFollowsTheFormulaStepByStep) {
  // growth_interval 3 over 10 updates, update 5 with an inf. Written out, not recomputed:
  // S grows on the 3rd good step in a row, halves on the inf, and the count restarts after each.
  struct Want {
    bool inf;
    double scale;
    int64_t tracker;
  };
  const double s0 = 1024.0;
  const std::vector<Want> want = {
      {false, s0, 1},      // 1
      {false, s0, 2},      // 2
      {false, 2 * s0, 0},  // 3: growth
      {false, 2 * s0, 1},  // 4
      {true, s0, 0},       // 5: inf, backoff
      {false, s0, 1},      // 6
      {false, s0, 2},      // 7
      {false, 2 * s0, 0},  // 8: growth
      {false, 2 * s0, 1},  // 9
      {false, 2 * s0, 2},  // 10
  };
  GradScaler scaler(options(s0, 3), kCpu);
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("update " + std::to_string(i + 1));
    // The gradient as backward() of a scaled loss would leave it: S * 0.75.
    const double s = scaler.current_scale();
    at::Tensor g = at::full({4}, 0.75 * s, at::kFloat);
    if (want[i].inf) g[2].fill_(std::numeric_limits<float>::infinity());
    std::vector<at::Tensor> params = {param_with_grad(g)};
    const at::Tensor found_inf = scaler.unscale(params);
    EXPECT_EQ(as_float(found_inf), want[i].inf ? 1.0f : 0.0f);
    if (!want[i].inf) {
      EXPECT_TRUE(same_bits(params[0].grad(), at::full({4}, 0.75, at::kFloat)));
    }
    scaler.update(found_inf);
    EXPECT_EQ(scaler.state().scale, want[i].scale);
    EXPECT_EQ(scaler.state().growth_tracker, want[i].tracker);
  }
}

TEST(GradScaler, GrowthStopsShortOfFloat32Overflow) {
  GradScalerOptions o = options(std::ldexp(1.0, 127), 1);  // the largest power of two in float32
  GradScaler scaler(o, kCpu);
  scaler.update(at::zeros({}, at::kFloat));
  EXPECT_EQ(scaler.current_scale(), std::ldexp(1.0, 127));  // 2^128 would be inf: kept
  EXPECT_EQ(scaler.state().growth_tracker, 0);
}

TEST(GradScaler, GradsOfSeveralDtypesAreUnscaledTogether) {
  const double s = 256.0;
  GradScaler scaler(options(s, 2000), kCpu);
  at::manual_seed(2);
  std::vector<at::Tensor> truth;
  for (at::ScalarType t : {at::kFloat, at::kDouble, at::kBFloat16, at::kHalf, at::kFloat}) {
    truth.push_back(at::randn({9}).to(t));
  }
  std::vector<at::Tensor> params;
  for (const auto& t : truth) params.push_back(param_with_grad(t * s));  // exact in every dtype here
  const at::Tensor found_inf = scaler.unscale(params);
  EXPECT_EQ(as_float(found_inf), 0.0f);
  for (size_t i = 0; i < truth.size(); ++i) {
    SCOPED_TRACE(std::string("grad ") + std::to_string(i) + " " + c10::toString(truth[i].scalar_type()));
    EXPECT_TRUE(same_bits(params[i].grad(), truth[i]));
  }

  // A nan in the bf16 group alone is still found.
  scaler.update(found_inf);
  at::Tensor bad = at::ones({5}, at::kBFloat16);
  bad[0].fill_(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(as_float(scaler.unscale({param_with_grad(at::ones({3}, at::kDouble)), param_with_grad(bad)})), 1.0f);
}

TEST(GradScaler, UnscaleTwiceWithoutUpdateIsAnInternalError) {
  GradScaler scaler(options(2.0, 2000), kCpu);
  std::vector<at::Tensor> params = {param_with_grad(at::full({2}, 8.0f))};
  const at::Tensor found_inf = scaler.unscale(params);
  try {
    scaler.unscale(params);
    FAIL() << "a second unscale() divided by the scale again";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kRuntime);
  }
  EXPECT_TRUE(same_bits(params[0].grad(), at::full({2}, 4.0f)));  // divided once only
  scaler.update(found_inf);
  EXPECT_NO_THROW(scaler.unscale(params));  // the next step may unscale again
  EXPECT_THROW(scaler.update(at::Tensor()), Error);
}

TEST(GradScaler, BadOptionsAreUsageErrors) {
  auto code = [](GradScalerOptions o) {
    try {
      GradScaler scaler(o, kCpu);
    } catch (const Error& e) {
      return e.code();
    }
    return ExitCode::kOk;
  };
  GradScalerOptions o;
  EXPECT_EQ(code(o), ExitCode::kOk);
  o.growth_interval = 0;
  EXPECT_EQ(code(o), ExitCode::kUsage);
  o = {};
  o.growth_factor = 1.0;
  EXPECT_EQ(code(o), ExitCode::kUsage);
  o = {};
  o.backoff_factor = 1.0;
  EXPECT_EQ(code(o), ExitCode::kUsage);
  o = {};
  o.init_scale = 0.0;
  EXPECT_EQ(code(o), ExitCode::kUsage);
  o.enabled = false;  // a disabled scaler uses none of them
  EXPECT_EQ(code(o), ExitCode::kOk);
}

std::string archive_bytes(torch::serialize::OutputArchive& out) {
  std::ostringstream os;
  out.save_to(os);
  return os.str();
}

void read_archive(torch::serialize::InputArchive& in, const std::string& bytes) {
  std::istringstream is(bytes);
  in.load_from(is);
}

TEST(GradScaler, StateRoundTripsThroughAnArchive) {
  const GradScalerOptions o = options(65536.0, 4);
  const at::Tensor good = at::zeros({}, at::kFloat), bad = at::ones({}, at::kFloat);
  GradScaler a(o, kCpu);
  for (const auto& f : {good, bad, good, good}) a.update(f);  // S = 2^15, tracker 2: neither default
  ASSERT_EQ(a.state().scale, 32768.0);
  ASSERT_EQ(a.state().growth_tracker, 2);

  torch::serialize::OutputArchive out;
  out.write("step", c10::IValue(int64_t(7)));  // beside the checkpoint's other keys
  save(out, a);
  torch::serialize::InputArchive in;
  read_archive(in, archive_bytes(out));
  GradScaler b(o, kCpu);
  ASSERT_TRUE(load(in, b));
  EXPECT_EQ(b.state().scale, 32768.0);
  EXPECT_EQ(b.state().growth_tracker, 2);
  // And the same behaviour after it: growth two good steps on, then a backoff.
  for (const auto& f : {good, good, good, bad, good}) {
    a.update(f);
    b.update(f);
    EXPECT_EQ(b.state().scale, a.state().scale);
    EXPECT_EQ(b.state().growth_tracker, a.state().growth_tracker);
  }
  EXPECT_EQ(b.state().scale, 32768.0);  // 2^15 -> 2^16 on the 2nd update -> 2^15 on the 4th

  // Under another prefix, the default's keys are not found.
  torch::serialize::OutputArchive other;
  save(other, a, "scaler_b");
  torch::serialize::InputArchive in_other;
  read_archive(in_other, archive_bytes(other));
  GradScaler c(o, kCpu);
  EXPECT_FALSE(load(in_other, c));
  EXPECT_TRUE(load(in_other, c, "scaler_b"));
  EXPECT_EQ(c.state().scale, a.state().scale);
}

TEST(GradScaler, AnArchiveWithoutScalerKeysLoadsNothing) {
  torch::serialize::OutputArchive out;
  out.write("step", c10::IValue(int64_t(7)));  // an old checkpoint's counters
  torch::serialize::InputArchive in;
  read_archive(in, archive_bytes(out));
  GradScaler scaler(options(512.0, 10), kCpu);
  EXPECT_FALSE(load(in, scaler));
  EXPECT_EQ(scaler.state().scale, 512.0);
  EXPECT_EQ(scaler.state().growth_tracker, 0);
}

TEST(GradScaler, ImpossibleSavedStateIsAUsageError) {
  GradScaler scaler(options(512.0, 10), kCpu);
  auto code = [&](torch::serialize::OutputArchive& out) {
    torch::serialize::InputArchive in;
    read_archive(in, archive_bytes(out));
    try {
      load(in, scaler);
    } catch (const Error& e) {
      return e.code();
    }
    return ExitCode::kOk;
  };
  torch::serialize::OutputArchive only_scale;
  only_scale.write("grad_scaler_scale", c10::IValue(1024.0));
  EXPECT_EQ(code(only_scale), ExitCode::kUsage);
  torch::serialize::OutputArchive tracker_too_large;
  tracker_too_large.write("grad_scaler_scale", c10::IValue(1024.0));
  tracker_too_large.write("grad_scaler_growth_tracker", c10::IValue(int64_t(10)));  // growth_interval 10
  EXPECT_EQ(code(tracker_too_large), ExitCode::kUsage);
  torch::serialize::OutputArchive not_a_float32;
  not_a_float32.write("grad_scaler_scale", c10::IValue(0.1));
  not_a_float32.write("grad_scaler_growth_tracker", c10::IValue(int64_t(0)));
  EXPECT_EQ(code(not_a_float32), ExitCode::kUsage);
  EXPECT_EQ(scaler.state().scale, 512.0);  // none of them got in
}

TEST(GradScaler, ADisabledScalerChangesNothing) {
  GradScalerOptions o;
  o.enabled = false;
  GradScaler scaler(o, kCpu);
  const at::Tensor loss = at::full({}, 3.0f);
  EXPECT_TRUE(scaler.scale(loss).is_same(loss));
  at::Tensor g = at::full({3}, 8.0f);
  g[1].fill_(std::numeric_limits<float>::infinity());
  std::vector<at::Tensor> params = {param_with_grad(g.clone())};
  const at::Tensor found_inf = scaler.unscale(params);
  EXPECT_FALSE(found_inf.defined());  // nothing was checked
  EXPECT_FALSE(GradScaler::should_skip(found_inf));
  EXPECT_TRUE(same_bits(params[0].grad(), g));
  EXPECT_NO_THROW(scaler.unscale(params));  // no once-per-step guard either
  scaler.update(found_inf);
  scaler.update(at::ones({}));
  EXPECT_EQ(scaler.current_scale(), 1.0);

  // It saves nothing (an enabled scaler finds no keys after it) and loads nothing (even
  // where an enabled scaler's keys are).
  GradScaler enabled(options(1024.0, 10), kCpu);
  torch::serialize::OutputArchive from_disabled;
  from_disabled.write("step", c10::IValue(int64_t(1)));
  save(from_disabled, scaler);
  torch::serialize::InputArchive in_disabled;
  read_archive(in_disabled, archive_bytes(from_disabled));
  EXPECT_FALSE(load(in_disabled, enabled));
  EXPECT_EQ(enabled.current_scale(), 1024.0);

  enabled.update(at::ones({}));
  torch::serialize::OutputArchive from_enabled;
  save(from_enabled, enabled);  // S = 512
  torch::serialize::InputArchive in_enabled;
  read_archive(in_enabled, archive_bytes(from_enabled));
  EXPECT_FALSE(load(in_enabled, scaler));
  EXPECT_EQ(scaler.current_scale(), 1.0);
}

// The CUDA kernels, and gradients on another device than the scaler's (each device gets its
// own found_inf, folded into the scaler's): only where a GPU is visible.
TEST(GradScaler, OnCudaWithAGradientLeftOnTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "needs a CUDA device (none visible)";
  const c10::Device cuda(c10::kCUDA, 0);
  const double s = 1024.0;
  GradScaler scaler(options(s, 2), cuda);
  at::manual_seed(3);
  const at::Tensor true_half = at::randn({33}).to(cuda, at::kHalf), true_float = at::randn({5, 7}).to(cuda);
  const at::Tensor true_cpu = at::randn({4});
  std::vector<at::Tensor> params = {param_with_grad(true_half * s), param_with_grad(true_float * s),
                                    param_with_grad(true_cpu * s)};
  at::Tensor found_inf = scaler.unscale(params);
  EXPECT_EQ(found_inf.device(), cuda);
  EXPECT_EQ(as_float(found_inf), 0.0f);
  EXPECT_TRUE(same_bits(params[0].grad(), true_half));
  EXPECT_TRUE(same_bits(params[1].grad(), true_float));
  EXPECT_TRUE(same_bits(params[2].grad(), true_cpu));
  scaler.update(found_inf);
  EXPECT_EQ(scaler.state().growth_tracker, 1);

  // An inf in the CPU gradient alone reaches the CUDA found_inf.
  at::Tensor bad = at::ones({4}) * float(s);
  bad[1].fill_(std::numeric_limits<float>::infinity());
  found_inf = scaler.unscale({param_with_grad(at::ones({3}, cuda) * float(s)), param_with_grad(bad)});
  EXPECT_EQ(as_float(found_inf), 1.0f);
  scaler.update(found_inf);
  EXPECT_EQ(scaler.state().scale, s / 2);
  EXPECT_EQ(scaler.state().growth_tracker, 0);
}

}  // namespace
}  // namespace kiln::train
