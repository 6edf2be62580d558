// Pruners on synthetic learning curves must match Optuna's decisions on the same data: the same
// sweeps (both directions, sequential and interleaved trials) replayed through kiln's pruners and
// through real Optuna 4.9 (tests/interop/pruner_ref.py), compared at every reported step.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "optuna/pruner.h"
#include "optuna_reference.h"

namespace kiln::optuna {
namespace {

struct PrunerSpec {
  std::string type;  // "median" or "successive_halving"
  int a, b, c, d;    // the factory's four arguments, in order
};

std::unique_ptr<Pruner> make(const PrunerSpec& p) {
  if (p.type == "median") return make_median_pruner(p.a, p.b, p.c, p.d);
  return make_successive_halving_pruner(p.a, p.b, p.c, p.d);
}

nlohmann::json spec_json(const PrunerSpec& p) {
  if (p.type == "median") {
    return {{"type", p.type},
            {"n_startup_trials", p.a},
            {"n_warmup_steps", p.b},
            {"interval_steps", p.c},
            {"n_min_trials", p.d}};
  }
  return {{"type", p.type},
          {"min_resource", p.a},
          {"reduction_factor", p.b},
          {"min_early_stopping_rate", p.c},
          {"bootstrap_count", p.d}};
}

// Learning curves of 14 trials: loss = a + (1 - a) * exp(-step / tau) + noise, with different
// asymptotes a, speeds tau and lengths; every 4th trial reports every other step only (trial 0
// every 10th, up to step 230); trial 6
// reports one NaN, trial 9 only NaN. Maximizing reports 1 - loss (an accuracy). Trials run one
// after another, or (interleaved) three at a time, round-robin by step, each finishing at its
// own last step, so rungs and medians also see RUNNING and unfinished trials.
nlohmann::json make_events(bool maximize, bool interleaved) {
  constexpr int kTrials = 14;
  std::mt19937_64 rng(20240611);
  auto unit = [&rng] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  std::vector<std::vector<std::pair<int, double>>> curves(kTrials);
  for (int i = 0; i < kTrials; ++i) {
    const double a = 0.15 + 0.7 * unit(), tau = 3.0 + 10.0 * unit();
    // Trial 0 runs long (to step 230) so Optuna's "auto" min_resource becomes 230 // 100 = 2.
    const int length = i == 0 ? 231 : 16 + (i % 3) * 6;
    const int stride = i == 0 ? 10 : i % 4 == 3 ? 2 : 1;
    for (int s = 0; s < length; s += stride) {
      double loss = a + (1.0 - a) * std::exp(-s / tau) + 0.03 * (unit() - 0.5);
      if ((i == 6 && s == 4) || i == 9) loss = std::nan("");
      curves[i].emplace_back(s, maximize ? 1.0 - loss : loss);
    }
  }
  auto report = [&](int i, int s, double v) {
    return nlohmann::json{
        {"op", "report"}, {"trial", i}, {"step", s}, {"value", std::isnan(v) ? nlohmann::json() : nlohmann::json(v)}};
  };
  nlohmann::json events = nlohmann::json::array();
  const int wave = interleaved ? 3 : 1;
  for (int first = 0; first < kTrials; first += wave) {
    const int last = std::min(kTrials, first + wave);
    for (int i = first; i < last; ++i) events.push_back({{"op", "ask"}, {"trial", i}});
    for (int s = 0; s <= 230; ++s) {
      for (int i = first; i < last; ++i) {
        for (const auto& [step, v] : curves[i]) {
          if (step == s) events.push_back(report(i, s, v));
        }
        if (curves[i].back().first == s) events.push_back({{"op", "finish"}, {"trial", i}});
      }
    }
  }
  return events;
}

// kiln's side of pruner_ref.py: the same replay, the same output shape.
nlohmann::json replay_kiln(const PrunerSpec& spec, Direction direction, const nlohmann::json& events) {
  auto pruner = make(spec);
  Study study;
  study.direction = direction;
  std::map<int, size_t> index;  // event trial -> position in study.trials
  std::map<int, bool> pruned;
  nlohmann::json decisions = nlohmann::json::array();
  for (const auto& ev : events) {
    const int i = ev["trial"];
    if (ev["op"] == "ask") {
      Trial t;
      t.id = t.number = static_cast<int>(study.trials.size());
      index[i] = study.trials.size();
      study.trials.push_back(t);
      continue;
    }
    if (pruned[i]) continue;
    Trial& t = study.trials[index[i]];
    if (ev["op"] == "finish") {
      t.state = TrialState::kComplete;
      t.value = t.intermediate.rbegin()->second;
      continue;
    }
    const int step = ev["step"];
    t.intermediate[step] = ev["value"].is_null() ? std::nan("") : ev["value"].get<double>();
    const PruneDecision d = pruner->decide(study, t);
    for (const auto& [key, value] : d.system_attrs) t.system_attrs[key] = value;
    decisions.push_back({i, step, d.prune});
    if (d.prune) {
      t.state = TrialState::kPruned;
      pruned[i] = true;
    }
  }
  nlohmann::json attrs = nlohmann::json::object();
  for (const auto& [i, pos] : index) attrs[std::to_string(i)] = study.trials[pos].system_attrs;
  return {{"decisions", decisions}, {"system_attrs", attrs}};
}

void expect_same_decisions_as_optuna(const std::vector<PrunerSpec>& specs) {
  const std::string& why = test_support::optuna_unavailable_reason();
  if (!why.empty()) GTEST_SKIP() << "needs Python with Optuna: " << why;
  nlohmann::json input = {{"scenarios", nlohmann::json::array()}};
  std::vector<nlohmann::json> expected;
  for (const PrunerSpec& spec : specs) {
    for (bool maximize : {false, true}) {
      for (bool interleaved : {false, true}) {
        const nlohmann::json events = make_events(maximize, interleaved);
        input["scenarios"].push_back(
            {{"direction", maximize ? "maximize" : "minimize"}, {"pruner", spec_json(spec)}, {"events", events}});
        expected.push_back(replay_kiln(spec, maximize ? Direction::kMaximize : Direction::kMinimize, events));
      }
    }
  }
  std::string error;
  const std::optional<nlohmann::json> ref = test_support::run_optuna_reference("pruner_ref.py", input, &error);
  ASSERT_TRUE(ref) << error;
  ASSERT_EQ((*ref)["scenarios"].size(), expected.size());
  int n_pruned = 0;
  for (size_t k = 0; k < expected.size(); ++k) {
    const auto& scenario = input["scenarios"][k];
    const std::string what =
        scenario["pruner"].dump() + " " + scenario["direction"].dump() + (k % 2 ? " interleaved" : " sequential");
    const auto& want = (*ref)["scenarios"][k]["decisions"];
    const auto& got = expected[k]["decisions"];
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t e = 0; e < want.size(); ++e) {
      ASSERT_EQ(got[e], want[e]) << what << ": decision " << e << " as [trial, step, prune]";
      n_pruned += want[e][2].get<bool>();
    }
    EXPECT_EQ(expected[k]["system_attrs"], (*ref)["scenarios"][k]["system_attrs"]) << what;
  }
  // The curves must exercise both outcomes, or matching Optuna would prove little.
  EXPECT_GT(n_pruned, static_cast<int>(expected.size()));
}

TEST(SweepPrunerInterop, MedianMatchesOptunaOnSyntheticCurves) {
  expect_same_decisions_as_optuna({{"median", 5, 0, 1, 1}, {"median", 2, 3, 2, 2}});
}

TEST(SweepPrunerInterop, SuccessiveHalvingMatchesOptunaOnSyntheticCurves) {
  expect_same_decisions_as_optuna(
      {{"successive_halving", 0, 4, 0, 0}, {"successive_halving", 1, 2, 0, 0}, {"successive_halving", 2, 3, 1, 2}});
}

}  // namespace
}  // namespace kiln::optuna
