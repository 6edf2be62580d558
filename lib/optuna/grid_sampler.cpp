// Grid search (Optuna's GridSampler): the cartesian product of the space, visited in a seeded
// shuffled order. Unlike Optuna, which tags each trial with a "grid_id" system attr, the point a
// trial holds is recovered from its params, so a resumed or parallel sweep (or one continuing a
// study another tool wrote) skips points already taken until the grid is exhausted.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "optuna/sampler.h"
#include "util/error.h"

namespace kiln::optuna {
namespace {

// A grid of a million trials is far beyond any sweep kiln runs; beyond it the permutation
// itself (4 bytes a point) would be the problem. Random or TPE covers larger spaces.
constexpr size_t kMaxGridPoints = 1'000'000;

// Params further than this (in units of one step) from a grid value belong to no grid point.
constexpr double kOnGridTolerance = 1e-6;

// The spacing of a numeric axis: ints always have one (1 unless given).
std::optional<double> axis_step(const Distribution& d) {
  if (d.kind == Distribution::Kind::kInt) return d.step.value_or(1.0);
  return d.step;
}

// Number of values along one param's axis.
size_t axis_size(const std::string& name, const Distribution& d) {
  if (d.kind == Distribution::Kind::kCategorical) return d.choices.size();
  const std::optional<double> step_opt = axis_step(d);
  if (!step_opt && d.low == d.high) return 1;  // a constant: finite without a step
  if (!step_opt) {
    throw Error::usage("grid sweep: float param '" + name + "' has no step",
                       "give '" + name +
                           "' a step (e.g. step = 0.1) or use the random or tpe "
                           "sampler");
  }
  const double step = *step_opt;
  if (!(step > 0.0) || !(d.high >= d.low)) {
    throw Error::usage("grid sweep: param '" + name + "' has an empty range or a step <= 0",
                       "check low, high and step of '" + name + "'");
  }
  // high was snapped onto the grid, so the ratio is an integer up to binary rounding.
  const double r = (d.high - d.low) / step;
  const double n = std::floor(r + 1e-8 * (1.0 + std::fabs(r)));
  if (n >= 0x1.0p62) {
    throw Error::usage("grid sweep: param '" + name + "' has too many grid values",
                       "use a larger step for '" + name + "' or the random or tpe sampler");
  }
  return static_cast<size_t>(n) + 1;
}

class GridSampler : public Sampler {
 public:
  GridSampler(const Space& space, uint64_t seed) : space_(space) {
    const size_t size = grid_size(space);
    if (size == 0) {
      throw Error::usage("grid sweep: the grid is empty (a categorical param has no choices)",
                         "give every categorical param at least one choice");
    }
    if (size > kMaxGridPoints) {
      throw Error::usage(
          "grid sweep: the grid has " + std::to_string(size) + " points, more than " + std::to_string(kMaxGridPoints),
          "use larger steps, fewer choices, or the random or tpe sampler");
    }
    for (const auto& [name, d] : space_) axes_.push_back(axis_size(name, d));
    // Fisher-Yates over the point ids with the sweep's seed: the visiting order.
    perm_.resize(size);
    for (size_t i = 0; i < size; ++i) perm_[i] = static_cast<uint32_t>(i);
    std::mt19937_64 rng = trial_rng(seed, -1, name_stream("grid:permutation"));
    for (size_t i = size - 1; i > 0; --i) {
      std::swap(perm_[i], perm_[uniform_index(rng, i + 1)]);
    }
  }

  std::map<std::string, double> sample(const Space& space, const Study& study, int number) override {
    check_same_space(space);
    std::vector<bool> used(perm_.size(), false);
    for (const Trial& t : study.trials) {
      if (t.number == number || t.state == TrialState::kWaiting) continue;
      if (std::optional<size_t> id = point_of(t)) used[*id] = true;
    }
    const size_t size = perm_.size();
    const size_t start = static_cast<size_t>(number < 0 ? 0 : number) % size;
    for (size_t k = 0; k < size; ++k) {
      const size_t id = perm_[(start + k) % size];
      if (!used[id]) return point(id);
    }
    return point(perm_[start]);  // exhausted: repeat in the same order
  }

 private:
  void check_same_space(const Space& space) const {
    bool same = space.size() == space_.size();
    for (size_t i = 0; same && i < space.size(); ++i) {
      const Distribution& a = space[i].second;
      const Distribution& b = space_[i].second;
      same = space[i].first == space_[i].first && a.kind == b.kind && a.log == b.log && a.low == b.low &&
             a.high == b.high && a.step == b.step && a.choices == b.choices;
    }
    if (!same) {
      throw Error::usage("grid sweep: the search space differs from the one the grid was built on",
                         "build the grid sampler from the same space the sweep suggests");
    }
  }

  // The id of the grid point whose values `t` holds, or none if it holds some param off-grid.
  // Ids are mixed-radix with the last param varying fastest (itertools.product's order).
  std::optional<size_t> point_of(const Trial& t) const {
    size_t id = 0;
    for (size_t i = 0; i < space_.size(); ++i) {
      const auto& [name, d] = space_[i];
      auto it = t.params.find(name);
      if (it == t.params.end() || !std::isfinite(it->second)) return std::nullopt;
      const std::optional<double> step = axis_step(d);
      const double k = d.kind == Distribution::Kind::kCategorical ? it->second
                       : step                                     ? (it->second - d.low) / *step
                                                                  : (it->second == d.low ? 0.0 : -1.0);
      const double r = std::round(k);
      if (std::fabs(k - r) > kOnGridTolerance || r < 0 || r >= static_cast<double>(axes_[i])) {
        return std::nullopt;
      }
      id = id * axes_[i] + static_cast<size_t>(r);
    }
    return id;
  }

  std::map<std::string, double> point(size_t id) const {
    std::map<std::string, double> out;
    for (size_t i = space_.size(); i-- > 0;) {
      const auto& [name, d] = space_[i];
      const size_t k = id % axes_[i];
      id /= axes_[i];
      if (d.kind == Distribution::Kind::kCategorical) {
        out[name] = static_cast<double>(k);
      } else if (const std::optional<double> step = axis_step(d)) {
        // low + k*step can overshoot high by an ulp (0.1 * 3 > 0.3): clip like Optuna does.
        out[name] = std::min(d.low + static_cast<double>(k) * *step, d.high);
      } else {
        out[name] = d.low;  // a constant float
      }
    }
    return out;
  }

  Space space_;
  std::vector<size_t> axes_;
  std::vector<uint32_t> perm_;
};

}  // namespace

size_t grid_size(const Space& space) {
  size_t total = 1;
  for (const auto& [name, d] : space) {
    const size_t n = axis_size(name, d);
    if (n != 0 && total > std::numeric_limits<size_t>::max() / n) {
      throw Error::usage("grid sweep: the grid size overflows",
                         "use larger steps, fewer choices, or the random or tpe sampler");
    }
    total *= n;
  }
  return total;
}

std::unique_ptr<Sampler> make_grid_sampler(const Space& space, uint64_t seed) {
  return std::make_unique<GridSampler>(space, seed);
}

}  // namespace kiln::optuna
