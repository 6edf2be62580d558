// Optuna's samplers (grid, random, TPE), native, with Optuna's semantics, and the small
// pieces they share: a per-(seed, trial, param) random stream and a portable mapping from
// 64 random bits to numbers, so a sweep suggests the same values on every standard library,
// whatever the call order, and a resumed sweep continues exactly where it stopped.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "optuna/study.h"

namespace kiln::optuna {

// Suggests internal-repr values for every parameter of `space` for trial `number`, given the
// study so far. Deterministic: same seed, same study contents, same number -> same values.
class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual std::map<std::string, double> sample(const Space& space, const Study& study, int number) = 0;
};

// Optuna's RandomSampler: uniform in the transformed space (log space for log=True; bounds
// widened by step/2 each side for step/int, then rounded back to the grid and clipped);
// categorical: a uniform index.
std::unique_ptr<Sampler> make_random_sampler(uint64_t seed);

// Optuna's GridSampler over the cartesian product of `space` (float needs a step). Trial
// `number` gets perm[number % size] of a seeded permutation of the grid points, skipping points
// already held by COMPLETE/PRUNED/FAIL/RUNNING trials of the study until the grid is exhausted.
// Throws kiln::Error::usage if the grid is empty, has an unstepped float, or is too large.
std::unique_ptr<Sampler> make_grid_sampler(const Space& space, uint64_t seed);

// Optuna 4.9's default (univariate) TPESampler: random for the first `n_startup_trials`
// COMPLETE+PRUNED trials, then per param the argmax of log l(x) - log g(x) over
// `n_ei_candidates` draws from l(x).
std::unique_ptr<Sampler> make_tpe_sampler(uint64_t seed, int n_startup_trials = 10, int n_ei_candidates = 24);

// Number of points of the grid over `space` (1 for an empty space). Throws kiln::Error::usage if
// a float param has no step (the grid needs a finite set; a constant, low == high, is allowed)
// or the count overflows.
size_t grid_size(const Space& space);

// ---- Shared by the samplers (and their tests) ----

// The random stream for one (seed, trial number, stream) triple: splitmix64-mixed into the seed of
// a std::mt19937_64 (whose output sequence the standard fixes, unlike its distributions).
std::mt19937_64 trial_rng(uint64_t seed, int number, uint64_t stream);

// A stable 64-bit id for a param name (FNV-1a), so each param has its own stream and adding a
// param to the spec does not change the values drawn for the others.
uint64_t name_stream(const std::string& name);

// Uniform double in [0, 1) from the top 53 bits of one draw.
inline double unit_uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Uniform integer in [0, n), n > 0, without modulo bias (rejects the lowest 2^64 mod n draws).
inline uint64_t uniform_index(std::mt19937_64& rng, uint64_t n) {
  const uint64_t reject_below = (0 - n) % n;  // 2^64 mod n
  for (;;) {
    const uint64_t x = rng();
    if (x >= reject_below) return x % n;
  }
}

// One value (internal repr) drawn the way Optuna's RandomSampler draws it. Also TPE's startup.
double sample_random_value(const Distribution& d, std::mt19937_64& rng);

// Rounds half to even like numpy's np.round, so x.5 ties land where Optuna's would.
double round_half_even(double x);

// low + round((x - low) / step) * step, clipped to [low, high]: back onto a step grid (in the
// untransformed space, as Optuna does for both random and TPE draws).
double snap_to_step(double x, double low, double high, double step);

// ---- TPE building blocks, exposed for tests ----

// Optuna's default_gamma: how many of the n COMPLETE+PRUNED trials form the "below" set.
int tpe_default_gamma(int n);

// Optuna's _split_trials for a single objective. COMPLETE trials sorted best first fill `below`
// up to n_below; any shortfall is filled from PRUNED trials ordered by (-last step, last
// intermediate value (negated when maximizing), NaN last); the rest is `above`. Trials in other
// states are ignored. Both lists come back ordered by trial number.
struct TpeSplit {
  std::vector<const Trial*> below;
  std::vector<const Trial*> above;
};
TpeSplit tpe_split_trials(const std::vector<const Trial*>& trials, Direction direction, int n_below);

}  // namespace kiln::optuna
