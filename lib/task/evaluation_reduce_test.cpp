// Evaluation::reduce for the built-in tasks: two "ranks" each evaluate a part of a split,
// their sums are added up through reduce (here by hand, as the all-reduce would), and the
// result is the whole split's, as one evaluation over all of it gives.
#include <gtest/gtest.h>

#include <functional>

#include "config/config.h"
#include "task/task.h"

namespace kiln::task {
namespace {

TaskPtr task_named(const std::string& name) {
  config::RunConfig c;
  c.train.task = name;
  return build(c);
}

struct Batch {
  at::Tensor out, target;
};

// The other rank's packed sums (from its own reduce call), added onto this rank's.
void expect_parts_add_up(const std::string& name, const std::vector<Batch>& batches) {
  const TaskPtr t = task_named(name);
  ASSERT_TRUE(t->sharded_evaluation()) << name;
  auto whole = t->evaluation();
  for (const auto& b : batches) whole->add(b.out, b.target);
  auto a = t->evaluation(), b = t->evaluation();
  const size_t half = batches.size() / 2;
  for (size_t i = 0; i < batches.size(); ++i) (i < half ? a : b)->add(batches[i].out, batches[i].target);
  std::vector<at::Tensor> other;
  ASSERT_TRUE(b->reduce([&](std::vector<at::Tensor>& t) {
    for (auto& x : t) other.push_back(x.clone());
  }));
  ASSERT_TRUE(a->reduce([&](std::vector<at::Tensor>& t) {
    ASSERT_EQ(t.size(), other.size());
    for (size_t i = 0; i < t.size(); ++i) t[i].add_(other[i]);
  }));
  const auto w = whole->result(), r = a->result();
  ASSERT_EQ(w.size(), r.size());
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(r[i], w[i], 1e-6 * (1 + std::abs(w[i]))) << name << " metric " << i;
  // The test bites: a part alone is not the whole.
  auto lone = t->evaluation();
  for (size_t i = 0; i < half; ++i) lone->add(batches[i].out, batches[i].target);
  EXPECT_NE(lone->result()[0], w[0]) << name;
}

TEST(EvaluationReduce, PartsAddUpToTheWholeSplit) {
  at::manual_seed(3);
  std::vector<Batch> cls, reg, lm;
  for (int k = 0; k < 4; ++k) {
    cls.push_back({at::randn({8, 5}), at::randint(0, 5, {8}, at::kLong)});
    reg.push_back({at::randn({8, 1}), at::randn({8})});
    lm.push_back({at::randn({2, 6, 11}), at::randint(0, 11, {2, 6}, at::kLong)});
  }
  expect_parts_add_up("classification", cls);
  expect_parts_add_up("regression", reg);
  expect_parts_add_up("language-model", lm);
}

}  // namespace
}  // namespace kiln::task
