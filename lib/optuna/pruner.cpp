// Median and successive-halving pruners with Optuna 4.9's decision rules (see pruner.h),
// including numpy's nanpercentile arithmetic, so ties and edge cases fall the same way.
#include "optuna/pruner.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "util/error.h"

namespace kiln::optuna {
namespace {

void require(bool ok, const std::string& what, const std::string& hint) {
  if (!ok) throw Error::usage(what, hint);
}

// numpy.nanpercentile(values, percent) with the default "linear" method: NaNs dropped (all NaN
// gives NaN), virtual index (n-1)*q, and numpy's two-sided lerp (from b when the weight >= 0.5).
double nan_percentile(std::vector<double> values, double percent) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }), values.end());
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const double q = percent / 100.0;
  const double vi = static_cast<double>(values.size() - 1) * q;
  if (vi >= static_cast<double>(values.size() - 1)) return values.back();
  const size_t prev = static_cast<size_t>(std::floor(vi));
  const double t = vi - static_cast<double>(prev);
  const double a = values[prev], b = values[prev + 1];
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

class NoPruner : public Pruner {
 public:
  PruneDecision decide(const Study&, const Trial&) override { return {}; }
};

// Optuna's PercentilePruner; kiln exposes it as the median (percentile 50).
class PercentilePruner : public Pruner {
 public:
  PercentilePruner(double percentile, int n_startup_trials, int n_warmup_steps, int interval_steps, int n_min_trials)
      : percentile_(percentile),
        n_startup_trials_(n_startup_trials),
        n_warmup_steps_(n_warmup_steps),
        interval_steps_(interval_steps),
        n_min_trials_(n_min_trials) {}

  PruneDecision decide(const Study& study, const Trial& trial) override {
    std::vector<const Trial*> completed;
    for (const Trial& t : study.trials) {
      if (t.state == TrialState::kComplete) completed.push_back(&t);
    }
    const int n_completed = static_cast<int>(completed.size());
    if (n_completed == 0 || n_completed < n_startup_trials_) return {};
    const std::optional<int> last = trial.last_step();
    if (!last || *last < n_warmup_steps_) return {};
    const int step = *last;
    // Judge only at the first report at or after each interval mark (warmup + k * interval):
    // the previous report must lie before the mark.
    const int mark = (step - n_warmup_steps_) / interval_steps_ * interval_steps_ + n_warmup_steps_;
    int second_last = -1;
    for (const auto& [s, v] : trial.intermediate) {
      if (s != step) second_last = std::max(second_last, s);
    }
    if (second_last >= mark) return {};

    const bool maximize = study.direction == Direction::kMaximize;
    // Best value so far (nanmin / nanmax); all NaN means the trial diverged: prune.
    double best = std::nan("");
    for (const auto& [s, v] : trial.intermediate) {
      if (std::isnan(v)) continue;
      if (std::isnan(best) || (maximize ? v > best : v < best)) best = v;
    }
    if (std::isnan(best)) return {true, {}};

    std::vector<double> at_step;
    for (const Trial* t : completed) {
      auto it = t->intermediate.find(step);
      if (it != t->intermediate.end()) at_step.push_back(it->second);
    }
    if (static_cast<int>(at_step.size()) < n_min_trials_) return {};
    const double p = nan_percentile(at_step, maximize ? 100.0 - percentile_ : percentile_);
    if (std::isnan(p)) return {};
    return {maximize ? best < p : best > p, {}};
  }

 private:
  double percentile_;
  int n_startup_trials_, n_warmup_steps_, interval_steps_, n_min_trials_;
};

std::string rung_key(int rung) { return "completed_rung_" + std::to_string(rung); }

std::optional<double> number_attr(const nlohmann::json& attrs, const std::string& key) {
  if (!attrs.is_object()) return std::nullopt;
  auto it = attrs.find(key);
  if (it == attrs.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

class SuccessiveHalvingPruner : public Pruner {
 public:
  SuccessiveHalvingPruner(int min_resource, int reduction_factor, int min_early_stopping_rate, int bootstrap_count)
      : min_resource_(min_resource),
        reduction_factor_(reduction_factor),
        min_early_stopping_rate_(min_early_stopping_rate),
        bootstrap_count_(bootstrap_count) {}

  PruneDecision decide(const Study& study, const Trial& trial) override {
    PruneDecision out;
    const std::optional<int> last = trial.last_step();
    if (!last) return out;
    const int step = *last;
    const double value = trial.intermediate.at(step);
    int rung = 0;  // rungs this trial has completed so far
    while (trial.system_attrs.is_object() && trial.system_attrs.contains(rung_key(rung))) ++rung;

    std::lock_guard<std::mutex> lock(mutex_);
    for (;;) {
      if (min_resource_ == 0) {
        // "auto": a hundredth of the longest COMPLETE trial, fixed from then on (as Optuna's
        // pruner object keeps it).
        int max_step = -1;
        for (const Trial& t : study.trials) {
          if (t.state == TrialState::kComplete && t.last_step()) {
            max_step = std::max(max_step, *t.last_step());
          }
        }
        if (max_step < 0) return out;
        min_resource_ = std::max(max_step / 100, 1);
      }
      if (static_cast<int64_t>(step) < promotion_step(rung)) return out;
      if (std::isnan(value)) {
        out.prune = true;
        return out;
      }
      const std::string key = rung_key(rung);
      out.system_attrs.emplace_back(key, value);
      // This rung's values across the study, the current trial's own (stored or not) counted
      // once as `value`.
      std::vector<double> competing;
      for (const Trial& t : study.trials) {
        if (t.number == trial.number) continue;
        if (std::optional<double> v = number_attr(t.system_attrs, key)) competing.push_back(*v);
      }
      competing.push_back(value);
      if (static_cast<int>(competing.size()) <= bootstrap_count_ || !promotable(value, competing, study.direction)) {
        out.prune = true;
        return out;
      }
      ++rung;
    }
  }

 private:
  // min_resource * reduction_factor^(min_early_stopping_rate + rung), saturating (a step can
  // never reach a saturated rung).
  int64_t promotion_step(int rung) const {
    constexpr int64_t kCap = std::numeric_limits<int64_t>::max() / 64;
    int64_t s = min_resource_;
    for (int i = 0; i < min_early_stopping_rate_ + rung && s < kCap; ++i) s *= reduction_factor_;
    return std::min(s, kCap);
  }

  // In the top 1/reduction_factor of `competing` (which includes value). While fewer than
  // reduction_factor values exist, only the best one goes on (Optuna cannot pause trials).
  bool promotable(double value, std::vector<double>& competing, Direction direction) const {
    int idx = static_cast<int>(competing.size()) / reduction_factor_ - 1;
    if (idx < 0) idx = 0;
    std::sort(competing.begin(), competing.end());
    if (direction == Direction::kMaximize) return value >= competing[competing.size() - 1 - idx];
    return value <= competing[idx];
  }

  std::mutex mutex_;  // guards min_resource_ once "auto" is resolved
  int min_resource_;  // 0 until "auto" is resolved
  int reduction_factor_, min_early_stopping_rate_, bootstrap_count_;
};

}  // namespace

std::unique_ptr<Pruner> make_no_pruner() { return std::make_unique<NoPruner>(); }

std::unique_ptr<Pruner> make_median_pruner(int n_startup_trials, int n_warmup_steps, int interval_steps,
                                           int n_min_trials) {
  require(n_startup_trials >= 0, "median pruner: n_startup_trials must be >= 0",
          "set pruner n_startup_trials to 0 or more (default 5)");
  require(n_warmup_steps >= 0, "median pruner: n_warmup_steps must be >= 0",
          "set pruner n_warmup_steps to 0 or more (default 0)");
  require(interval_steps >= 1, "median pruner: interval_steps must be >= 1",
          "set pruner interval_steps to 1 or more (default 1)");
  require(n_min_trials >= 1, "median pruner: n_min_trials must be >= 1",
          "set pruner n_min_trials to 1 or more (default 1)");
  return std::make_unique<PercentilePruner>(50.0, n_startup_trials, n_warmup_steps, interval_steps, n_min_trials);
}

std::unique_ptr<Pruner> make_successive_halving_pruner(int min_resource, int reduction_factor,
                                                       int min_early_stopping_rate, int bootstrap_count) {
  require(min_resource >= 0, "successive halving pruner: min_resource must be >= 1 or auto (0)",
          "set pruner min_resource to a step count >= 1, or 0 for auto");
  require(reduction_factor >= 2, "successive halving pruner: reduction_factor must be >= 2",
          "set pruner reduction_factor to 2 or more (default 4)");
  require(min_early_stopping_rate >= 0, "successive halving pruner: min_early_stopping_rate must be >= 0",
          "set pruner min_early_stopping_rate to 0 or more (default 0)");
  require(bootstrap_count >= 0, "successive halving pruner: bootstrap_count must be >= 0",
          "set pruner bootstrap_count to 0 or more (default 0)");
  require(bootstrap_count == 0 || min_resource > 0,
          "successive halving pruner: bootstrap_count > 0 needs an explicit min_resource",
          "set pruner min_resource to a step count >= 1, or bootstrap_count to 0");
  return std::make_unique<SuccessiveHalvingPruner>(min_resource, reduction_factor, min_early_stopping_rate,
                                                   bootstrap_count);
}

}  // namespace kiln::optuna
