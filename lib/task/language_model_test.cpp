// The language-model task's loss and metrics against values computed by hand.
#include <ATen/ops/tensor.h>
#include <gtest/gtest.h>

#include <cmath>

#include "config/config.h"
#include "task/task.h"
#include "util/error.h"

namespace kiln::task {
namespace {

config::RunConfig lm_config() {
  config::RunConfig c;
  c.train.task = "language-model";
  return c;
}

// Logits [1, 2, 3] (two positions, vocab 3) whose softmax is known in closed form.
at::Tensor logits() { return at::tensor({0.0, 0.0, 0.0, 2.0, 0.0, 0.0}, at::kFloat).view({1, 2, 3}); }

TEST(LanguageModelTask, LossIsTheMeanTokenCrossEntropyAndPerplexityItsExp) {
  const TaskPtr t = build(lm_config());
  const at::Tensor targets = at::tensor({int64_t(1), int64_t(0)}, at::kLong).view({1, 2});
  // Position 0: uniform over 3, -log(1/3). Position 1: -log(e^2 / (e^2 + 2)).
  const double l0 = std::log(3.0), l1 = -std::log(std::exp(2.0) / (std::exp(2.0) + 2.0));
  EXPECT_NEAR(t->loss(logits(), targets).item<double>(), (l0 + l1) / 2, 1e-6);
  auto eval = t->evaluation();
  eval->add(logits(), targets);
  // A second batch, all uniform: three tokens of log(3) each.
  eval->add(at::zeros({1, 3, 3}), at::tensor({int64_t(2), int64_t(2), int64_t(0)}, at::kLong).view({1, 3}));
  const auto v = eval->result();
  const double mean = (l0 + l1 + 3 * l0) / 5;  // per token, not per window
  ASSERT_EQ(v.size(), 2u);
  EXPECT_NEAR(v[0], mean, 1e-6);
  EXPECT_NEAR(v[1], std::exp(mean), 1e-5);
  ASSERT_EQ(t->metrics().size(), 2u);
  EXPECT_EQ(metric_key("test", t->metrics()[1]), "test_perplexity");
  EXPECT_FALSE(t->metrics()[1].higher_is_better);
}

TEST(LanguageModelTask, CountsTokensAndRefusesDatasetsWithoutTokenWindows) {
  const TaskPtr t = build(lm_config());
  data::SampleSpec windows;
  windows.input = {c10::ScalarType::Long, {64}};
  windows.target = {c10::ScalarType::Long, {64}};
  windows.num_classes = 256;
  EXPECT_NO_THROW(t->check(windows, "tokens"));
  EXPECT_EQ(t->outputs(windows), 256);
  EXPECT_EQ(t->tokens_per_sample(windows), 64);
  data::SampleSpec images;
  images.input = {c10::ScalarType::Byte, {1, 28, 28}};
  images.target = {c10::ScalarType::Long, {}};
  images.num_classes = 10;
  try {
    t->check(images, "fashion-mnist");
    ADD_FAILURE() << "an image dataset was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("fashion-mnist"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kiln::task
