// TPE's Parzen estimator for one parameter (Optuna 4.9, univariate): a weighted mixture of one
// kernel per observation plus a prior kernel. Float/int kernels are normals truncated to the
// range (in log space for log=True; integrated over one step for stepped/int params);
// categorical kernels are smoothed one-hot rows. TPE builds one for the good trials, l(x), and
// one for the rest, g(x).
#pragma once
#include <random>
#include <vector>

#include "optuna/study.h"

namespace kiln::optuna {

// Optuna 4.9's fixed defaults (the knobs are deprecated there; kiln does not expose them).
struct ParzenOptions {
  double prior_weight = 1.0;        // weight of the prior kernel before normalisation
  bool consider_magic_clip = true;  // floor sigmas at range / min(100, 1 + n_kernels)
  bool consider_endpoints = false;  // outermost sigmas ignore the distance to the range ends
};

// Optuna's default_weights(n): ones for n < 25, else a linear ramp from 1/n up to 1 over the
// oldest n - 25 observations followed by 25 ones (observations ordered by trial number).
std::vector<double> default_weights(int n);

class ParzenEstimator {
 public:
  // `dist` must admit more than one value (see is_single in distribution.h; TPE returns the only
  // value itself).
  // `observations` are internal reprs ordered by trial number; non-finite ones (and, for log
  // params, non-positive ones) are dropped.
  ParzenEstimator(const Distribution& dist, const std::vector<double>& observations, const ParzenOptions& options = {});

  // One draw (internal repr): pick a kernel by weight, then draw from it (one uniform each),
  // rounded onto the step grid for stepped/int params.
  double sample(std::mt19937_64& rng) const;

  // log of the mixture density (continuous) or probability mass (stepped/int/categorical) at x.
  double log_pdf(double x) const;

  // The normalised mixture weights, observations first and the prior last (for tests).
  const std::vector<double>& weights() const { return weights_; }
  // Kernel centres and widths in the transformed space, prior last (float/int only).
  const std::vector<double>& mus() const { return mus_; }
  const std::vector<double>& sigmas() const { return sigmas_; }

 private:
  void build_numerical(const std::vector<double>& obs, const ParzenOptions& options);
  void build_categorical(const std::vector<double>& obs, const ParzenOptions& options);
  // Transformed value (log for log params).
  double transform(double x) const;

  Distribution dist_;
  std::vector<double> weights_;
  // Float/int: kernels on [lo_, hi_] in the transformed space (widened by step/2 if stepped).
  std::vector<double> mus_, sigmas_;
  std::vector<double> log_norms_;  // log of each kernel's mass inside [lo_, hi_]
  double lo_ = 0.0, hi_ = 0.0;
  // Categorical: one probability row per kernel.
  std::vector<std::vector<double>> rows_;
};

}  // namespace kiln::optuna
