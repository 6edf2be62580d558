// Tests of the median and successive-halving pruners: the rules one by one on hand-built studies
// (pruner_interop_test.cpp replays whole synthetic sweeps through kiln and real Optuna).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "optuna/pruner.h"
#include "util/error.h"

namespace kiln::optuna {
namespace {

Trial finished_trial(int number, TrialState state, std::map<int, double> intermediate) {
  Trial t;
  t.id = number;
  t.number = number;
  t.state = state;
  t.intermediate = std::move(intermediate);
  if (!t.intermediate.empty()) t.value = t.intermediate.rbegin()->second;
  return t;
}

// A study whose COMPLETE trials report `per_step[s]` (one value per trial) at each step s.
Study completed_study(Direction direction, const std::vector<std::vector<double>>& per_trial) {
  Study study;
  study.direction = direction;
  for (size_t i = 0; i < per_trial.size(); ++i) {
    std::map<int, double> inter;
    for (size_t s = 0; s < per_trial[i].size(); ++s) inter[static_cast<int>(s)] = per_trial[i][s];
    study.trials.push_back(finished_trial(static_cast<int>(i), TrialState::kComplete, inter));
  }
  return study;
}

// A RUNNING trial numbered after the study's trials, holding `intermediate`.
Trial running_trial(const Study& study, std::map<int, double> intermediate) {
  Trial t = finished_trial(static_cast<int>(study.trials.size()), TrialState::kRunning, std::move(intermediate));
  t.value.reset();
  return t;
}

TEST(SweepMedianPruner, WaitsForStartupTrials) {
  auto pruner = make_median_pruner(/*n_startup_trials=*/5);
  Study study = completed_study(Direction::kMinimize, {{1.0}, {1.0}, {1.0}, {1.0}});
  const Trial bad = running_trial(study, {{0, 100.0}});
  EXPECT_FALSE(pruner->decide(study, bad).prune) << "4 COMPLETE trials < 5 startup trials";
  study.trials.push_back(finished_trial(4, TrialState::kPruned, {{0, 1.0}}));
  EXPECT_FALSE(pruner->decide(study, bad).prune) << "PRUNED trials do not count";
  study.trials.push_back(finished_trial(5, TrialState::kComplete, {{0, 1.0}}));
  EXPECT_TRUE(pruner->decide(study, running_trial(study, {{0, 100.0}})).prune);
}

TEST(SweepMedianPruner, NoPruningDuringWarmup) {
  auto pruner = make_median_pruner(1, /*n_warmup_steps=*/3);
  const Study study = completed_study(Direction::kMinimize, {{1, 1, 1, 1, 1}});
  EXPECT_FALSE(pruner->decide(study, running_trial(study, {{0, 9}, {1, 9}, {2, 9}})).prune);
  EXPECT_TRUE(pruner->decide(study, running_trial(study, {{0, 9}, {1, 9}, {2, 9}, {3, 9}})).prune);
}

TEST(SweepMedianPruner, JudgesOnlyTheFirstReportOfEachInterval) {
  // Warmup 1, interval 3: marks at steps 1, 4, 7. A report is judged only if the one before it
  // lies before the latest mark.
  auto pruner = make_median_pruner(1, 1, 3);
  const Study study = completed_study(Direction::kMinimize, {std::vector<double>(10, 0.0)});
  std::map<int, double> inter;
  std::vector<int> judged;
  for (int step = 0; step < 10; ++step) {
    inter[step] = 5.0;  // always worse than the median (0)
    if (pruner->decide(study, running_trial(study, inter)).prune) judged.push_back(step);
  }
  EXPECT_EQ(judged, (std::vector<int>{1, 4, 7}));
  // Sparse reports: 0, 5, 6. At 5 the previous report (0) lies before mark 4: judged; at 6 the
  // previous (5) does not lie before mark 4: skipped.
  EXPECT_TRUE(pruner->decide(study, running_trial(study, {{0, 5.0}, {5, 5.0}})).prune);
  EXPECT_FALSE(pruner->decide(study, running_trial(study, {{0, 5.0}, {5, 5.0}, {6, 5.0}})).prune);
}

TEST(SweepMedianPruner, ComparesBestValueWithInterpolatedMedian) {
  auto pruner = make_median_pruner(1);
  // Values at step 1: 1, 2, 3, 4 (NaN ignored) -> median 2.5 (linear interpolation).
  const Study min_study = completed_study(Direction::kMinimize, {{0, 4}, {0, 1}, {0, 3}, {0, 2}, {0, std::nan("")}});
  EXPECT_FALSE(pruner->decide(min_study, running_trial(min_study, {{0, 9}, {1, 2.5}})).prune);
  EXPECT_TRUE(pruner->decide(min_study, running_trial(min_study, {{0, 9}, {1, 2.6}})).prune);
  // The best over all steps counts, not the latest: 1.0 at step 0 keeps it.
  EXPECT_FALSE(pruner->decide(min_study, running_trial(min_study, {{0, 1.0}, {1, 9}})).prune);

  Study max_study = min_study;
  max_study.direction = Direction::kMaximize;
  EXPECT_FALSE(pruner->decide(max_study, running_trial(max_study, {{0, -9}, {1, 2.5}})).prune);
  EXPECT_TRUE(pruner->decide(max_study, running_trial(max_study, {{0, -9}, {1, 2.4}})).prune);
}

TEST(SweepMedianPruner, PrunesAllNanAndRespectsMinTrials) {
  auto pruner = make_median_pruner(1);
  const Study study = completed_study(Direction::kMinimize, {{1.0, 1.0}});
  EXPECT_TRUE(pruner->decide(study, running_trial(study, {{0, std::nan("")}})).prune);
  // NaN next to a real value: the best (NaN-ignoring) is 0.5, below the median 1.0.
  EXPECT_FALSE(pruner->decide(study, running_trial(study, {{0, 0.5}, {1, std::nan("")}})).prune);
  // Only one COMPLETE trial reported step 0; two are required.
  auto strict = make_median_pruner(1, 0, 1, /*n_min_trials=*/2);
  EXPECT_FALSE(strict->decide(study, running_trial(study, {{0, 100.0}})).prune);
  // No report yet: nothing to judge.
  EXPECT_FALSE(pruner->decide(study, running_trial(study, {})).prune);
}

TEST(SweepSuccessiveHalvingPruner, PromotesTopFractionAndRecordsRungs) {
  // min_resource 1, reduction factor 2: rungs end at steps 1, 2, 4, ...
  auto pruner = make_successive_halving_pruner(1, 2);
  Study study;
  for (int i = 0; i < 3; ++i) {
    Trial t = finished_trial(i, TrialState::kComplete, {{1, 1.0 + i}});
    t.system_attrs["completed_rung_0"] = 1.0 + i;  // 1, 2, 3
    study.trials.push_back(t);
  }
  // Competing {1, 2, 3, 5}: 4 // 2 - 1 = index 1 of the sorted values = 2; 5 > 2 -> prune.
  PruneDecision d = pruner->decide(study, running_trial(study, {{0, 9}, {1, 5.0}}));
  EXPECT_TRUE(d.prune);
  ASSERT_EQ(d.system_attrs.size(), 1u);
  EXPECT_EQ(d.system_attrs[0].first, "completed_rung_0");
  EXPECT_EQ(d.system_attrs[0].second.get<double>(), 5.0);
  // 1.5 <= 2: promoted; rung 1 ends at step 2, not reached yet.
  d = pruner->decide(study, running_trial(study, {{0, 9}, {1, 1.5}}));
  EXPECT_FALSE(d.prune);
  EXPECT_EQ(d.system_attrs.size(), 1u);
  // A trial already past rung 0 (attr present) is next judged at step 2, alone there: promoted.
  Trial later = running_trial(study, {{1, 1.5}, {2, 1.4}});
  later.system_attrs["completed_rung_0"] = 1.5;
  d = pruner->decide(study, later);
  EXPECT_FALSE(d.prune);
  ASSERT_EQ(d.system_attrs.size(), 1u);
  EXPECT_EQ(d.system_attrs[0].first, "completed_rung_1");
  // A first report at step 4 walks through rungs 0, 1 and 2 in one call.
  d = pruner->decide(study, running_trial(study, {{4, 0.5}}));
  EXPECT_FALSE(d.prune);
  ASSERT_EQ(d.system_attrs.size(), 3u);
  EXPECT_EQ(d.system_attrs[2].first, "completed_rung_2");
}

TEST(SweepSuccessiveHalvingPruner, MaximizeMirrorsTheRule) {
  auto pruner = make_successive_halving_pruner(1, 2);
  Study study;
  study.direction = Direction::kMaximize;
  for (int i = 0; i < 3; ++i) {
    Trial t = finished_trial(i, TrialState::kComplete, {{1, 1.0 + i}});
    t.system_attrs["completed_rung_0"] = 1.0 + i;
    study.trials.push_back(t);
  }
  // Competing {1, 2, 3, x}: index 1 from the top. x = 2.5 -> {1, 2, 2.5, 3}: needs >= 2.5.
  EXPECT_FALSE(pruner->decide(study, running_trial(study, {{1, 2.5}})).prune);
  // x = 1.5 -> {1, 1.5, 2, 3}: needs >= 2.
  EXPECT_TRUE(pruner->decide(study, running_trial(study, {{1, 1.5}})).prune);
}

TEST(SweepSuccessiveHalvingPruner, AutoMinResourceNanAndBootstrap) {
  auto autop = make_successive_halving_pruner(0);
  Study study;
  // No COMPLETE trial yet: min_resource unknown, nothing decided or written.
  PruneDecision d = autop->decide(study, running_trial(study, {{5, 100.0}}));
  EXPECT_FALSE(d.prune);
  EXPECT_TRUE(d.system_attrs.empty());
  // A COMPLETE trial ending at step 250: min_resource = 250 // 100 = 2; rung 0 ends at step 2.
  study.trials.push_back(finished_trial(0, TrialState::kComplete, {{250, 1.0}}));
  EXPECT_TRUE(autop->decide(study, running_trial(study, {{1, 7.0}})).system_attrs.empty());
  EXPECT_EQ(autop->decide(study, running_trial(study, {{2, 7.0}})).system_attrs.size(), 1u);

  auto sh = make_successive_halving_pruner(1, 2);
  d = sh->decide(study, running_trial(study, {{1, std::nan("")}}));
  EXPECT_TRUE(d.prune) << "NaN at a rung is pruned";
  EXPECT_TRUE(d.system_attrs.empty());

  // bootstrap_count 2: a rung needs more than 2 values before anyone is promoted.
  auto boot = make_successive_halving_pruner(1, 2, 0, 2);
  EXPECT_TRUE(boot->decide(study, running_trial(study, {{1, 0.0}})).prune);
}

TEST(SweepPruners, RejectBadArguments) {
  auto expect_usage = [](auto make) {
    try {
      make();
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage);
      EXPECT_FALSE(e.hint().empty());
    }
  };
  expect_usage([] { make_median_pruner(-1); });
  expect_usage([] { make_median_pruner(5, -1); });
  expect_usage([] { make_median_pruner(5, 0, 0); });
  expect_usage([] { make_median_pruner(5, 0, 1, 0); });
  expect_usage([] { make_successive_halving_pruner(-1); });
  expect_usage([] { make_successive_halving_pruner(1, 1); });
  expect_usage([] { make_successive_halving_pruner(1, 4, -1); });
  expect_usage([] { make_successive_halving_pruner(1, 4, 0, -1); });
  expect_usage([] { make_successive_halving_pruner(0, 4, 0, 1); });
  EXPECT_FALSE(make_no_pruner()->decide(Study{}, Trial{}).prune);
}

}  // namespace
}  // namespace kiln::optuna
