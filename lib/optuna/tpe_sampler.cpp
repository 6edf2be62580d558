// Optuna 4.9's default TPESampler (univariate, no constant liar): random startup, then for each
// param a Parzen estimator over the good trials, l(x), and one over the rest, g(x); the draw
// from l with the largest log l(x) - log g(x) wins. RUNNING trials are not looked at, so the
// values depend only on the seed, the trial number and the finished trials.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>

#include "optuna/distribution.h"  // is_single
#include "optuna/parzen.h"
#include "optuna/sampler.h"
#include "util/error.h"

namespace kiln::optuna {
namespace {

// Ranks COMPLETE trials: ascending in this key is best first; a missing or NaN value is worst.
double complete_key(const Trial& t, Direction direction) {
  if (!t.value || std::isnan(*t.value)) return HUGE_VAL;
  return direction == Direction::kMaximize ? -*t.value : *t.value;
}

// Ranks PRUNED trials: further along first (-last step), then by the last intermediate value
// (negated when maximizing, NaN last); a trial that never reported sorts as (1, 0).
std::pair<double, double> pruned_key(const Trial& t, Direction direction) {
  const std::optional<int> step = t.last_step();
  if (!step) return {1.0, 0.0};
  const double v = t.intermediate.at(*step);
  if (std::isnan(v)) return {-static_cast<double>(*step), HUGE_VAL};
  return {-static_cast<double>(*step), direction == Direction::kMaximize ? -v : v};
}

bool by_number(const Trial* a, const Trial* b) { return a->number < b->number; }

// A past trial's value for `name` counts only if it was drawn from a compatible distribution
// (Optuna's storage refuses incompatible ones; a hand-edited study might still hold them).
bool usable(const Trial& t, const std::string& name, const Distribution& d) {
  auto it = t.distributions.find(name);
  if (it == t.distributions.end()) return true;
  const Distribution& o = it->second;
  if (o.kind != d.kind) return false;
  if (d.kind == Distribution::Kind::kCategorical) return o.choices == d.choices;
  return o.log == d.log;
}

std::vector<double> observations(const std::vector<const Trial*>& trials, const std::string& name,
                                 const Distribution& d) {
  std::vector<double> out;
  for (const Trial* t : trials) {
    auto it = t->params.find(name);
    if (it != t->params.end() && usable(*t, name, d)) out.push_back(it->second);
  }
  return out;
}

class TpeSampler : public Sampler {
 public:
  TpeSampler(uint64_t seed, int n_startup_trials, int n_ei_candidates)
      : seed_(seed), n_startup_trials_(n_startup_trials), n_ei_candidates_(n_ei_candidates) {}

  std::map<std::string, double> sample(const Space& space, const Study& study, int number) override {
    std::vector<const Trial*> finished;
    for (const Trial& t : study.trials) {
      if (t.number == number) continue;
      if (t.state == TrialState::kComplete || t.state == TrialState::kPruned) {
        finished.push_back(&t);
      }
    }
    std::map<std::string, double> out;
    if (static_cast<int>(finished.size()) < n_startup_trials_) {
      for (const auto& [name, d] : space) {
        std::mt19937_64 rng = trial_rng(seed_, number, name_stream(name));
        out[name] = sample_random_value(d, rng);
      }
      return out;
    }
    const int n = static_cast<int>(finished.size());
    const TpeSplit split = tpe_split_trials(finished, study.direction, tpe_default_gamma(n));
    for (const auto& [name, d] : space) {
      if (d.kind == Distribution::Kind::kCategorical && d.choices.empty()) {
        throw Error::usage("categorical param '" + name + "' has no choices",
                           "give '" + name + "' at least one choice in the search space");
      }
      if (is_single(d)) {
        out[name] = d.kind == Distribution::Kind::kCategorical ? 0.0 : d.low;
        continue;
      }
      // Gamma counts every finished trial; only those holding this param give observations.
      const ParzenEstimator below(d, observations(split.below, name, d));
      const ParzenEstimator above(d, observations(split.above, name, d));
      std::mt19937_64 rng = trial_rng(seed_, number, name_stream(name));
      double best = below.sample(rng);
      double best_score = below.log_pdf(best) - above.log_pdf(best);
      for (int i = 1; i < n_ei_candidates_; ++i) {
        const double x = below.sample(rng);
        const double score = below.log_pdf(x) - above.log_pdf(x);
        // First maximum wins (numpy.argmax); a NaN score never does.
        if (score > best_score || (std::isnan(best_score) && !std::isnan(score))) {
          best = x;
          best_score = score;
        }
      }
      out[name] = best;
    }
    return out;
  }

 private:
  uint64_t seed_;
  int n_startup_trials_;
  int n_ei_candidates_;
};

}  // namespace

int tpe_default_gamma(int n) {
  // min(ceil(0.1 * n), 25) in binary floating point, as Python computes it: 0.1 * 30 rounds up
  // to 3.0000000000000004, so gamma(30) is 4, and kiln splits exactly where Optuna does.
  return static_cast<int>(std::min(std::ceil(0.1 * n), 25.0));
}

TpeSplit tpe_split_trials(const std::vector<const Trial*>& trials, Direction direction, int n_below) {
  std::vector<const Trial*> complete, pruned;
  for (const Trial* t : trials) {
    if (t->state == TrialState::kComplete) complete.push_back(t);
    if (t->state == TrialState::kPruned) pruned.push_back(t);
  }
  std::stable_sort(complete.begin(), complete.end(), by_number);
  std::stable_sort(pruned.begin(), pruned.end(), by_number);
  // Stable sorts: ties keep trial-number order, as Python's sorted (also with reverse=True).
  std::stable_sort(complete.begin(), complete.end(), [&](const Trial* a, const Trial* b) {
    return complete_key(*a, direction) < complete_key(*b, direction);
  });
  std::stable_sort(pruned.begin(), pruned.end(), [&](const Trial* a, const Trial* b) {
    return pruned_key(*a, direction) < pruned_key(*b, direction);
  });
  TpeSplit split;
  const size_t want = static_cast<size_t>(std::max(n_below, 0));
  const size_t from_complete = std::min(want, complete.size());
  const size_t from_pruned = std::min(want - from_complete, pruned.size());
  for (size_t i = 0; i < complete.size(); ++i) {
    (i < from_complete ? split.below : split.above).push_back(complete[i]);
  }
  for (size_t i = 0; i < pruned.size(); ++i) {
    (i < from_pruned ? split.below : split.above).push_back(pruned[i]);
  }
  std::stable_sort(split.below.begin(), split.below.end(), by_number);
  std::stable_sort(split.above.begin(), split.above.end(), by_number);
  return split;
}

std::unique_ptr<Sampler> make_tpe_sampler(uint64_t seed, int n_startup_trials, int n_ei_candidates) {
  if (n_startup_trials < 0) {
    throw Error::usage("tpe: n_startup_trials must be >= 0, got " + std::to_string(n_startup_trials),
                       "set n_startup_trials to 0 or more (Optuna's default is 10)");
  }
  if (n_ei_candidates < 1) {
    throw Error::usage("tpe: n_ei_candidates must be >= 1, got " + std::to_string(n_ei_candidates),
                       "set n_ei_candidates to 1 or more (Optuna's default is 24)");
  }
  return std::make_unique<TpeSampler>(seed, n_startup_trials, n_ei_candidates);
}

}  // namespace kiln::optuna
