// The regression task's losses and metrics against values computed by hand.
#include <ATen/ops/tensor.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "task/task.h"
#include "util/error.h"

namespace kiln::task {
namespace {

TaskPtr regression(const std::string& loss = "mse", double delta = 1.0) {
  config::RunConfig c;
  c.train.task = "regression";
  c.train.regression_loss = loss;
  c.train.huber_delta = delta;
  return build(c);
}

TEST(RegressionTask, MetricsMatchHandComputedValues) {
  // Outputs [4, 1] against scalar targets: errors 1, -1, 0, 2.
  const at::Tensor out = at::tensor({2.0, 1.0, 3.0, 6.0}, at::kFloat).view({4, 1});
  const at::Tensor y = at::tensor({1.0, 2.0, 3.0, 4.0}, at::kFloat);
  const TaskPtr t = regression();
  EXPECT_NEAR(t->loss(out, y).item<double>(), (1 + 1 + 0 + 4) / 4.0, 1e-6);
  auto e = t->evaluation();
  e->add(out.slice(0, 0, 3), y.slice(0, 0, 3));  // two batches: sums carry across
  e->add(out.slice(0, 3), y.slice(0, 3));
  const auto v = e->result();
  ASSERT_EQ(v.size(), 4u);
  EXPECT_NEAR(v[0], 1.5, 1e-9);          // loss = MSE here
  EXPECT_NEAR(v[1], 1.5, 1e-9);          // mse: 6 / 4
  EXPECT_NEAR(v[2], 1.0, 1e-9);          // mae: 4 / 4
  EXPECT_NEAR(v[3], 1 - 6 / 5.0, 1e-9);  // r2: SST = sum (y - 2.5)^2 = 5
  EXPECT_EQ(metric_key("test", t->metrics()[3]), "test_r2");
  EXPECT_TRUE(t->metrics()[3].higher_is_better);
}

TEST(RegressionTask, HuberIsQuadraticWithinDeltaAndLinearBeyond) {
  const at::Tensor out = at::tensor({0.5, 3.0}, at::kFloat).view({2, 1});
  const at::Tensor y = at::tensor({0.0, 0.0}, at::kFloat).view({2, 1});
  // delta 1: 0.5 * 0.5^2 = 0.125; 1 * (3 - 0.5) = 2.5.
  EXPECT_NEAR(regression("huber", 1.0)->loss(out, y).item<double>(), (0.125 + 2.5) / 2, 1e-6);
}

TEST(RegressionTask, R2AveragesPerColumnAndRefusesClassLabels) {
  // Two target columns: column 0 predicted exactly (R^2 1), column 1 by its mean (R^2 0).
  const at::Tensor y = at::tensor({1.0, 10.0, 2.0, 20.0, 3.0, 30.0}, at::kFloat).view({3, 2});
  const at::Tensor out = at::tensor({1.0, 20.0, 2.0, 20.0, 3.0, 20.0}, at::kFloat).view({3, 2});
  auto e = regression()->evaluation();
  e->add(out, y);
  EXPECT_NEAR(e->result()[3], 0.5, 1e-9);
  data::SampleSpec labels;
  labels.target = {c10::ScalarType::Long, {}};
  EXPECT_THROW(regression()->check(labels, "fashion-mnist"), Error);
  data::SampleSpec two;
  two.target = {c10::ScalarType::Float, {2}};
  EXPECT_EQ(regression()->outputs(two), 2);
}

}  // namespace
}  // namespace kiln::task
