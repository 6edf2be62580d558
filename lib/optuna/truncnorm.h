// The standard normal truncated to [a, b], in log space where the tails need it: the pieces
// TPE's Parzen kernels are made of (the interval mass, which is both a kernel's normalising
// constant and the mass of a discrete cell, and the inverse CDF used for sampling).
// Arguments are in standard units: (x - mu) / sigma.
#pragma once

namespace kiln::optuna::truncnorm {

// log Phi(x), accurate from far in the left tail (x = -1e3) to the right (log Phi ~ -Q(x)).
double log_ndtr(double x);

// log(Phi(b) - Phi(a)) for a <= b, computed in the tail where it is accurate; -inf if a == b.
double log_gauss_mass(double a, double b);

// The x in [a, b] with (Phi(x) - Phi(a)) / (Phi(b) - Phi(a)) = q, for q in [0, 1].
double ppf(double q, double a, double b);

}  // namespace kiln::optuna::truncnorm
