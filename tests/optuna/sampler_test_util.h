// Test-only helpers for the sampler tests (header-only): distributions built in one line, an
// independent membership check (Optuna's _contains), and an in-memory sequential study.
#pragma once
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "optuna/study.h"

namespace kiln::optuna::test_support {

inline Distribution float_dist(double low, double high, bool log = false, std::optional<double> step = std::nullopt) {
  Distribution d;
  d.kind = Distribution::Kind::kFloat;
  d.low = low;
  d.high = high;
  d.log = log;
  d.step = step;
  return d;
}

inline Distribution int_dist(double low, double high, double step = 1.0, bool log = false) {
  Distribution d = float_dist(low, high, log, step);
  d.kind = Distribution::Kind::kInt;
  return d;
}

inline Distribution cat_dist(std::vector<nlohmann::json> choices) {
  Distribution d;
  d.kind = Distribution::Kind::kCategorical;
  d.choices = std::move(choices);
  return d;
}

// Optuna's _contains, written out independently of the samplers.
inline bool in_distribution(const Distribution& d, double v) {
  if (d.kind == Distribution::Kind::kCategorical) {
    return v >= 0 && v < static_cast<double>(d.choices.size()) && v == std::floor(v);
  }
  if (!(d.low <= v && v <= d.high)) return false;
  if (!d.step) return true;
  const double k = (v - d.low) / *d.step;
  return std::fabs(k - std::round(k)) < 1e-8;
}

// Runs `n` trials of `sampler` on `objective`, each told COMPLETE before the next is asked.
inline Study run_study(Sampler& sampler, const Space& space, int n,
                       const std::function<double(const std::map<std::string, double>&)>& objective,
                       Direction direction = Direction::kMinimize) {
  Study study;
  study.direction = direction;
  for (int i = 0; i < n; ++i) {
    Trial t;
    t.id = t.number = i;
    t.params = sampler.sample(space, study, i);
    for (const auto& [name, d] : space) t.distributions[name] = d;
    t.value = objective(t.params);
    t.state = TrialState::kComplete;
    study.trials.push_back(t);
  }
  return study;
}

}  // namespace kiln::optuna::test_support
