// Truncated standard normal in log space. Masses are taken in the left tail (flipping right-tail
// intervals by symmetry) because Phi(x) near 1 loses all digits of 1 - Phi(x); the inverse CDF
// solves log Phi(x) = y by Newton's method, which on the concave log Phi converges from the left.
#include "optuna/truncnorm.h"

#include <algorithm>
#include <cmath>

namespace kiln::optuna::truncnorm {
namespace {

constexpr double kSqrtHalf = 0.70710678118654752440;
constexpr double kHalfLog2Pi = 0.91893853320467274178;  // log(sqrt(2*pi))

double ndtr(double x) { return 0.5 * std::erfc(-x * kSqrtHalf); }

double log_phi(double x) { return -0.5 * x * x - kHalfLog2Pi; }

// log(exp(p) - exp(q)) for p >= q.
double log_diff(double p, double q) { return p + std::log1p(-std::exp(q - p)); }

double log_add(double p, double q) {
  const double m = std::max(p, q);
  if (m == -HUGE_VAL) return -HUGE_VAL;
  return m + std::log1p(std::exp(-std::fabs(p - q)));
}

// The x with log Phi(x) = y (y <= 0).
double ndtri_exp(double y) {
  if (y >= 0.0) return HUGE_VAL;
  if (y == -HUGE_VAL) return -HUGE_VAL;
  // Close to 0, y holds few digits of 1 - Phi(x): solve for -x from log(1 - e^y) instead.
  const bool flip = y > -1e-2;
  const double z = flip ? std::log(-std::expm1(y)) : y;
  // Start: the Gaussian tail asymptote for deep tails, a logistic fit of Phi elsewhere.
  double x =
      z < -5.0 ? -std::sqrt(-2.0 * (z + kHalfLog2Pi)) : -0.5513288954217921 * std::log(std::expm1(-z));  // sqrt(3)/pi
  for (int i = 0; i < 100; ++i) {
    const double lx = log_ndtr(x);
    // f(x) = log Phi(x) - z, f'(x) = phi(x) / Phi(x).
    const double dx = (lx - z) * std::exp(lx - log_phi(x));
    if (!std::isfinite(dx)) break;
    x -= dx;
    if (std::fabs(dx) <= 1e-12 * (1.0 + std::fabs(x))) break;
  }
  return flip ? -x : x;
}

}  // namespace

double log_ndtr(double x) {
  if (x > 6.0) return std::log1p(-0.5 * std::erfc(x * kSqrtHalf));
  if (x > -20.0) return std::log(ndtr(x));
  // Far left tail: Phi(x) = phi(x)/(-x) * (1 - 1/x^2 + 3/x^4 - 15/x^6 + ...), an asymptotic
  // series whose terms shrink quickly for |x| >= 20; stop once they no longer matter.
  const double inv_x2 = 1.0 / (x * x);
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < 60; ++k) {
    const double next = -term * (2 * k - 1) * inv_x2;
    if (std::fabs(next) >= std::fabs(term)) break;  // the asymptotic series starts to diverge
    term = next;
    sum += term;
    if (std::fabs(term) < 1e-17 * sum) break;
  }
  return log_phi(x) - std::log(-x) + std::log(sum);
}

double log_gauss_mass(double a, double b) {
  if (b <= 0.0) return log_diff(log_ndtr(b), log_ndtr(a));
  if (a > 0.0) return log_diff(log_ndtr(-a), log_ndtr(-b));
  // The interval holds 0: the mass is near 1, so subtract the two small tails instead.
  return std::log1p(-ndtr(a) - ndtr(-b));
}

double ppf(double q, double a, double b) {
  if (q <= 0.0 || a == b) return a;
  if (q >= 1.0) return b;
  const double log_mass = log_gauss_mass(a, b);
  double x;
  if (a < 0.0) {
    x = ndtri_exp(log_add(log_ndtr(a), std::log(q) + log_mass));
  } else {
    // Mirror onto the left tail, where log Phi keeps its digits.
    x = -ndtri_exp(log_add(log_ndtr(-b), std::log1p(-q) + log_mass));
  }
  return std::clamp(x, a, b);
}

}  // namespace kiln::optuna::truncnorm
