// Tests of the random and TPE samplers on in-memory studies: what they may return, that they are
// deterministic, that TPE's split follows Optuna, and that TPE learns where random does not.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "optuna/sampler.h"
#include "sampler_test_util.h"
#include "util/error.h"

namespace kiln::optuna {
namespace {

using namespace test_support;  // sampler_test_util.h: *_dist, in_distribution, run_study

const Space kMixedSpace = {{"lr", float_dist(1e-5, 1.0, true)},
                           {"wd", float_dist(0.0, 0.1)},
                           {"dropout", float_dist(0.0, 0.5, false, 0.05)},
                           {"layers", int_dist(1, 4)},
                           {"width", int_dist(16, 256, 16)},
                           {"batch", int_dist(8, 512, 1, true)},
                           {"opt", cat_dist({"adam", "sgd", nullptr})}};

TEST(SweepRandomSampler, ValuesStayInsideTheDistribution) {
  auto sampler = make_random_sampler(3);
  const Study empty;
  std::map<double, int> layers;
  constexpr int kDraws = 4000;
  for (int n = 0; n < kDraws; ++n) {
    const auto p = sampler->sample(kMixedSpace, empty, n);
    ASSERT_EQ(p.size(), kMixedSpace.size());
    for (const auto& [name, d] : kMixedSpace) {
      ASSERT_TRUE(in_distribution(d, p.at(name))) << name << " = " << p.at(name);
    }
    ++layers[p.at("layers")];
  }
  // Bounds widened by half a step make the end values as likely as inner ones: each of 1..4
  // expects 1000 of 4000 draws (binomial sd 27); +-150 is over 5 sd, while unwidened bounds
  // would give the ends about 667.
  ASSERT_EQ(layers.size(), 4u);
  for (const auto& [v, count] : layers) EXPECT_NEAR(count, kDraws / 4, 150) << "layers=" << v;
}

TEST(SweepRandomSampler, LogUniformIsUniformInLogSpace) {
  auto sampler = make_random_sampler(11);
  const Space space = {{"lr", float_dist(1e-5, 1.0, true)}};
  std::vector<double> logs;
  for (int n = 0; n < 4001; ++n) logs.push_back(std::log10(sampler->sample(space, {}, n)["lr"]));
  std::nth_element(logs.begin(), logs.begin() + 2000, logs.end());
  // Uniform on [-5, 0] in log10: median -2.5. The sample median's sd is about
  // 5 * 0.5 / sqrt(4001) = 0.04, so 0.2 is 5 sd; a linear-uniform draw would put it near -0.3.
  EXPECT_NEAR(logs[2000], -2.5, 0.2);
}

TEST(SweepRandomSampler, DeterministicPerSeedAndNumber) {
  auto a = make_random_sampler(5), b = make_random_sampler(5), c = make_random_sampler(6);
  const Study empty;
  const auto later = a->sample(kMixedSpace, empty, 17);  // asked before the others
  std::vector<std::map<std::string, double>> from_a, from_b;
  for (int n = 0; n < 20; ++n) {
    from_a.push_back(a->sample(kMixedSpace, empty, n));
    from_b.push_back(b->sample(kMixedSpace, empty, n));
  }
  EXPECT_EQ(from_a, from_b);
  EXPECT_EQ(from_a[17], later);
  EXPECT_NE(from_a[0].at("lr"), from_a[1].at("lr"));
  EXPECT_NE(c->sample(kMixedSpace, empty, 0).at("lr"), from_a[0].at("lr"));
  EXPECT_NE(c->sample(kMixedSpace, empty, 0).at("wd"), from_a[0].at("wd"));
}

TEST(SweepTpeSampler, StartupTrialsAreRandomDraws) {
  auto tpe = make_tpe_sampler(9);
  auto random = make_random_sampler(9);
  auto objective = [](const auto& p) { return p.at("wd"); };
  const Study study = run_study(*tpe, kMixedSpace, 10, objective);
  for (const Trial& t : study.trials) {
    EXPECT_EQ(t.params, random->sample(kMixedSpace, {}, t.number)) << "trial " << t.number;
  }
  // From 10 COMPLETE+PRUNED trials on, TPE takes over (RUNNING and FAIL do not count).
  Study partial = study;
  partial.trials.resize(9);
  partial.trials.push_back(study.trials[9]);
  partial.trials.back().state = TrialState::kFail;
  EXPECT_EQ(tpe->sample(kMixedSpace, partial, 10), random->sample(kMixedSpace, {}, 10));
  partial.trials.back().state = TrialState::kPruned;
  EXPECT_NE(tpe->sample(kMixedSpace, partial, 10), random->sample(kMixedSpace, {}, 10));
}

TEST(SweepTpeSampler, DeterministicAndInsideTheDistribution) {
  auto objective = [](const auto& p) {
    return std::pow(std::log10(p.at("lr")) + 2, 2) + p.at("dropout") + p.at("opt");
  };
  auto a = make_tpe_sampler(21), b = make_tpe_sampler(21), c = make_tpe_sampler(22);
  const Study sa = run_study(*a, kMixedSpace, 30, objective);
  const Study sb = run_study(*b, kMixedSpace, 30, objective);
  const Study sc = run_study(*c, kMixedSpace, 30, objective);
  int differ = 0;
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(sa.trials[i].params, sb.trials[i].params) << "trial " << i;
    differ += sa.trials[i].params != sc.trials[i].params;
    for (const auto& [name, d] : kMixedSpace) {
      EXPECT_TRUE(in_distribution(d, sa.trials[i].params.at(name))) << name << ", trial " << i;
    }
  }
  EXPECT_GE(differ, 25) << "another seed should give other values";
  // The same study asked again (a resumed sweep) gives the same suggestion.
  EXPECT_EQ(a->sample(kMixedSpace, sa, 30), b->sample(kMixedSpace, sb, 30));
}

TEST(SweepTpeSampler, RejectsBadArguments) {
  EXPECT_THROW(make_tpe_sampler(0, -1), Error);
  EXPECT_THROW(make_tpe_sampler(0, 10, 0), Error);
  EXPECT_NO_THROW(make_tpe_sampler(0, 0, 1));
}

TEST(SweepTpeSampler, SplitFollowsOptunaRules) {
  EXPECT_EQ(tpe_default_gamma(0), 0);
  EXPECT_EQ(tpe_default_gamma(10), 1);
  EXPECT_EQ(tpe_default_gamma(11), 2);
  EXPECT_EQ(tpe_default_gamma(1000), 25);
  // Trials 0..5: COMPLETE with values 5, 1, 3 (numbers 0, 1, 2) and 1 again (number 5, ties
  // keep number order); PRUNED 3 (last step 4, value 9), 4 (last step 7, value 8).
  std::vector<Trial> trials(7);
  const double values[] = {5, 1, 3, 0, 0, 1, 0};
  for (int i = 0; i < 7; ++i) {
    trials[i].number = i;
    trials[i].state = TrialState::kComplete;
    trials[i].value = values[i];
  }
  trials[3].state = trials[4].state = TrialState::kPruned;
  trials[3].intermediate = {{0, 0.1}, {4, 9.0}};
  trials[4].intermediate = {{7, 8.0}};
  trials[6].state = TrialState::kRunning;  // ignored
  std::vector<const Trial*> all;
  for (const Trial& t : trials) all.push_back(&t);
  auto numbers = [](const std::vector<const Trial*>& v) {
    std::vector<int> out;
    for (const Trial* t : v) out.push_back(t->number);
    return out;
  };
  TpeSplit s = tpe_split_trials(all, Direction::kMinimize, 2);
  EXPECT_EQ(numbers(s.below), (std::vector<int>{1, 5}));
  EXPECT_EQ(numbers(s.above), (std::vector<int>{0, 2, 3, 4}));
  s = tpe_split_trials(all, Direction::kMaximize, 1);
  EXPECT_EQ(numbers(s.below), (std::vector<int>{0}));
  // Four COMPLETE trials fall short of 5: the PRUNED one that got further (step 7) fills in.
  s = tpe_split_trials(all, Direction::kMinimize, 5);
  EXPECT_EQ(numbers(s.below), (std::vector<int>{0, 1, 2, 4, 5}));
  EXPECT_EQ(numbers(s.above), (std::vector<int>{3}));
}

// Minimum 0 at lr = 10^-2.5, layers = 6, dropout = 0.2, opt = "adam"; shaped like a tuning
// problem: a log-scale optimum, a weak int effect, a small step grid and a categorical penalty.
double synthetic_loss(const std::map<std::string, double>& p) {
  const double penalty[] = {0.0, 0.5, 0.25};
  return std::pow(std::log10(p.at("lr")) + 2.5, 2) + std::pow((p.at("layers") - 6) / 4, 2) +
         4 * std::pow(p.at("dropout") - 0.2, 2) + penalty[static_cast<int>(p.at("opt"))];
}

TEST(SweepTpeSampler, BeatsRandomOnSyntheticObjective) {
  const Space space = {{"lr", float_dist(1e-5, 1.0, true)},
                       {"layers", int_dist(1, 16)},
                       {"dropout", float_dist(0.0, 0.5, false, 0.05)},
                       {"opt", cat_dist({"adam", "sgd", "rmsprop"})}};
  constexpr int kSeeds = 8, kTrials = 60;
  auto best_of = [&](Sampler& s) {
    double best = HUGE_VAL;
    for (const Trial& t : run_study(s, space, kTrials, synthetic_loss).trials) {
      best = std::min(best, *t.value);
    }
    return best;
  };
  int tpe_wins = 0;
  double tpe_sum = 0, random_sum = 0;
  for (int seed = 0; seed < kSeeds; ++seed) {
    const double tpe = best_of(*make_tpe_sampler(seed));
    const double random = best_of(*make_random_sampler(seed));
    tpe_wins += tpe < random;
    tpe_sum += tpe;
    random_sum += random;
  }
  // Measured over 100 seeds (12 disjoint groups of 8): mean best 0.08 for TPE vs 0.31 for
  // random (real Optuna 4.9 on the same problem: 0.10 for TPE, 0.33 for random), and in every
  // group of 8 TPE won at least 6 seeds with a group mean at most 0.43x random's. So: TPE must
  // win 6 of 8 and halve random's mean; a TPE that learned nothing would win about half the
  // seeds with about the same mean.
  EXPECT_GE(tpe_wins, 6) << "TPE won " << tpe_wins << " of " << kSeeds << " seeds";
  EXPECT_LT(tpe_sum, 0.5 * random_sum) << "mean best: TPE " << tpe_sum / kSeeds << ", random " << random_sum / kSeeds;
}

}  // namespace
}  // namespace kiln::optuna
