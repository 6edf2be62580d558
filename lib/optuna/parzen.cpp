// Parzen estimator of TPE (see parzen.h), written from Optuna 4.9's described semantics.
#include "optuna/parzen.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "optuna/sampler.h"
#include "optuna/truncnorm.h"

namespace kiln::optuna {
namespace {

constexpr double kHalfLog2Pi = 0.91893853320467274178;  // log(sqrt(2*pi))

// Index drawn from normalised `weights` with one uniform (the last index absorbs rounding).
size_t pick(const std::vector<double>& weights, double u) {
  double acc = 0.0;
  for (size_t i = 0; i + 1 < weights.size(); ++i) {
    acc += weights[i];
    if (u < acc) return i;
  }
  return weights.size() - 1;
}

double log_sum_exp(const std::vector<double>& v) {
  double m = -HUGE_VAL;
  for (double x : v) m = std::max(m, x);
  if (m == -HUGE_VAL) return -HUGE_VAL;
  double s = 0.0;
  for (double x : v) s += std::exp(x - m);
  return m + std::log(s);
}

}  // namespace

std::vector<double> default_weights(int n) {
  if (n <= 0) return {};
  if (n < 25) return std::vector<double>(n, 1.0);
  // numpy.linspace(1/n, 1, n - 25): start + i*step, with the last point exactly 1.
  const int ramp = n - 25;
  std::vector<double> w(n, 1.0);
  const double start = 1.0 / n;
  const double step = ramp > 1 ? (1.0 - start) / (ramp - 1) : 0.0;
  for (int i = 0; i < ramp; ++i) w[i] = start + i * step;
  if (ramp > 1) w[ramp - 1] = 1.0;
  return w;
}

ParzenEstimator::ParzenEstimator(const Distribution& dist, const std::vector<double>& observations,
                                 const ParzenOptions& options)
    : dist_(dist) {
  if (dist_.kind == Distribution::Kind::kInt && !dist_.step) dist_.step = 1.0;
  std::vector<double> obs;
  for (double x : observations) {
    if (!std::isfinite(x)) continue;
    if (dist_.kind == Distribution::Kind::kCategorical) {
      if (x < 0 || x >= static_cast<double>(dist_.choices.size()) || x != std::floor(x)) continue;
    } else if (dist_.log && x <= 0.0) {
      continue;
    }
    obs.push_back(x);
  }
  // Mixture weights: the observations' (by age), then the prior's, normalised.
  weights_ = default_weights(static_cast<int>(obs.size()));
  weights_.push_back(obs.empty() ? 1.0 : options.prior_weight);
  const double total = std::accumulate(weights_.begin(), weights_.end(), 0.0);
  for (double& w : weights_) w /= total;

  if (dist_.kind == Distribution::Kind::kCategorical) {
    build_categorical(obs, options);
  } else {
    build_numerical(obs, options);
  }
}

double ParzenEstimator::transform(double x) const { return dist_.log ? std::log(x) : x; }

void ParzenEstimator::build_numerical(const std::vector<double>& obs, const ParzenOptions& options) {
  // Stepped params: each value owns the interval of half a step on either side.
  const double half = dist_.step ? 0.5 * *dist_.step : 0.0;
  lo_ = transform(dist_.low - half);
  hi_ = transform(dist_.high + half);
  const size_t n = obs.size();
  mus_.resize(n);
  for (size_t i = 0; i < n; ++i) mus_[i] = transform(obs[i]);

  // Each kernel is as wide as the larger gap to its neighbours in [lo, sorted mus..., hi].
  // Optuna 4.9 leaves the prior's mean out of this list (up to 4.8 it was inserted, making the
  // kernels next to the range's middle narrower); kiln follows 4.9.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return mus_[a] < mus_[b]; });
  std::vector<double> s(n + 2);
  s[0] = lo_;
  s[n + 1] = hi_;
  for (size_t i = 0; i < n; ++i) s[i + 1] = mus_[order[i]];
  std::vector<double> sorted_sigma(n);
  for (size_t i = 0; i < n; ++i) sorted_sigma[i] = std::max(s[i + 1] - s[i], s[i + 2] - s[i + 1]);
  if (!options.consider_endpoints && n >= 2) {
    // The outermost kernels look only inward, not at the gap to the range's ends.
    sorted_sigma[0] = s[2] - s[1];
    sorted_sigma[n - 1] = s[n] - s[n - 1];
  }
  const double range = hi_ - lo_;
  const double n_kernels = static_cast<double>(n) + 1.0;  // + the prior
  const double min_sigma = options.consider_magic_clip ? range / std::min(100.0, 1.0 + n_kernels) : 1e-12;
  sigmas_.assign(n, 0.0);
  for (size_t i = 0; i < n; ++i) sigmas_[order[i]] = std::clamp(sorted_sigma[i], min_sigma, range);

  mus_.push_back(0.5 * (lo_ + hi_));  // the prior: centred, as wide as the range
  sigmas_.push_back(range);
  // Each kernel's mass inside [lo, hi]: its truncation constant, reused by every log_pdf call.
  log_norms_.resize(mus_.size());
  for (size_t k = 0; k < mus_.size(); ++k) {
    log_norms_[k] = truncnorm::log_gauss_mass((lo_ - mus_[k]) / sigmas_[k], (hi_ - mus_[k]) / sigmas_[k]);
  }
}

void ParzenEstimator::build_categorical(const std::vector<double>& obs, const ParzenOptions& options) {
  const size_t n_choices = dist_.choices.size();
  if (obs.empty()) {
    rows_.assign(1, std::vector<double>(n_choices, 1.0 / n_choices));
    return;
  }
  // Every row starts at prior_weight / n_kernels per choice; an observation adds 1 to its own.
  const double base = options.prior_weight / static_cast<double>(obs.size() + 1);
  rows_.assign(obs.size() + 1, std::vector<double>(n_choices, base));
  for (size_t i = 0; i < obs.size(); ++i) rows_[i][static_cast<size_t>(obs[i])] += 1.0;
  for (auto& row : rows_) {
    const double sum = std::accumulate(row.begin(), row.end(), 0.0);
    if (sum > 0) {
      for (double& p : row) p /= sum;
    }
  }
}

double ParzenEstimator::sample(std::mt19937_64& rng) const {
  const size_t k = pick(weights_, unit_uniform(rng));
  const double u = unit_uniform(rng);
  if (dist_.kind == Distribution::Kind::kCategorical) {
    return static_cast<double>(pick(rows_[k], u));
  }
  const double mu = mus_[k], sigma = sigmas_[k];
  const double t = mu + sigma * truncnorm::ppf(u, (lo_ - mu) / sigma, (hi_ - mu) / sigma);
  const double x = dist_.log ? std::exp(t) : t;
  if (dist_.step) return snap_to_step(x, dist_.low, dist_.high, *dist_.step);
  return std::clamp(x, dist_.low, dist_.high);
}

double ParzenEstimator::log_pdf(double x) const {
  std::vector<double> terms(weights_.size());
  if (dist_.kind == Distribution::Kind::kCategorical) {
    if (!(x >= 0.0 && x < static_cast<double>(dist_.choices.size()))) return -HUGE_VAL;
    const size_t i = static_cast<size_t>(x);
    for (size_t k = 0; k < weights_.size(); ++k) {
      terms[k] = std::log(weights_[k]) + std::log(rows_[k][i]);
    }
    return log_sum_exp(terms);
  }
  if (dist_.step) {
    // Probability mass of the step-wide cell around x, renormalised to the widened range.
    const double half = 0.5 * *dist_.step;
    const double left = transform(x - half), right = transform(x + half);
    for (size_t k = 0; k < weights_.size(); ++k) {
      const double mu = mus_[k], sigma = sigmas_[k];
      terms[k] =
          std::log(weights_[k]) + truncnorm::log_gauss_mass((left - mu) / sigma, (right - mu) / sigma) - log_norms_[k];
    }
    return log_sum_exp(terms);
  }
  // Truncated normal density in the transformed space (no Jacobian for log params: it is the
  // same for l and g, so it cancels in TPE's ratio, as in Optuna).
  const double t = transform(x);
  if (!(t >= lo_ && t <= hi_)) return -HUGE_VAL;
  for (size_t k = 0; k < weights_.size(); ++k) {
    const double z = (t - mus_[k]) / sigmas_[k];
    terms[k] = std::log(weights_[k]) - 0.5 * z * z - kHalfLog2Pi - log_norms_[k] - std::log(sigmas_[k]);
  }
  return log_sum_exp(terms);
}

}  // namespace kiln::optuna
