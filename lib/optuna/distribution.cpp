// Distribution construction with Optuna's semantics: validation, snapping of `high` (decimal
// arithmetic for float steps, see decimal.h), contains and single. A sweep spec's [space]
// table is read by sweep/space_toml.cpp.
#include "optuna/distribution.h"

#include <charconv>
#include <cmath>

#include "optuna/decimal.h"
#include "optuna/distribution_build.h"
#include "util/error.h"

namespace kiln::optuna {
namespace {

std::string label(const std::string& name) { return name.empty() ? "distribution" : "param '" + name + "'"; }

}  // namespace

Distribution build_float(const std::string& subject, double low, double high, bool log, std::optional<double> step) {
  if (!std::isfinite(low) || !std::isfinite(high) || (step && !std::isfinite(*step))) {
    throw Error::usage(subject + ": low, high and step must be finite numbers", "inf and nan cannot be sampled");
  }
  if (log && step) {
    throw Error::usage(subject + ": `step` is not supported when `log` is true", "drop step, or set log = false");
  }
  if (low > high) {
    throw Error::usage(subject + ": `low <= high` must hold, got low = " + format_number(low) +
                       ", high = " + format_number(high));
  }
  if (log && low <= 0.0) {
    throw Error::usage(subject + ": `low > 0` must hold for log = true, got low = " + format_number(low),
                       "a log-scaled range needs a positive low, e.g. 1e-5");
  }
  if (step && *step <= 0) throw Error::usage(subject + ": `step > 0` must hold, got step = " + format_number(*step));
  Distribution d;
  d.kind = Distribution::Kind::kFloat;
  d.low = low, d.high = high, d.log = log, d.step = step;
  if (step) {
    // Optuna: r = (high - low) % step; if r != 0: high = (high - low) // step * step + low.
    const Decimal dlow = Decimal::from_double(low), dstep = Decimal::from_double(*step);
    const auto qr = divmod(Decimal::from_double(high) - dlow, dstep);
    if (!qr) {
      // Python raises decimal.InvalidOperation (DivisionImpossible) here, so Optuna fails too.
      throw Error::usage(subject + ": (high - low) / step needs more than 28 digits",
                         "use a coarser step or a narrower range");
    }
    if (!qr->remainder.is_zero()) d.high = (qr->quotient * dstep + dlow).to_double();
  }
  return d;
}

Distribution build_int(const std::string& subject, int64_t low, int64_t high, bool log, int64_t step) {
  // Internal reprs are doubles (as in Optuna's journal): beyond 2^53 they are not exact.
  constexpr int64_t kExact = int64_t{1} << 53;
  if (low < -kExact || low > kExact || high < -kExact || high > kExact) {
    throw Error::usage(subject + ": low and high must lie within +-2^53", "params are stored as doubles");
  }
  if (log && step != 1) {
    throw Error::usage(subject + ": `step` must be 1 when `log` is true, got step = " + std::to_string(step),
                       "drop step, or set log = false");
  }
  if (low > high) {
    throw Error::usage(subject + ": `low <= high` must hold, got low = " + std::to_string(low) +
                       ", high = " + std::to_string(high));
  }
  if (log && low < 1) {
    throw Error::usage(subject + ": `low >= 1` must hold for log = true, got low = " + std::to_string(low));
  }
  if (step <= 0) throw Error::usage(subject + ": `step > 0` must hold, got step = " + std::to_string(step));
  const int64_t r = high - low;  // both within 2^53: no overflow
  Distribution d;
  d.kind = Distribution::Kind::kInt;
  d.low = static_cast<double>(low), d.log = log, d.step = static_cast<double>(step);
  d.high = static_cast<double>(r % step == 0 ? high : r / step * step + low);
  return d;
}

Distribution build_categorical(const std::string& subject, std::vector<nlohmann::json> choices) {
  if (choices.empty()) throw Error::usage(subject + ": `choices` must contain one or more elements");
  for (size_t i = 0; i < choices.size(); ++i) {
    const auto& c = choices[i];
    if (!(c.is_null() || c.is_boolean() || c.is_number() || c.is_string())) {
      throw Error::usage(
          subject + ": choice " + std::to_string(i) + " (" + c.dump() + ") is not null, a bool, a number or a string",
          "the study file can only hold these choice types");
    }
  }
  Distribution d;
  d.kind = Distribution::Kind::kCategorical;
  d.choices = std::move(choices);
  return d;
}

std::string format_number(double v) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

Distribution make_float(double low, double high, bool log, std::optional<double> step, const std::string& name) {
  return build_float(label(name), low, high, log, step);
}

Distribution make_int(int64_t low, int64_t high, bool log, int64_t step, const std::string& name) {
  return build_int(label(name), low, high, log, step);
}

Distribution make_categorical(std::vector<nlohmann::json> choices, const std::string& name) {
  return build_categorical(label(name), std::move(choices));
}

bool contains(const Distribution& d, double v) {
  switch (d.kind) {
    case Distribution::Kind::kFloat: {
      if (!(d.low <= v && v <= d.high)) return false;
      if (!d.step) return true;
      const double k = (v - d.low) / *d.step;
      return std::abs(k - std::nearbyint(k)) < 1.0e-8;
    }
    case Distribution::Kind::kInt:
      // Python's (v - low) % step == 0 on floats: zero exactly when fmod is zero.
      return d.low <= v && v <= d.high && std::fmod(v - d.low, d.step.value_or(1.0)) == 0.0;
    case Distribution::Kind::kCategorical: {
      if (!std::isfinite(v)) return false;
      const double index = std::trunc(v);  // Python's int(): toward zero
      return index >= 0 && index < static_cast<double>(d.choices.size());
    }
  }
  return false;
}

bool is_single(const Distribution& d) {
  switch (d.kind) {
    case Distribution::Kind::kFloat:
      if (d.low == d.high) return true;
      if (!d.step) return false;
      return Decimal::from_double(d.high) - Decimal::from_double(d.low) < Decimal::from_double(*d.step);
    case Distribution::Kind::kInt:
      if (d.low == d.high) return true;
      return !d.log && d.high - d.low < d.step.value_or(1.0);
    case Distribution::Kind::kCategorical:
      return d.choices.size() == 1;
  }
  return false;
}

}  // namespace kiln::optuna
