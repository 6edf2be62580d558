// Tests of the grid sampler on in-memory studies: the grid is exactly the product, each point
// comes once before any repeats, points held by other trials are skipped, the order is seeded.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "optuna/sampler.h"
#include "sampler_test_util.h"
#include "util/error.h"

namespace kiln::optuna {
namespace {

using namespace test_support;  // sampler_test_util.h: *_dist, in_distribution, run_study

const Space kGridSpace = {{"layers", int_dist(1, 4)},
                          {"dropout", float_dist(0.0, 0.5, false, 0.1)},
                          {"opt", cat_dist({"adam", "sgd", "rmsprop"})}};

// The point as grid indices (layers - 1, dropout / 0.1, opt), checked to lie on the grid.
std::vector<int> grid_indices(const std::map<std::string, double>& p) {
  const double k = p.at("dropout") / 0.1;
  EXPECT_NEAR(k, std::round(k), 1e-9);
  return {static_cast<int>(p.at("layers")) - 1, static_cast<int>(std::round(k)), static_cast<int>(p.at("opt"))};
}

TEST(SweepGridSampler, SizeIsTheProductOfAxes) {
  EXPECT_EQ(grid_size(kGridSpace), 4u * 6u * 3u);
  EXPECT_EQ(grid_size({}), 1u);
  EXPECT_EQ(grid_size({{"n", int_dist(0, 8, 2)}}), 5u);     // 0 2 4 6 8
  EXPECT_EQ(grid_size({{"c", float_dist(0.5, 0.5)}}), 1u);  // a constant needs no step
  // (0.3 - 0.1) / 0.1 is 1.9999999999999996 in binary: still 3 points.
  EXPECT_EQ(grid_size({{"x", float_dist(0.1, 0.3, false, 0.1)}}), 3u);
}

TEST(SweepGridSampler, RejectsFloatWithoutStep) {
  for (const Distribution& d : {float_dist(0, 1), float_dist(1e-5, 1, true)}) {
    try {
      grid_size({{"lr", d}});
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage);
      EXPECT_NE(std::string(e.what()).find("lr"), std::string::npos) << e.what();
    }
    EXPECT_THROW(make_grid_sampler({{"lr", d}}, 0), Error);
  }
}

TEST(SweepGridSampler, VisitsEveryPointOnceBeforeRepeating) {
  const size_t size = grid_size(kGridSpace);
  auto sampler = make_grid_sampler(kGridSpace, 42);
  const Study study = run_study(*sampler, kGridSpace, static_cast<int>(2 * size), [](const auto&) { return 0.0; });
  std::set<std::vector<int>> first, second;
  for (const Trial& t : study.trials) {
    for (const auto& [name, d] : kGridSpace) {
      EXPECT_TRUE(in_distribution(d, t.params.at(name))) << name;
    }
    std::set<std::vector<int>>& pass = t.number < static_cast<int>(size) ? first : second;
    EXPECT_TRUE(pass.insert(grid_indices(t.params)).second) << "repeat at trial " << t.number;
  }
  // Each pass is exactly the product {0..3} x {0..5} x {0..2}.
  std::set<std::vector<int>> product;
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 6; ++b)
      for (int c = 0; c < 3; ++c) product.insert({a, b, c});
  EXPECT_EQ(first, product);
  EXPECT_EQ(second, product);
}

TEST(SweepGridSampler, SkipsPointsHeldByOtherTrials) {
  const size_t size = grid_size(kGridSpace);
  auto sampler = make_grid_sampler(kGridSpace, 7);
  // Another worker holds four points (one per state that counts) and enqueued a fifth (WAITING,
  // which does not count). Numbers 0..4 are taken by them.
  Study study;
  const TrialState states[] = {TrialState::kRunning, TrialState::kComplete, TrialState::kPruned, TrialState::kFail,
                               TrialState::kWaiting};
  std::set<std::vector<int>> held;
  for (int i = 0; i < 5; ++i) {
    Trial t;
    t.id = t.number = i;
    t.state = states[i];
    t.params = {{"layers", 1.0 + i % 4}, {"dropout", 0.1 * i}, {"opt", i % 3 * 1.0}};
    if (t.state != TrialState::kWaiting) held.insert(grid_indices(t.params));
    study.trials.push_back(t);
  }
  std::set<std::vector<int>> seen;
  for (int n = 5; n < static_cast<int>(size) + 1; ++n) {
    Trial t;
    t.id = t.number = n;
    t.params = sampler->sample(kGridSpace, study, n);
    t.state = TrialState::kRunning;  // parallel workers: nothing has finished
    const std::vector<int> idx = grid_indices(t.params);
    EXPECT_EQ(held.count(idx), 0u) << "trial " << n << " took a held point";
    EXPECT_TRUE(seen.insert(idx).second) << "trial " << n << " repeated a point";
    study.trials.push_back(t);
  }
  // size - 4 new points: with the four held ones, the whole grid.
  EXPECT_EQ(seen.size() + held.size(), size);
}

TEST(SweepGridSampler, OrderDependsOnlyOnSeedAndNumber) {
  auto a = make_grid_sampler(kGridSpace, 1);
  auto b = make_grid_sampler(kGridSpace, 1);
  auto c = make_grid_sampler(kGridSpace, 2);
  const Study empty;
  // Asked in a different order, the same numbers get the same points (an empty study: each
  // number's point is its place in the seeded permutation).
  std::vector<std::map<std::string, double>> forward, backward(10);
  for (int n = 0; n < 10; ++n) forward.push_back(a->sample(kGridSpace, empty, n));
  for (int n = 9; n >= 0; --n) backward[n] = b->sample(kGridSpace, empty, n);
  EXPECT_EQ(forward, backward);
  int differ = 0;
  for (int n = 0; n < 10; ++n) differ += c->sample(kGridSpace, empty, n) != forward[n];
  EXPECT_GE(differ, 5) << "another seed should shuffle the grid differently";
}

}  // namespace
}  // namespace kiln::optuna
