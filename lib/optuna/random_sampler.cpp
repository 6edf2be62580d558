// Optuna's RandomSampler (samplers/_random.py + _transform.py semantics), re-implemented on a
// portable per-(seed, trial, param) stream, plus the random helpers every sampler shares.
#include <algorithm>
#include <cmath>
#include <limits>

#include "optuna/distribution.h"  // is_single
#include "optuna/sampler.h"
#include "util/error.h"

namespace kiln::optuna {
namespace {

// splitmix64's finaliser: spreads nearby inputs (seed 1 vs 2, trial 7 vs 8) over all 64 bits.
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(uint64_t seed) : seed_(seed) {}

  std::map<std::string, double> sample(const Space& space, const Study& study, int number) override {
    std::map<std::string, double> out;
    for (const auto& [name, dist] : space) {
      std::mt19937_64 rng = trial_rng(seed_, number, name_stream(name));
      out[name] = sample_random_value(dist, rng);
    }
    return out;
  }

 private:
  uint64_t seed_;
};

}  // namespace

std::mt19937_64 trial_rng(uint64_t seed, int number, uint64_t stream) {
  const uint64_t n = static_cast<uint64_t>(static_cast<int64_t>(number));
  const uint64_t s = mix64(mix64(mix64(seed) ^ n) ^ stream);
  return std::mt19937_64(s);
}

double round_half_even(double x) {
  if (std::fabs(x - std::trunc(x)) == 0.5) return 2.0 * std::round(x / 2.0);
  return std::round(x);
}

double snap_to_step(double x, double low, double high, double step) {
  return std::clamp(round_half_even((x - low) / step) * step + low, low, high);
}

uint64_t name_stream(const std::string& name) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64-bit offset basis
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ULL;  // FNV prime
  }
  return h;
}

double sample_random_value(const Distribution& d, std::mt19937_64& rng) {
  using Kind = Distribution::Kind;
  if (d.kind == Kind::kCategorical) {
    if (d.choices.empty()) {
      throw Error::usage("categorical distribution has no choices", "give at least one choice in the search space");
    }
    return static_cast<double>(uniform_index(rng, d.choices.size()));
  }
  if (is_single(d)) return d.low;
  const double u = unit_uniform(rng);
  if (d.kind == Kind::kFloat) {
    if (d.log) {
      const double lo = std::log(d.low), hi = std::log(d.high);
      const double v = std::exp(lo + u * (hi - lo));
      // Optuna keeps log floats strictly below high; exp(log(low)) may round below low.
      return std::max(d.low, std::min(v, std::nextafter(d.high, -HUGE_VAL)));
    }
    if (d.step) {
      const double half = 0.5 * *d.step;
      const double t = (d.low - half) + u * ((d.high + half) - (d.low - half));
      return snap_to_step(t, d.low, d.high, *d.step);
    }
    const double v = d.low + u * (d.high - d.low);
    return std::min(v, std::nextafter(d.high, -HUGE_VAL));  // uniform on [low, high)
  }
  // Int: always stepped (default 1); log ints widen by half a unit in log space.
  const double step = d.step.value_or(1.0);
  const double half = 0.5 * step;
  if (d.log) {
    const double lo = std::log(d.low - half), hi = std::log(d.high + half);
    return std::clamp(round_half_even(std::exp(lo + u * (hi - lo))), d.low, d.high);
  }
  const double t = (d.low - half) + u * ((d.high + half) - (d.low - half));
  return snap_to_step(t, d.low, d.high, step);
}

std::unique_ptr<Sampler> make_random_sampler(uint64_t seed) { return std::make_unique<RandomSampler>(seed); }

}  // namespace kiln::optuna
