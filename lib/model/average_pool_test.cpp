// average_pool against ATen's adaptive_avg_pool2d (CPU): the same values and the same input
// gradient, for maps that divide evenly and maps whose windows overlap.
#include "model/average_pool.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace kiln::model {
namespace {

void expect_same_as_adaptive(int64_t H, int64_t W, int64_t h, int64_t w) {
  SCOPED_TRACE(std::to_string(H) + "x" + std::to_string(W) + " -> " + std::to_string(h) + "x" + std::to_string(w));
  at::manual_seed(3);
  const at::Tensor x = at::randn({2, 3, H, W}, at::kDouble);
  const at::Tensor g = at::randn({2, 3, h, w}, at::kDouble);
  at::Tensor a = x.clone().requires_grad_(), b = x.clone().requires_grad_();
  const at::Tensor ours = average_pool(a, h, w), theirs = at::adaptive_avg_pool2d(b, {h, w});
  ASSERT_EQ(ours.sizes(), theirs.sizes());
  EXPECT_TRUE(at::allclose(ours, theirs, 1e-12, 1e-12));
  ours.backward(g);
  theirs.backward(g);
  EXPECT_TRUE(at::allclose(a.grad(), b.grad(), 1e-12, 1e-12));
}

TEST(AveragePool, EvenlyDividingMapsMatchAdaptivePooling) { expect_same_as_adaptive(56, 56, 7, 7); }

TEST(AveragePool, OverlappingWindowsMatchAdaptivePooling) {
  expect_same_as_adaptive(10, 10, 7, 7);
  expect_same_as_adaptive(9, 13, 4, 5);
  expect_same_as_adaptive(8, 5, 3, 5);
}

TEST(AveragePool, KeepsTheInputsDtype) {
  const at::Tensor x = at::ones({1, 1, 10, 10}, at::kFloat);
  EXPECT_EQ(average_pool(x, 7, 7).scalar_type(), at::kFloat);
  EXPECT_TRUE(at::allclose(average_pool(x, 7, 7), at::ones({1, 1, 7, 7})));
}

}  // namespace
}  // namespace kiln::model
