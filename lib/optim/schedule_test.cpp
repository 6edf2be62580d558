// Unit tests for optim/: lr_at against the formulas in schedule.h (and against the numbers
// PyTorch's OneCycleLR gives), and optimizer construction, set_lr and one real update.
#include <gtest/gtest.h>
#include <torch/nn.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "util/error.h"

namespace kiln::optim {
namespace {

constexpr double kPi = 3.14159265358979323846;

config::ScheduleConfig sched(const std::string& name) {
  config::ScheduleConfig c;
  c.name = name;
  return c;
}

// Relative closeness for values that are computed two different ways.
double rel_tol(double expected) { return 1e-12 * std::max(1e-300, std::fabs(expected)); }
#define EXPECT_REL(actual, expected) EXPECT_NEAR((actual), (expected), rel_tol(expected))

// ---- schedules ------------------------------------------------------------------------

TEST(Schedule, Constant) {
  const auto c = sched("constant");
  for (int64_t step : {0, 1, 50, 99, 1000}) EXPECT_EQ(lr_at(c, 0.01, step, 100, 10), 0.01) << step;
}

TEST(Schedule, StepWithExplicitStepSize) {
  auto c = sched("step");
  c.step_size = 30;
  c.gamma = 0.1;
  EXPECT_EQ(lr_at(c, 1.0, 0, 100, 7), 1.0);
  EXPECT_EQ(lr_at(c, 1.0, 29, 100, 7), 1.0);
  EXPECT_REL(lr_at(c, 1.0, 30, 100, 7), 0.1);
  EXPECT_REL(lr_at(c, 1.0, 59, 100, 7), 0.1);
  EXPECT_REL(lr_at(c, 1.0, 60, 100, 7), 0.01);
  EXPECT_REL(lr_at(c, 1.0, 95, 100, 7), 0.001);
  EXPECT_REL(lr_at(c, 0.4, 45, 100, 7), 0.04);
}

TEST(Schedule, StepSizeZeroMeansOneEpoch) {
  auto c = sched("step");
  c.step_size = 0;
  c.gamma = 0.5;
  const int64_t spe = 10;
  EXPECT_EQ(lr_at(c, 0.8, 0, 100, spe), 0.8);
  EXPECT_EQ(lr_at(c, 0.8, 9, 100, spe), 0.8);
  EXPECT_EQ(lr_at(c, 0.8, 10, 100, spe), 0.4);
  EXPECT_EQ(lr_at(c, 0.8, 19, 100, spe), 0.4);
  EXPECT_EQ(lr_at(c, 0.8, 25, 100, spe), 0.2);
  EXPECT_EQ(lr_at(c, 0.8, 99, 100, spe), 0.8 / 512);
}

TEST(Schedule, CosineStartMiddleEnd) {
  auto c = sched("cosine");
  c.min_lr = 0.001;
  const double lr = 0.1;
  const int64_t total = 101;  // t = step / 100
  EXPECT_REL(lr_at(c, lr, 0, total, 10), lr);
  EXPECT_REL(lr_at(c, lr, 50, total, 10), (lr + 0.001) / 2);
  // t = 1/4: (1 + cos(pi/4)) / 2 = (1 + sqrt(1/2)) / 2
  EXPECT_REL(lr_at(c, lr, 25, total, 10), 0.001 + (lr - 0.001) * (1 + std::sqrt(0.5)) / 2);
  // t = 3/4: (1 - sqrt(1/2)) / 2
  EXPECT_REL(lr_at(c, lr, 75, total, 10), 0.001 + (lr - 0.001) * (1 - std::sqrt(0.5)) / 2);
  EXPECT_REL(lr_at(c, lr, 100, total, 10), 0.001);
  // Monotonically non-increasing over the run.
  double prev = lr_at(c, lr, 0, total, 10);
  for (int64_t s = 1; s < total; ++s) {
    const double cur = lr_at(c, lr, s, total, 10);
    EXPECT_LE(cur, prev) << s;
    prev = cur;
  }
}

TEST(Schedule, CosineDefaultMinIsZero) {
  const auto c = sched("cosine");
  EXPECT_REL(lr_at(c, 0.3, 0, 11, 1), 0.3);
  EXPECT_REL(lr_at(c, 0.3, 5, 11, 1), 0.15);
  EXPECT_NEAR(lr_at(c, 0.3, 10, 11, 1), 0.0, 1e-18);
}

TEST(Schedule, OneCycleShape) {
  auto c = sched("onecycle");
  c.pct_start = 0.3;
  c.div_factor = 25.0;
  c.final_div_factor = 1e4;
  const double lr = 0.1;
  const int64_t total = 100;
  EXPECT_REL(lr_at(c, lr, 0, total, 10), lr / 25.0);
  // The peak is at step pct_start * total - 1 = 29.
  EXPECT_REL(lr_at(c, lr, 29, total, 10), lr);
  EXPECT_LT(lr_at(c, lr, 28, total, 10), lr);
  EXPECT_LT(lr_at(c, lr, 30, total, 10), lr);
  EXPECT_REL(lr_at(c, lr, 99, total, 10), lr / (25.0 * 1e4));
  // On the way up and on the way down, the cosine interpolation itself.
  const double initial = lr / 25.0;
  const double t_up = 15.0 / 29.0;
  EXPECT_REL(lr_at(c, lr, 15, total, 10), lr + (initial - lr) * (1 + std::cos(kPi * t_up)) / 2);
  const double final_lr = initial / 1e4;
  const double t_down = (50.0 - 29.0) / (99.0 - 29.0);
  EXPECT_REL(lr_at(c, lr, 50, total, 10), final_lr + (lr - final_lr) * (1 + std::cos(kPi * t_down)) / 2);
}

TEST(Schedule, OneCycleMatchesPyTorch) {
  // Reference values from PyTorch 2.11: torch.optim.lr_scheduler.OneCycleLR(SGD(lr=max_lr),
  // max_lr, total_steps, pct_start, div_factor, final_div_factor, anneal_strategy="cos",
  // three_phase=False, cycle_momentum=False), reading param_groups[0]["lr"] before each step.
  {
    auto c = sched("onecycle");
    c.pct_start = 0.3;
    c.div_factor = 25.0;
    c.final_div_factor = 1e4;
    const std::vector<std::pair<int64_t, double>> ref = {{0, 0.0040000000000000036},
                                                         {1, 0.004281378056590748},
                                                         {15, 0.05459866761210004},
                                                         {28, 0.09971862194340926},
                                                         {29, 0.1},
                                                         {30, 0.09994965352845243},
                                                         {50, 0.0793893450575732},
                                                         {98, 5.07464715475788e-05},
                                                         {99, 4e-07}};
    for (const auto& [step, want] : ref) EXPECT_REL(lr_at(c, 0.1, step, 100, 10), want) << "step " << step;
  }
  {
    // pct_start * total - 1 = 1.5 is not an integer step.
    auto c = sched("onecycle");
    c.pct_start = 0.25;
    c.div_factor = 10.0;
    c.final_div_factor = 100.0;
    const double ref[10] = {3.0000000000000024e-05, 0.00023249999999999996,
                            0.00029672541796996074, 0.00027138119660708587,
                            0.00022507499999999998, 0.00016581359022065786,
                            0.00010384380339291413, 4.988077863712514e-05,
                            1.3255213172256242e-05, 3e-07};
    for (int64_t step = 0; step < 10; ++step) EXPECT_REL(lr_at(c, 3e-4, step, 10, 5), ref[step]) << "step " << step;
  }
}

TEST(Schedule, WarmupScalesLinearlyThenHandsOver) {
  auto c = sched("constant");
  c.warmup_steps = 4;
  EXPECT_REL(lr_at(c, 0.1, 0, 100, 10), 0.025);
  EXPECT_REL(lr_at(c, 0.1, 1, 100, 10), 0.05);
  EXPECT_REL(lr_at(c, 0.1, 2, 100, 10), 0.075);
  EXPECT_REL(lr_at(c, 0.1, 3, 100, 10), 0.1);
  EXPECT_EQ(lr_at(c, 0.1, 4, 100, 10), 0.1);
  EXPECT_EQ(lr_at(c, 0.1, 50, 100, 10), 0.1);

  // With cosine: warm-up multiplies the schedule's own lr, and after it the schedule is untouched.
  auto w = sched("cosine");
  w.warmup_steps = 10;
  const auto plain = sched("cosine");
  for (int64_t s = 0; s < 10; ++s) {
    EXPECT_REL(lr_at(w, 0.2, s, 50, 5), lr_at(plain, 0.2, s, 50, 5) * double(s + 1) / 10.0) << s;
  }
  for (int64_t s = 10; s < 50; ++s) EXPECT_EQ(lr_at(w, 0.2, s, 50, 5), lr_at(plain, 0.2, s, 50, 5)) << s;
}

// The ends of every schedule: step 0 gets the start value for every run length, including a
// one-step run (train.max_steps = 1 logged lr 0.0: cosine took its one step as the last).
TEST(Schedule, FirstStepGetsTheStartValueForEveryLength) {
  auto onecycle = sched("onecycle");
  auto cosine = sched("cosine");
  cosine.min_lr = 1e-5;
  for (int64_t total : {1, 2, 3, 4, 10, 1000}) {
    EXPECT_EQ(lr_at(sched("constant"), 0.1, 0, total, 10), 0.1) << total;
    EXPECT_EQ(lr_at(sched("step"), 0.1, 0, total, 10), 0.1) << total;
    EXPECT_EQ(lr_at(cosine, 0.1, 0, total, 10), 0.1) << total;
    EXPECT_REL(lr_at(onecycle, 0.1, 0, total, 10), 0.1 / 25.0) << total;
  }
}

TEST(Schedule, LastStepGetsTheEndValueFromTwoSteps) {
  auto cosine = sched("cosine");
  cosine.min_lr = 1e-5;
  const auto onecycle = sched("onecycle");
  for (int64_t total : {2, 3, 4, 10, 1000}) {
    EXPECT_REL(lr_at(cosine, 0.1, total - 1, total, 10), 1e-5) << total;
    EXPECT_REL(lr_at(onecycle, 0.1, total - 1, total, 10), 0.1 / 25.0 / 1e4) << total;
  }
  // Two steps: start, then end; no step outside [end, start].
  EXPECT_EQ(lr_at(cosine, 0.1, 0, 2, 10), 0.1);
  for (int64_t total : {2, 3, 5, 7}) {
    for (int64_t s = 0; s < total; ++s) {
      const double c = lr_at(cosine, 0.1, s, total, 10), o = lr_at(onecycle, 0.1, s, total, 10);
      EXPECT_TRUE(c >= 1e-5 && c <= 0.1) << total << " " << s << " " << c;
      EXPECT_TRUE(o >= 0.1 / 25.0 / 1e4 && o <= 0.1) << total << " " << s << " " << o;
    }
  }
}

TEST(Schedule, WarmupLongerThanTheRunKeepsRamping) {
  for (const char* name : {"constant", "cosine", "onecycle", "step"}) {
    auto w = sched(name);
    w.warmup_steps = 100;
    const auto plain = sched(name);
    for (int64_t total : {1, 2, 10}) {
      // Step 0: the schedule's start value times 1/warmup_steps; never 0 (that step would be wasted).
      EXPECT_REL(lr_at(w, 0.1, 0, total, 10), lr_at(plain, 0.1, 0, total, 10) / 100.0) << name << " " << total;
      // And the warm-up factor never zeroes a step the schedule itself gives lr to (cosine ends at min_lr).
      if (std::string(name) != "cosine") {
        EXPECT_GT(lr_at(w, 0.1, total - 1, total, 10), 0.0) << name << " " << total;
      }
    }
  }
}

TEST(Schedule, UnknownScheduleThrows) {
  const auto c = sched("exponential");
  try {
    lr_at(c, 0.1, 0, 10, 1);
    FAIL() << "no throw for an unknown schedule";
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), kiln::ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("exponential"), std::string::npos) << e.what();
  }
}

// ---- optimizers -----------------------------------------------------------------------

at::Tensor scalar_param(double v) {
  return torch::full({1}, v, torch::TensorOptions().dtype(torch::kFloat64).requires_grad(true));
}

TEST(OptimBuild, SgdFromConfig) {
  config::OptimConfig cfg;
  cfg.name = "sgd";
  cfg.lr = 0.05;
  cfg.momentum = 0.8;
  cfg.nesterov = true;
  cfg.weight_decay = 1e-4;
  auto opt = build(cfg, {scalar_param(1.0)});
  auto* sgd = dynamic_cast<torch::optim::SGD*>(opt.get());
  ASSERT_NE(sgd, nullptr);
  ASSERT_EQ(opt->param_groups().size(), 1u);
  auto& o = static_cast<torch::optim::SGDOptions&>(opt->param_groups()[0].options());
  EXPECT_EQ(o.get_lr(), 0.05);
  EXPECT_EQ(o.momentum(), 0.8);
  EXPECT_TRUE(o.nesterov());
  EXPECT_EQ(o.weight_decay(), 1e-4);
}

TEST(OptimBuild, AdamWFromConfig) {
  config::OptimConfig cfg;
  cfg.name = "adamw";
  cfg.lr = 3e-4;
  cfg.beta1 = 0.85;
  cfg.beta2 = 0.95;
  cfg.eps = 1e-6;
  cfg.weight_decay = 0.05;
  auto opt = build(cfg, {scalar_param(1.0), scalar_param(2.0)});
  ASSERT_NE(dynamic_cast<torch::optim::AdamW*>(opt.get()), nullptr);
  ASSERT_EQ(opt->param_groups().size(), 1u);
  EXPECT_EQ(opt->param_groups()[0].params().size(), 2u);
  auto& o = static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[0].options());
  EXPECT_EQ(o.get_lr(), 3e-4);
  EXPECT_EQ(std::get<0>(o.betas()), 0.85);
  EXPECT_EQ(std::get<1>(o.betas()), 0.95);
  EXPECT_EQ(o.eps(), 1e-6);
  EXPECT_EQ(o.weight_decay(), 0.05);
}

TEST(OptimBuild, UnknownOptimizerIsUsageError) {
  config::OptimConfig cfg;
  cfg.name = "rmsprop";
  try {
    build(cfg, {scalar_param(1.0)});
    FAIL() << "no throw for an unknown optimizer";
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), kiln::ExitCode::kUsage);
  }
}

TEST(OptimSetLr, ChangesEveryGroup) {
  for (const char* name : {"sgd", "adamw"}) {
    config::OptimConfig cfg;
    cfg.name = name;
    cfg.lr = 0.01;
    auto opt = build(cfg, {scalar_param(1.0)});
    opt->add_param_group(torch::optim::OptimizerParamGroup({scalar_param(2.0)}));
    ASSERT_EQ(opt->param_groups().size(), 2u) << name;
    set_lr(*opt, 0.123);
    for (auto& g : opt->param_groups()) EXPECT_EQ(g.options().get_lr(), 0.123) << name;
  }
}

TEST(OptimStep, SgdMomentumOnQuadratic) {
  // loss = x^2, grad = 2x. PyTorch SGD: buf_1 = g_1, buf_t = m * buf_{t-1} + g_t; x -= lr * buf.
  config::OptimConfig cfg;
  cfg.name = "sgd";
  cfg.lr = 0.1;
  cfg.momentum = 0.9;
  cfg.weight_decay = 0.0;
  at::Tensor x = scalar_param(2.0);
  auto opt = build(cfg, {x});
  double xv = 2.0, buf = 0.0;
  for (int t = 0; t < 5; ++t) {
    opt->zero_grad();
    (x * x).sum().backward();
    opt->step();
    const double g = 2 * xv;
    buf = t == 0 ? g : 0.9 * buf + g;
    xv -= 0.1 * buf;
    EXPECT_NEAR(x.item<double>(), xv, 1e-12) << "after step " << t + 1;
  }
  set_lr(*opt, 0.0);  // lr 0: no movement at all
  const double before = x.item<double>();
  opt->zero_grad();
  (x * x).sum().backward();
  opt->step();
  EXPECT_EQ(x.item<double>(), before);
}

TEST(OptimStep, SgdFirstStepsByHand) {
  // 2 - 0.1*4 = 1.6; then buf = 0.9*4 + 3.2 = 6.8 and 1.6 - 0.68 = 0.92.
  config::OptimConfig cfg;
  cfg.name = "sgd";
  cfg.lr = 0.1;
  cfg.momentum = 0.9;
  at::Tensor x = scalar_param(2.0);
  auto opt = build(cfg, {x});
  opt->zero_grad();
  (x * x).sum().backward();
  opt->step();
  EXPECT_NEAR(x.item<double>(), 1.6, 1e-12);
  opt->zero_grad();
  (x * x).sum().backward();
  opt->step();
  EXPECT_NEAR(x.item<double>(), 0.92, 1e-12);
}

TEST(OptimStep, AdamWFirstStepIsLrTimesSignWithDecoupledDecay) {
  // First Adam step: m_hat / (sqrt(v_hat) + eps) = g / (|g| + eps) ~ sign(g); decoupled weight
  // decay multiplies x by (1 - lr * wd) first.
  config::OptimConfig cfg;
  cfg.name = "adamw";
  cfg.lr = 0.01;
  cfg.weight_decay = 0.1;
  cfg.eps = 1e-8;
  at::Tensor x = scalar_param(2.0);
  auto opt = build(cfg, {x});
  opt->zero_grad();
  (x * x).sum().backward();
  opt->step();
  EXPECT_NEAR(x.item<double>(), 2.0 * (1 - 0.01 * 0.1) - 0.01 * 4.0 / (4.0 + 1e-8), 1e-12);
}

}  // namespace
}  // namespace kiln::optim
