// Tests of TPE's Parzen estimator and truncated normal: densities, interval masses and inverse
// CDFs against Optuna's own code on the same inputs, and draws against the estimator's density.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "optuna/parzen.h"
#include "optuna/sampler.h"
#include "optuna/truncnorm.h"
#include "optuna_reference.h"

namespace kiln::optuna {
namespace {

Distribution numeric(Distribution::Kind kind, double low, double high, bool log, std::optional<double> step) {
  Distribution d;
  d.kind = kind;
  d.low = low;
  d.high = high;
  d.log = log;
  d.step = step;
  return d;
}

// The abbreviated form optuna.distributions.json_to_distribution reads.
nlohmann::json abbreviated(const Distribution& d) {
  if (d.kind == Distribution::Kind::kCategorical) {
    return {{"type", "categorical"}, {"choices", d.choices}};
  }
  nlohmann::json j = {
      {"type", d.kind == Distribution::Kind::kInt ? "int" : "float"}, {"low", d.low}, {"high", d.high}, {"log", d.log}};
  if (d.kind == Distribution::Kind::kInt) {
    j["low"] = static_cast<int>(d.low);
    j["high"] = static_cast<int>(d.high);
    j["step"] = static_cast<int>(d.step.value_or(1));
  } else if (d.step) {
    j["step"] = *d.step;
  }
  return j;
}

struct Case {
  Distribution dist;
  std::vector<double> observations;
  std::vector<double> points;
};

std::vector<Case> cases() {
  using K = Distribution::Kind;
  std::vector<Case> out = {
      {numeric(K::kFloat, 0, 10, false, {}), {1.0, 2.5, 7.0}, {0, 0.5, 1, 3, 5, 9.99, 10}},
      {numeric(K::kFloat, 1e-5, 1, true, {}), {1e-3, 3e-3, 0.2, 1e-5}, {1e-5, 1e-4, 2e-3, 0.5, 1}},
      {numeric(K::kFloat, 0, 0.5, false, 0.05), {0.1, 0.2, 0.2, 0.45}, {0, 0.05, 0.2, 0.5}},
      {numeric(K::kInt, 1, 16, false, 1), {3, 6, 6, 14}, {}},
      {numeric(K::kInt, 8, 512, true, 1), {16, 64, 500}, {8, 9, 64, 100, 512}},
      {numeric(K::kInt, 16, 256, false, 16), {32, 128}, {16, 32, 48, 256}},
      {numeric(K::kFloat, 0, 1, false, {}), {}, {0, 0.3, 1}},            // the prior alone
      {numeric(K::kFloat, 0, 1, false, {}), {0.9}, {0, 0.3, 0.9, 1}},    // one kernel
      {numeric(K::kFloat, 0, 1, false, {}), {1.5, 0.3}, {0.1, 0.3, 1}},  // observed off-range
  };
  for (int k = 1; k <= 16; ++k) out[3].points.push_back(k);
  // 40 observations: old ones down-weighted by the ramp (n >= 25).
  Case ramp{numeric(K::kFloat, -1, 1, false, {}), {}, {-1, -0.5, 0, 0.25, 0.9}};
  for (int i = 0; i < 40; ++i) ramp.observations.push_back(std::sin(1.0 + 7.3 * i));
  out.push_back(ramp);
  Distribution cat;
  cat.kind = K::kCategorical;
  cat.choices = {"a", "b", "c"};
  out.push_back({cat, {0, 2, 2}, {0, 1, 2}});
  return out;
}

void expect_close(double got, const nlohmann::json& want, double rel, const std::string& what) {
  ASSERT_FALSE(want.is_null()) << what << ": Optuna gave a non-finite value";
  const double w = want.get<double>();
  EXPECT_NEAR(got, w, rel * (1.0 + std::fabs(w))) << what;
}

TEST(SweepParzen, MatchesOptunaDensitiesMassesAndQuantiles) {
  const std::string& why = test_support::optuna_unavailable_reason();
  if (!why.empty()) GTEST_SKIP() << "needs Python with Optuna: " << why;
  const std::vector<Case> all = cases();
  nlohmann::json input = {{"cases", nlohmann::json::array()}};
  for (const Case& c : all) {
    input["cases"].push_back({{"dist", abbreviated(c.dist)}, {"observations", c.observations}, {"points", c.points}});
  }
  const std::vector<std::vector<double>> ppf_args = {
      {0.3, -1, 1},  {1e-12, -1, 1},  {0.999999, -1, 1}, {0.5, 0.5, 3},    {0.9, -3, -0.5}, {0.01, -30, -25},
      {0.7, 25, 30}, {0.2, -0.1, 50}, {0.8, -50, 0.1},   {0.5, 2, 2.0001}, {0.99, -8, 8}};
  const std::vector<std::vector<double>> mass_args = {{-1, 1}, {-40, -39}, {39, 40},   {0, 1e-8},
                                                      {-5, 5}, {3, 3.5},   {-0.5, 30}, {-22, -21.5}};
  input["ppf"] = ppf_args;
  input["log_gauss_mass"] = mass_args;
  std::string error;
  const std::optional<nlohmann::json> ref = test_support::run_optuna_reference("parzen_ref.py", input, &error);
  ASSERT_TRUE(ref) << error;

  // Same formulas, different erf/log implementations: agreement to ~1e-9 relative.
  for (size_t i = 0; i < all.size(); ++i) {
    const ParzenEstimator pe(all[i].dist, all[i].observations);
    for (size_t j = 0; j < all[i].points.size(); ++j) {
      expect_close(pe.log_pdf(all[i].points[j]), (*ref)["log_pdf"][i][j], 1e-9,
                   "case " + std::to_string(i) + " log_pdf(" + std::to_string(all[i].points[j]) + ")");
    }
  }
  for (size_t i = 0; i < mass_args.size(); ++i) {
    expect_close(truncnorm::log_gauss_mass(mass_args[i][0], mass_args[i][1]), (*ref)["log_gauss_mass"][i], 1e-9,
                 "log_gauss_mass case " + std::to_string(i));
  }
  // Optuna stops its Newton iterations at 1e-8 relative; kiln iterates further.
  for (size_t i = 0; i < ppf_args.size(); ++i) {
    expect_close(truncnorm::ppf(ppf_args[i][0], ppf_args[i][1], ppf_args[i][2]), (*ref)["ppf"][i], 1e-7,
                 "ppf case " + std::to_string(i));
  }
  for (int n = 0; n <= 100; ++n) {
    EXPECT_EQ(tpe_default_gamma(n), (*ref)["gamma"][n].get<int>()) << "gamma(" << n << ")";
  }
  for (const auto& [n, weights] : (*ref)["weights"].items()) {
    const std::vector<double> want = weights.get<std::vector<double>>();
    const std::vector<double> got = default_weights(std::stoi(n));
    ASSERT_EQ(got.size(), want.size()) << "weights(" << n << ")";
    for (size_t i = 0; i < want.size(); ++i) EXPECT_DOUBLE_EQ(got[i], want[i]) << n << "/" << i;
  }
}

TEST(SweepParzen, DiscreteMassSumsToOne) {
  for (const Case& c : cases()) {
    if (!c.dist.step && c.dist.kind != Distribution::Kind::kCategorical) continue;
    const ParzenEstimator pe(c.dist, c.observations);
    double total = 0;
    const double step = c.dist.step.value_or(1.0);
    const double hi =
        c.dist.kind == Distribution::Kind::kCategorical ? static_cast<double>(c.dist.choices.size()) - 1 : c.dist.high;
    const int n = static_cast<int>(std::round((hi - c.dist.low) / step)) + 1;
    for (int k = 0; k < n; ++k) total += std::exp(pe.log_pdf(c.dist.low + k * step));
    EXPECT_NEAR(total, 1.0, 1e-9) << abbreviated(c.dist).dump();
  }
}

// Draws, binned, against the density integrated over the same bins (in the transformed space).
TEST(SweepParzen, SamplesFollowTheDensity) {
  constexpr int kDraws = 20000;
  // Binned frequencies have sd <= sqrt(0.25 / 20000) = 0.0035; 0.015 is over 4 sd.
  constexpr double kTolerance = 0.015;
  std::mt19937_64 rng = trial_rng(1, 0, 0);
  for (const Case& c : cases()) {
    if (c.dist.kind == Distribution::Kind::kCategorical) continue;
    const ParzenEstimator pe(c.dist, c.observations);
    const bool discrete = c.dist.step.has_value();
    const double lo = c.dist.log ? std::log(c.dist.low) : c.dist.low;
    const double hi = c.dist.log ? std::log(c.dist.high) : c.dist.high;
    // Discrete: the values in up to 16 consecutive groups; continuous: 10 equal bins.
    const int values = discrete ? static_cast<int>(std::round((c.dist.high - c.dist.low) / *c.dist.step)) + 1 : 0;
    const int bins = discrete ? std::min(16, values) : 10;
    auto group = [&](int index) { return static_cast<int>(int64_t{index} * bins / values); };
    std::vector<double> freq(bins, 0.0), want(bins, 0.0);
    for (int i = 0; i < kDraws; ++i) {
      const double x = pe.sample(rng);
      const double t = c.dist.log ? std::log(x) : x;
      const int b = discrete ? group(static_cast<int>(std::round((x - c.dist.low) / *c.dist.step)))
                             : std::min(bins - 1, static_cast<int>((t - lo) / (hi - lo) * bins));
      ASSERT_TRUE(b >= 0 && b < bins) << "draw " << x << " outside " << abbreviated(c.dist);
      freq[b] += 1.0 / kDraws;
    }
    if (discrete) {
      for (int k = 0; k < values; ++k) {
        want[group(k)] += std::exp(pe.log_pdf(c.dist.low + k * *c.dist.step));
      }
    }
    for (int b = 0; b < bins && !discrete; ++b) {
      constexpr int kSub = 200;  // midpoint rule inside the bin
      const double width = (hi - lo) / bins;
      for (int s = 0; s < kSub; ++s) {
        const double t = lo + width * (b + (s + 0.5) / kSub);
        want[b] += std::exp(pe.log_pdf(c.dist.log ? std::exp(t) : t)) * width / kSub;
      }
    }
    for (int b = 0; b < bins; ++b) {
      EXPECT_NEAR(freq[b], want[b], kTolerance) << abbreviated(c.dist).dump() << " bin " << b;
    }
  }
}

}  // namespace
}  // namespace kiln::optuna
