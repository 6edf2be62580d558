// Unit tests for optuna/distribution: Optuna's validation rules and `high` snapping (checked
// against real Optuna through tests/interop/space_ref.py when KILN_TEST_PYTHON can import it)
// and contains/single. The sweep spec's [space] table is tested in sweep/space_toml_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "config/config_test_util.h"
#include "optuna/distribution.h"
#include "optuna_reference.h"
#include "util/error.h"

namespace kiln::optuna {
namespace {

// The message and hint of the usage error `f` must raise (config_test_util.h).
std::string usage_error(const std::function<void()>& f) { return config::test::usage_error(f, /*with_hint=*/true); }

TEST(OptunaDistribution, FloatValidationErrors) {
  EXPECT_CONTAINS(usage_error([] { make_float(1e-5, 1.0, true, 0.1, "optim.lr"); }), "optim.lr");
  EXPECT_CONTAINS(usage_error([] { make_float(1e-5, 1.0, true, 0.1, "optim.lr"); }), "step");
  const std::string lh = usage_error([] { make_float(0.5, 0.1, false, std::nullopt, "optim.lr"); });
  EXPECT_CONTAINS(lh, "optim.lr");
  EXPECT_CONTAINS(lh, "low <= high");
  EXPECT_CONTAINS(usage_error([] { make_float(0.0, 1.0, true, std::nullopt, "optim.lr"); }), "low > 0");
  EXPECT_CONTAINS(usage_error([] { make_float(-1.0, 1.0, true, std::nullopt, "optim.lr"); }), "low > 0");
  EXPECT_CONTAINS(usage_error([] { make_float(0.0, 1.0, false, 0.0, "optim.lr"); }), "step > 0");
  EXPECT_CONTAINS(usage_error([] { make_float(0.0, 1.0, false, -0.1, "optim.lr"); }), "step > 0");
  EXPECT_CONTAINS(usage_error([] { make_float(0.0, INFINITY, false, std::nullopt, "x"); }), "finite");
  EXPECT_CONTAINS(usage_error([] { make_float(NAN, 1.0, false, std::nullopt, "x"); }), "finite");
  // Valid edge cases: low == high, log with positive low, a step equal to the range.
  EXPECT_NO_THROW(make_float(0.5, 0.5, false, std::nullopt));
  EXPECT_NO_THROW(make_float(1e-8, 1.0, true, std::nullopt));
  EXPECT_NO_THROW(make_float(0.0, 1.0, false, 1.0));
  const Distribution d = make_float(1e-5, 0.1, true, std::nullopt, "optim.lr");
  EXPECT_EQ(d.kind, Distribution::Kind::kFloat);
  EXPECT_EQ(d.low, 1e-5);
  EXPECT_EQ(d.high, 0.1);
  EXPECT_TRUE(d.log);
  EXPECT_FALSE(d.step.has_value());
}

TEST(OptunaDistribution, IntValidationErrors) {
  const std::string ls = usage_error([] { make_int(1, 64, true, 2, "model.cnn.fc"); });
  EXPECT_CONTAINS(ls, "model.cnn.fc");
  EXPECT_CONTAINS(ls, "step");
  EXPECT_CONTAINS(usage_error([] { make_int(8, 4, false, 1, "model.cnn.fc"); }), "low <= high");
  EXPECT_CONTAINS(usage_error([] { make_int(0, 4, true, 1, "model.cnn.fc"); }), "low >= 1");
  EXPECT_CONTAINS(usage_error([] { make_int(0, 4, false, 0, "model.cnn.fc"); }), "step > 0");
  EXPECT_CONTAINS(usage_error([] { make_int(0, 4, false, -2, "model.cnn.fc"); }), "step > 0");
  EXPECT_NO_THROW(make_int(1, 1, true, 1));
  EXPECT_NO_THROW(make_int(-3, 3, false, 1));
  const Distribution d = make_int(16, 256, true);
  EXPECT_EQ(d.kind, Distribution::Kind::kInt);
  EXPECT_EQ(d.low, 16.0);
  EXPECT_EQ(d.high, 256.0);
  EXPECT_EQ(d.step, 1.0);
}

TEST(OptunaDistribution, CategoricalValidation) {
  EXPECT_CONTAINS(usage_error([] { make_categorical({}, "optim.name"); }), "optim.name");
  EXPECT_CONTAINS(usage_error([] { make_categorical({nlohmann::json::array({1, 2})}, "optim.name"); }), "choice 0");
  EXPECT_CONTAINS(usage_error([] { make_categorical({"a", nlohmann::json::object()}, "optim.name"); }), "choice 1");
  const Distribution d = make_categorical({nullptr, true, 3, 1.5, "sgd"});
  EXPECT_EQ(d.kind, Distribution::Kind::kCategorical);
  ASSERT_EQ(d.choices.size(), 5u);
  EXPECT_EQ(d.choices[4], "sgd");
}

TEST(OptunaDistribution, FloatStepSnapsLikeDecimalArithmetic) {
  // Binary floats get these wrong: fmod(1.0, 0.1) != 0 and 0.3 / 0.1 < 3, yet in decimal
  // the ranges divide evenly, so `high` stays.
  EXPECT_EQ(make_float(0.0, 1.0, false, 0.1).high, 1.0);
  EXPECT_EQ(make_float(0.0, 0.3, false, 0.1).high, 0.3);
  EXPECT_EQ(make_float(0.1, 0.7, false, 0.2).high, 0.7);
  // Not divisible: snap down to low + k*step, computed in decimal, then read as a double.
  EXPECT_EQ(make_float(0.0, 1.05, false, 0.1).high, 1.0);
  EXPECT_EQ(make_float(0.3, 1.0, false, 0.2).high, 0.9);
  EXPECT_EQ(make_float(-1.0, 1.0, false, 0.3).high, 0.8);
  EXPECT_EQ(make_float(1e-5, 1e-4, false, 3e-5).high, 1e-4);  // 9e-5 is 3 steps
  EXPECT_EQ(make_float(1e-5, 1e-4, false, 4e-5).high, 9e-5);  // 2 steps: 1e-5 + 8e-5
  // A step larger than the range leaves only low.
  EXPECT_EQ(make_float(0.25, 0.5, false, 1.0).high, 0.25);
  // low is never moved, and step keeps its value.
  const Distribution d = make_float(0.3, 1.0, false, 0.2);
  EXPECT_EQ(d.low, 0.3);
  EXPECT_EQ(d.step, 0.2);
}

TEST(OptunaDistribution, IntStepSnapsWithFloorDivision) {
  EXPECT_EQ(make_int(0, 10, false, 3).high, 9.0);
  EXPECT_EQ(make_int(-5, 6, false, 4).high, 3.0);  // 11 // 4 * 4 + -5
  EXPECT_EQ(make_int(2, 2, false, 5).high, 2.0);
  EXPECT_EQ(make_int(1, 9, false, 2).high, 9.0);  // divisible: unchanged
}

TEST(OptunaDistribution, Contains) {
  const Distribution f = make_float(0.0, 1.0, false, std::nullopt);
  EXPECT_TRUE(contains(f, 0.0));
  EXPECT_TRUE(contains(f, 1.0));
  EXPECT_FALSE(contains(f, 1.0000001));
  EXPECT_FALSE(contains(f, NAN));
  const Distribution s = make_float(0.0, 1.0, false, 0.1);
  EXPECT_TRUE(contains(s, 0.1 * 3));  // 0.30000000000000004: within 1e-8 of 3 steps
  EXPECT_TRUE(contains(s, 0.7));
  EXPECT_FALSE(contains(s, 0.75));
  EXPECT_FALSE(contains(s, 1.1));
  const Distribution i = make_int(-4, 8, false, 3);
  EXPECT_TRUE(contains(i, -4.0));
  EXPECT_TRUE(contains(i, 5.0));
  EXPECT_FALSE(contains(i, 6.0));
  EXPECT_FALSE(contains(i, 11.0));
  EXPECT_FALSE(contains(i, -4.5));
  const Distribution c = make_categorical({"a", "b"});
  EXPECT_TRUE(contains(c, 0.0));
  EXPECT_TRUE(contains(c, 1.0));
  EXPECT_FALSE(contains(c, 2.0));
  EXPECT_FALSE(contains(c, -1.0));
}

TEST(OptunaDistribution, IsSingle) {
  EXPECT_TRUE(is_single(make_float(0.5, 0.5, false, std::nullopt)));
  EXPECT_FALSE(is_single(make_float(0.5, 0.6, false, std::nullopt)));
  EXPECT_TRUE(is_single(make_float(0.0, 0.25, false, 0.5)));  // snapped to [0, 0]
  EXPECT_FALSE(is_single(make_float(0.0, 0.3, false, 0.1)));
  EXPECT_TRUE(is_single(make_int(3, 3, true)));
  EXPECT_FALSE(is_single(make_int(3, 4, true)));
  EXPECT_TRUE(is_single(make_int(0, 2, false, 3)));
  EXPECT_FALSE(is_single(make_int(0, 3, false, 3)));
  EXPECT_TRUE(is_single(make_categorical({"only"})));
  EXPECT_FALSE(is_single(make_categorical({"a", "b"})));
}

// ---- against real Optuna --------------------------------------------------------------------

// Runs tests/interop/space_ref.py on the cases: per case, null if Optuna refuses it, else the
// snapped high, single() and _contains() of each value ("0"/"1" per value).
TEST(OptunaDistribution, SnappingAndValidationMatchOptuna) {
  const std::string& why = test_support::optuna_unavailable_reason();
  if (!why.empty()) GTEST_SKIP() << "needs Python with Optuna: " << why;
  struct Case {
    bool is_float;
    double low, high;
    bool log;
    std::optional<double> step;
  };
  std::vector<Case> cases = {{true, 0.0, 1.05, false, 0.1},
                             {true, 0.3, 1.0, false, 0.2},
                             {true, 0.0, 1.0, false, 0.1},
                             {true, 0.0, 0.3, false, 0.1},
                             {true, -1.0, 1.0, false, 0.3},
                             {true, 1e-5, 1e-4, false, 4e-5},
                             {true, 0.1, 1e16, false, 0.7},
                             {true, -0.0, 0.05, false, 0.1},
                             {true, 1e-300, 1e-299, false, 3e-301},
                             {true, 123456.789, 987654.321, false, 0.013},
                             {true, 0.1, 0.1, false, 0.1},
                             {true, 0.0, 1e30, false, 1e-5},
                             {true, 1e-20, 1e10, false, 0.3},
                             {true, -1e-15, 12345678.9, false, 0.7},
                             {true, 1e-25, 0.5, false, 0.1},
                             {true, 0.0, 1e22, false, 1e-6},
                             {true, 0.0, 9e21, false, 1e-6},
                             {true, 1e-5, 1.0, true, 0.1},
                             {true, 0.5, 0.1, false, std::nullopt},
                             {true, 0.0, 1.0, true, std::nullopt},
                             {true, 0.0, 1.0, false, 0.0},
                             {true, 0.0, 1.0, false, -0.5},
                             {true, 1e-8, 1.0, true, std::nullopt},
                             {false, 0, 10, false, 3},
                             {false, -5, 6, false, 4},
                             {false, 1, 64, true, 2},
                             {false, 0, 8, true, 1},
                             {false, 8, 4, false, 1},
                             {false, 0, 4, false, 0},
                             {false, 3, 3, false, 7}};
  std::mt19937 rng(20240501);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int i = 0; i < 300; ++i) {  // decimals with 0-4 places, as people write them
    const double p1 = std::pow(10.0, pick(0, 4)), p2 = std::pow(10.0, pick(0, 4)), p3 = std::pow(10.0, pick(0, 4));
    const double low = pick(-500, 500) / p1;
    const double high = low + pick(-20, 2000) / p2;
    const bool log = pick(0, 7) == 0;
    const int s = pick(-1, 40);
    cases.push_back(
        {true, low, high, log, (log && pick(0, 3)) || s == 40 ? std::nullopt : std::optional<double>(s / p3)});
  }
  for (int i = 0; i < 100; ++i) {
    const int low = pick(-50, 50);
    cases.push_back({false, double(low), double(low + pick(-5, 100)), pick(0, 5) == 0, double(pick(-1, 12))});
  }
  nlohmann::json input = {{"cases", nlohmann::json::array()}};
  std::vector<nlohmann::json> ours;  // kiln's answer per case, in space_ref.py's shape
  for (const auto& c : cases) {
    std::vector<double> values = {c.low, c.high, (c.low + c.high) / 2, c.high + 1, c.low - 1e-9};
    nlohmann::json mine;  // null: refused
    try {
      const Distribution d = c.is_float ? make_float(c.low, c.high, c.log, c.step)
                                        : make_int(int64_t(c.low), int64_t(c.high), c.log, int64_t(c.step.value_or(1)));
      for (int k = 1; k <= 3 && d.step; ++k) values.push_back(d.low + k * *d.step);
      values.push_back(d.high);
      std::string cont;
      for (double v : values) cont += contains(d, v) ? "1" : "0";
      mine = {{"high", d.high}, {"single", is_single(d)}, {"contains", cont}};
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage);
    }
    ours.push_back(mine);
    nlohmann::json in = {{"kind", c.is_float ? "float" : "int"}, {"log", c.log}, {"values", values}};
    if (c.is_float) {
      in["low"] = c.low, in["high"] = c.high, in["step"] = c.step ? nlohmann::json(*c.step) : nlohmann::json();
    } else {
      in["low"] = int64_t(c.low), in["high"] = int64_t(c.high), in["step"] = int64_t(c.step.value_or(1));
    }
    input["cases"].push_back(in);
  }
  std::string error;
  const std::optional<nlohmann::json> ref = test_support::run_optuna_reference("space_ref.py", input, &error);
  ASSERT_TRUE(ref) << error;
  const nlohmann::json& theirs = (*ref)["results"];
  ASSERT_EQ(theirs.size(), cases.size());
  size_t errors = 0;
  for (size_t i = 0; i < cases.size() && errors <= 10; ++i) {
    const nlohmann::json& want = theirs[i];
    const nlohmann::json& mine = ours[i];
    // Both refuse, or both accept with the same double `high` (compared as numbers), single
    // and contains.
    const bool same = want.is_null() ? mine.is_null()
                                     : !mine.is_null() && mine["high"].get<double>() == want["high"].get<double>() &&
                                           mine["single"] == want["single"] && mine["contains"] == want["contains"];
    if (!same)
      ++errors, ADD_FAILURE() << "case " << i << " " << input["cases"][i].dump() << ": optuna " << want.dump()
                              << ", kiln " << mine.dump();
  }
}

}  // namespace
}  // namespace kiln::optuna
