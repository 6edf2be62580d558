// Tests of Optuna's distribution JSON and of Python-compatible JSON text: byte equality with
// real Optuna's distribution_to_json and json.dumps (tests/interop/distribution_json.py),
// the reader's forms and errors, internal <-> external values, compatibility.
#include "optuna/distribution_json.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "journal_test_util.h"
#include "optuna/python_json.h"
#include "util/error.h"

namespace kiln::optuna {
namespace {

using nlohmann::json;

ExitCode usage_code_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  return ExitCode::kOk;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string hex_float(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

TEST(SweepDistributionJson, WritesTheShapesOptunaDocuments) {
  // The byte-exact lines from Optuna 3.1.0/4.9.0 quoted in optuna.md §1.2.
  Distribution lr{Distribution::Kind::kFloat, 1e-5, 0.1, true, std::nullopt, {}};
  Distribution drop{Distribution::Kind::kFloat, 0.0, 0.5, false, 0.1, {}};
  Distribution layers{Distribution::Kind::kInt, 1, 8, false, 1.0, {}};
  Distribution width{Distribution::Kind::kInt, 16, 256, true, 1.0, {}};
  Distribution opt{Distribution::Kind::kCategorical, 0, 0, false, std::nullopt, {"adam", "sgd", nullptr, 3, 1.5, true}};
  EXPECT_EQ(distribution_to_json(lr),
            R"({"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 0.1, "log": true}})");
  EXPECT_EQ(distribution_to_json(drop),
            R"({"name": "FloatDistribution", "attributes": {"step": 0.1, "low": 0.0, "high": 0.5, "log": false}})");
  EXPECT_EQ(distribution_to_json(layers),
            R"({"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 1, "high": 8}})");
  EXPECT_EQ(distribution_to_json(width),
            R"({"name": "IntDistribution", "attributes": {"log": true, "step": 1, "low": 16, "high": 256}})");
  EXPECT_EQ(distribution_to_json(opt),
            R"({"name": "CategoricalDistribution", "attributes": {"choices": ["adam", "sgd", null, 3, 1.5, true]}})");
}

TEST(SweepDistributionJson, MatchesRealOptunaByteForByte) {
  KILN_REQUIRE_OPTUNA();
  test_support::TempDir dir;
  // Every form json_to_distribution reads, with values that exercise float repr, snapping
  // of high onto the step grid, and ensure_ascii escapes in choices.
  const json dists = json::parse(R"([
    {"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 0.1, "log": true}},
    {"type": "float", "low": 0, "high": 1.05, "step": 0.1},
    {"type": "float", "low": 0.1, "high": 1.0, "step": 0.3},
    {"type": "float", "low": -1e300, "high": 1e-300},
    {"type": "float", "low": 1e-7, "high": 12345678901234567890, "log": true},
    {"type": "float", "low": 0.0001, "high": 1e16, "step": 0.5},
    {"type": "float", "low": 2.5, "high": 2.5},
    {"type": "int", "low": 0, "high": 10, "step": 3},
    {"type": "int", "low": -7, "high": 100},
    {"type": "int", "low": 1, "high": 1024, "log": true},
    {"name": "IntDistribution", "attributes": {"log": false, "step": 2, "low": 1, "high": 8}},
    {"type": "categorical", "choices": ["adam", "sgd", null, 3, 1.5, true, false, -0.0, 1e-05, 1e+22, 12345678901234]},
    {"type": "categorical", "choices": ["caf\u00e9", "\u65e5\u672c", "\ud83d\ude00", "tab\there", "q\"uote", "back\\slash", "\u0001\u007f", "/"]},
    {"name": "UniformDistribution", "attributes": {"low": -2.0, "high": 3.5}},
    {"name": "LogUniformDistribution", "attributes": {"low": 0.001, "high": 10}},
    {"name": "DiscreteUniformDistribution", "attributes": {"low": 0.0, "high": 1.0, "q": 0.25}},
    {"name": "DiscreteUniformDistribution", "attributes": {"low": 0.0, "high": 0.95, "q": 0.1}},
    {"name": "IntUniformDistribution", "attributes": {"low": 2, "high": 11, "step": 3}},
    {"name": "IntLogUniformDistribution", "attributes": {"low": 1, "high": 64}}
  ])");
  json items = json::array();
  for (const auto& d : dists) items.push_back({{"dist", d}});
  const std::string input = (dir / "items.json").string();
  std::ofstream(input) << items.dump();
  const std::vector<std::string> python = lines_of(journal_test::run_python("distribution_json.py", "", input));
  ASSERT_EQ(python.size(), dists.size());
  for (size_t i = 0; i < dists.size(); ++i) {
    SCOPED_TRACE(dists[i].dump());
    const Distribution d = distribution_from_json(dists[i]);
    const std::string ours = distribution_to_json(d);
    EXPECT_EQ(ours, python[i]);
    // Round trip: reading our own output gives the same distribution back.
    const Distribution back = distribution_from_json(ours);
    EXPECT_EQ(back.kind, d.kind);
    EXPECT_EQ(back.low, d.low);
    EXPECT_EQ(back.high, d.high);
    EXPECT_EQ(back.log, d.log);
    EXPECT_EQ(back.step, d.step);
    EXPECT_EQ(json(back.choices), json(d.choices));
    EXPECT_EQ(distribution_to_json(back), ours);
  }
}

TEST(SweepPythonJson, FloatsAndStringsMatchPythonJsonDumps) {
  KILN_REQUIRE_OPTUNA();
  test_support::TempDir dir;
  // Fixed-seed doubles from every binade (random bit patterns) plus the edge cases of
  // Python's repr layout (the switch to exponent form at 1e16 and 1e-4).
  std::vector<double> values = {0.0,
                                -0.0,
                                1.0,
                                0.1,
                                1e-5,
                                1e-4,
                                0.00012,
                                1e16,
                                9999999999999998.0,
                                1e15,
                                123456789012345678.0,
                                5e-324,
                                2.2250738585072014e-308,
                                1.7976931348623157e308,
                                1.0 / 3.0,
                                100.0,
                                1e22,
                                1e23,
                                0.3,
                                2.5e-7,
                                -123.456};
  std::mt19937_64 rng(12345);
  while (values.size() < 400) {
    const uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    if (std::isfinite(v)) values.push_back(v);
  }
  for (int i = 0; i < 100; ++i)
    values.push_back(std::ldexp(static_cast<double>(rng() % 100000), -static_cast<int>(rng() % 40)));
  const json strings = json::parse(
      R"(["plain", "caf\u00e9 \u65e5\u672c \ud83d\ude00", "\b\f\n\r\t\u0000\u001f\u007f\u0080", "\"\\/", ""])");
  const json nested = json::parse(R"({"a": [1, 2.5, null, true, {"b": "\u00fc"}], "c": {}, "d": []})");
  json items = json::array();
  for (double v : values) items.push_back({{"float_hex", hex_float(v)}});
  for (const auto& s : strings) items.push_back({{"dumps", s}});
  items.push_back({{"dumps", nested}});
  const std::string input = (dir / "items.json").string();
  std::ofstream(input) << items.dump();
  const std::vector<std::string> python = lines_of(journal_test::run_python("distribution_json.py", "", input));
  ASSERT_EQ(python.size(), items.size());
  size_t i = 0;
  for (double v : values) EXPECT_EQ(python_json_float(v), python[i++]) << hex_float(v);
  for (const auto& s : strings) EXPECT_EQ(python_json_dumps(s), python[i++]);
  EXPECT_EQ(python_json_dumps(nested), python[i++]);
}

TEST(SweepPythonJson, FloatReprAndNonFiniteTokens) {
  // Python facts: repr(1e-05) == '1e-05', repr(1e16) == '1e+16', json.dumps(nan) == 'NaN'.
  EXPECT_EQ(python_json_float(1e-5), "1e-05");
  EXPECT_EQ(python_json_float(0.0001), "0.0001");
  EXPECT_EQ(python_json_float(0.1), "0.1");
  EXPECT_EQ(python_json_float(1.0), "1.0");
  EXPECT_EQ(python_json_float(-0.0), "-0.0");
  EXPECT_EQ(python_json_float(1e16), "1e+16");
  EXPECT_EQ(python_json_float(1234567890123456.0), "1234567890123456.0");
  EXPECT_EQ(python_json_float(1.5e300), "1.5e+300");
  EXPECT_EQ(python_json_float(std::nan("")), "NaN");
  EXPECT_EQ(python_json_float(HUGE_VAL), "Infinity");
  EXPECT_EQ(python_json_float(-HUGE_VAL), "-Infinity");
  const json j = python_json_loads(R"({"a":NaN,"b":[Infinity,-Infinity,1],"s":"NaN Infinity \"-Infinity"})");
  EXPECT_TRUE(std::isnan(j["a"].get<double>()));
  EXPECT_EQ(j["b"][0].get<double>(), HUGE_VAL);
  EXPECT_EQ(j["b"][1].get<double>(), -HUGE_VAL);
  EXPECT_EQ(j["b"][2], 1);
  EXPECT_EQ(j["s"], "NaN Infinity \"-Infinity");
  EXPECT_EQ(python_json_dumps(j, kCompactSeparators),
            R"({"a":NaN,"b":[Infinity,-Infinity,1],"s":"NaN Infinity \"-Infinity"})");
  EXPECT_THROW(python_json_loads("{\"a\":nan}"), json::parse_error);
  EXPECT_THROW(python_json_loads("{\"a\":1"), json::parse_error);
  EXPECT_EQ(usage_code_of([] { python_json_dumps(json("bad \xff utf-8")); }), ExitCode::kUsage);
}

TEST(SweepDistributionJson, ReadsAbbreviatedAndDeprecatedForms) {
  const Distribution f =
      distribution_from_json(std::string(R"({"type": "float", "low": 0, "high": 1.05, "step": 0.1})"));
  EXPECT_EQ(f.kind, Distribution::Kind::kFloat);
  EXPECT_EQ(f.high, 1.0);  // snapped onto 0 + k * 0.1, as Python's decimal arithmetic does
  EXPECT_EQ(f.step, 0.1);
  const Distribution i = distribution_from_json(json::parse(R"({"type": "int", "low": 0, "high": 10, "step": 3})"));
  EXPECT_EQ(i.kind, Distribution::Kind::kInt);
  EXPECT_EQ(i.high, 9.0);
  const Distribution i1 = distribution_from_json(json::parse(R"({"type": "int", "low": 1, "high": 5})"));
  EXPECT_EQ(i1.step, 1.0);  // the abbreviated int form defaults step to 1
  // A JSON string holding the JSON (how journal records carry distributions) reads the same.
  EXPECT_EQ(distribution_from_json(json(R"({"type": "int", "low": 1, "high": 5})")).high, 5.0);
  const Distribution lu = distribution_from_json(
      json::parse(R"({"name": "LogUniformDistribution", "attributes": {"low": 0.001, "high": 10}})"));
  EXPECT_EQ(lu.kind, Distribution::Kind::kFloat);
  EXPECT_TRUE(lu.log);
  EXPECT_EQ(lu.step, std::nullopt);
  const Distribution du = distribution_from_json(
      json::parse(R"({"name": "DiscreteUniformDistribution", "attributes": {"low": 0, "high": 1, "q": 0.25}})"));
  EXPECT_EQ(du.step, 0.25);
  const Distribution il = distribution_from_json(
      json::parse(R"({"name": "IntLogUniformDistribution", "attributes": {"low": 1, "high": 64, "step": 1}})"));
  EXPECT_EQ(il.kind, Distribution::Kind::kInt);
  EXPECT_TRUE(il.log);
  // The deprecated classes are written under the new names.
  EXPECT_EQ(distribution_to_json(lu),
            R"({"name": "FloatDistribution", "attributes": {"step": null, "low": 0.001, "high": 10.0, "log": true}})");
}

TEST(SweepDistributionJson, BadInputIsAUsageErrorNamingIt) {
  std::string msg;
  EXPECT_EQ(
      usage_code_of([] { distribution_from_json(std::string(R"({"name": "GaussDistribution", "attributes": {}})")); },
                    &msg),
      ExitCode::kUsage);
  EXPECT_NE(msg.find("GaussDistribution"), std::string::npos) << msg;
  EXPECT_EQ(
      usage_code_of([] { distribution_from_json(std::string(R"({"type": "normal", "low": 0, "high": 1})")); }, &msg),
      ExitCode::kUsage);
  EXPECT_NE(msg.find("normal"), std::string::npos) << msg;
  EXPECT_EQ(usage_code_of([] { distribution_from_json(std::string("{not json")); }), ExitCode::kUsage);
  EXPECT_EQ(usage_code_of([] { distribution_from_json(json::parse(R"({"type": "float", "low": 2, "high": 1})")); }),
            ExitCode::kUsage);
  EXPECT_EQ(usage_code_of(
                [] { distribution_from_json(json::parse(R"({"type": "float", "low": 0, "high": 1, "log": true})")); }),
            ExitCode::kUsage);
  EXPECT_EQ(
      usage_code_of([] {
        distribution_from_json(json::parse(R"({"type": "float", "low": 1, "high": 2, "log": true, "step": 0.5})"));
      }),
      ExitCode::kUsage);
  EXPECT_EQ(
      usage_code_of([] { distribution_from_json(json::parse(R"({"type": "int", "low": 1, "high": 9, "step": 0})")); }),
      ExitCode::kUsage);
  EXPECT_EQ(usage_code_of([] { distribution_from_json(json::parse(R"({"type": "categorical", "choices": []})")); }),
            ExitCode::kUsage);
  EXPECT_EQ(usage_code_of(
                [] {
                  distribution_from_json(
                      json::parse(R"({"name": "FloatDistribution", "attributes": {"low": 0, "high": 1, "sigma": 2}})"));
                },
                &msg),
            ExitCode::kUsage);
  EXPECT_NE(msg.find("sigma"), std::string::npos) << msg;
}

TEST(SweepDistributionJson, InternalAndExternalValues) {
  const Distribution f =
      distribution_from_json(json::parse(R"({"type": "float", "low": 1e-5, "high": 1, "log": true})"));
  EXPECT_EQ(to_external(f, 0.25), json(0.25));
  EXPECT_EQ(to_internal(f, json(0.25)), 0.25);
  EXPECT_EQ(usage_code_of([&] { to_internal(f, json(0.0)); }), ExitCode::kUsage);  // log needs > 0
  EXPECT_EQ(usage_code_of([&] { to_internal(f, json(std::nan(""))); }), ExitCode::kUsage);
  EXPECT_EQ(usage_code_of([&] { to_internal(f, json("0.5")); }), ExitCode::kUsage);
  const Distribution i = distribution_from_json(json::parse(R"({"type": "int", "low": 1, "high": 8})"));
  EXPECT_TRUE(to_external(i, 7.0).is_number_integer());
  EXPECT_EQ(to_external(i, 7.0), json(7));
  EXPECT_EQ(to_external(i, 7.9), json(7));  // Python's int() truncates
  EXPECT_EQ(to_internal(i, json(3)), 3.0);
  const Distribution c =
      distribution_from_json(json::parse(R"({"type": "categorical", "choices": ["a", null, 2, 1.5, true]})"));
  EXPECT_EQ(to_external(c, 0), json("a"));
  EXPECT_EQ(to_external(c, 1), json(nullptr));
  EXPECT_EQ(to_internal(c, json(nullptr)), 1.0);
  EXPECT_EQ(to_internal(c, json(2.0)), 2.0);  // Python: 2.0 == 2
  EXPECT_EQ(to_internal(c, json(1.5)), 3.0);
  EXPECT_EQ(to_internal(c, json(true)), 4.0);
  EXPECT_EQ(usage_code_of([&] { to_internal(c, json("b")); }), ExitCode::kUsage);
  EXPECT_EQ(usage_code_of([&] { to_external(c, 5); }), ExitCode::kUsage);
  const Distribution n = distribution_from_json(python_json_loads(R"({"type": "categorical", "choices": [1, NaN]})"));
  EXPECT_EQ(to_internal(n, json(std::nan(""))), 1.0);  // the NaN-aware fallback
}

TEST(SweepDistributionJson, CompatibilityFollowsOptuna) {
  auto d = [](const char* text) { return distribution_from_json(std::string(text)); };
  // Ranges and steps may change between trials; kind, log and choices may not.
  EXPECT_TRUE(compatible(d(R"({"type": "float", "low": 0, "high": 1})"),
                         d(R"({"type": "float", "low": -5, "high": 9, "step": 0.5})")));
  EXPECT_FALSE(compatible(d(R"({"type": "float", "low": 1, "high": 2})"),
                          d(R"({"type": "float", "low": 1, "high": 2, "log": true})")));
  EXPECT_FALSE(
      compatible(d(R"({"type": "float", "low": 1, "high": 2})"), d(R"({"type": "int", "low": 1, "high": 2})")));
  EXPECT_TRUE(compatible(d(R"({"type": "int", "low": 1, "high": 2})"),
                         d(R"({"type": "int", "low": 0, "high": 20, "step": 2})")));
  EXPECT_TRUE(compatible(d(R"({"type": "categorical", "choices": [1, "a"]})"),
                         d(R"({"type": "categorical", "choices": [1.0, "a"]})")));
  EXPECT_FALSE(compatible(d(R"({"type": "categorical", "choices": ["a", "b"]})"),
                          d(R"({"type": "categorical", "choices": ["b", "a"]})")));
  EXPECT_FALSE(compatible(d(R"({"type": "categorical", "choices": ["a"]})"),
                          d(R"({"type": "categorical", "choices": ["a", "b"]})")));
}

}  // namespace
}  // namespace kiln::optuna
