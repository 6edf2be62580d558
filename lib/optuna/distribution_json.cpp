// Optuna's distribution JSON: distribution_to_json byte for byte, the readers of
// json_to_distribution (full, abbreviated and deprecated forms), internal <-> external values.
#include "optuna/distribution_json.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>

#include "optuna/distribution.h"
#include "optuna/python_json.h"
#include "util/error.h"

namespace kiln::optuna {
namespace {

using nlohmann::json;

const char* const kHint =
    "use Optuna's distribution JSON: {\"name\": \"FloatDistribution\", "
    "\"attributes\": {...}} or {\"type\": \"float\"|\"int\"|\"categorical\", ...}";

[[noreturn]] void fail(const std::string& message) { throw Error::usage("distribution: " + message, kHint); }

const json& attr(const json& obj, const char* key, const std::string& what) {
  const auto it = obj.find(key);
  if (it == obj.end()) fail(what + " needs '" + key + "'");
  return *it;
}

double number(const json& v, const char* key, const std::string& what) {
  if (!v.is_number()) fail(what + ": '" + key + "' must be a number, got " + v.dump());
  const double x = v.get<double>();
  if (!std::isfinite(x)) fail(what + ": '" + key + "' must be finite, got " + python_json_float(x));
  return x;
}

bool boolean(const json& obj, const char* key, const std::string& what) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_boolean()) fail(what + ": '" + key + "' must be true or false, got " + it->dump());
  return it->get<bool>();
}

std::optional<double> optional_number(const json& obj, const char* key, const std::string& what) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  return number(*it, key, what);
}

void only_keys(const json& attrs, const std::set<std::string>& allowed, const std::string& what) {
  for (auto it = attrs.begin(); it != attrs.end(); ++it) {
    if (!allowed.count(it.key())) fail(what + " has no attribute '" + it.key() + "'");
  }
}

// The constructors' rules (validation, snapping of high) live in space.cpp; Python's
// json_to_distribution runs them too. int() truncates ints given as floats.
Distribution float_dist(double low, double high, bool log, std::optional<double> step) {
  return make_float(low, high, log, step);
}

Distribution int_dist(double low, double high, bool log, double step) {
  // Clamped first so the cast is defined; make_int refuses anything beyond 2^53 anyway.
  auto as_int = [](double v) { return static_cast<std::int64_t>(std::trunc(std::clamp(v, -4e18, 4e18))); };
  return make_int(as_int(low), as_int(high), log, as_int(step));
}

Distribution categorical_dist(const json& choices, const std::string& what) {
  if (!choices.is_array()) fail(what + ": 'choices' must be a list, got " + choices.dump());
  return make_categorical(std::vector<json>(choices.begin(), choices.end()));
}

Distribution from_full_form(const json& j) {
  const json& name_v = j.at("name");
  if (!name_v.is_string()) fail("'name' must be a string, got " + name_v.dump());
  const std::string name = name_v.get<std::string>();
  const auto it = j.find("attributes");
  if (it == j.end() || !it->is_object()) fail(name + " needs an 'attributes' object");
  const json& a = *it;
  if (name == "FloatDistribution") {
    only_keys(a, {"low", "high", "log", "step"}, name);
    return float_dist(number(attr(a, "low", name), "low", name), number(attr(a, "high", name), "high", name),
                      boolean(a, "log", name), optional_number(a, "step", name));
  }
  if (name == "IntDistribution") {
    only_keys(a, {"low", "high", "log", "step"}, name);
    return int_dist(number(attr(a, "low", name), "low", name), number(attr(a, "high", name), "high", name),
                    boolean(a, "log", name), optional_number(a, "step", name).value_or(1.0));
  }
  if (name == "CategoricalDistribution") {
    only_keys(a, {"choices"}, name);
    return categorical_dist(attr(a, "choices", name), name);
  }
  // Deprecated classes (Optuna < 3.0 files): read as the new kinds, never written.
  const bool uniform = name == "UniformDistribution", log_uniform = name == "LogUniformDistribution";
  if (uniform || log_uniform) {
    only_keys(a, {"low", "high"}, name);
    return float_dist(number(attr(a, "low", name), "low", name), number(attr(a, "high", name), "high", name),
                      log_uniform, std::nullopt);
  }
  if (name == "DiscreteUniformDistribution") {
    only_keys(a, {"low", "high", "q"}, name);
    return float_dist(number(attr(a, "low", name), "low", name), number(attr(a, "high", name), "high", name), false,
                      number(attr(a, "q", name), "q", name));
  }
  const bool int_uniform = name == "IntUniformDistribution", int_log = name == "IntLogUniformDistribution";
  if (int_uniform || int_log) {
    only_keys(a, {"low", "high", "step"}, name);
    return int_dist(number(attr(a, "low", name), "low", name), number(attr(a, "high", name), "high", name), int_log,
                    optional_number(a, "step", name).value_or(1.0));
  }
  throw Error::usage("distribution: Unknown distribution class: " + name,
                     "use FloatDistribution, IntDistribution or CategoricalDistribution");
}

// The abbreviated form of `optuna ask --search-space`: {"type": "float", "low": ..., ...}.
Distribution from_abbreviated_form(const json& j) {
  const auto it = j.find("type");
  if (it == j.end()) fail("needs 'name' (full form) or 'type' (abbreviated form), got " + j.dump());
  const std::string type = it->is_string() ? it->get<std::string>() : it->dump();
  if (type == "categorical") return categorical_dist(attr(j, "choices", type), type);
  if (type == "float" || type == "int") {
    const double low = number(attr(j, "low", type), "low", type);
    const double high = number(attr(j, "high", type), "high", type);
    const bool log = boolean(j, "log", type);
    const std::optional<double> step = optional_number(j, "step", type);
    if (type == "float") return float_dist(low, high, log, step);
    return int_dist(low, high, log, step.value_or(1.0));
  }
  throw Error::usage("distribution: Unknown distribution type: " + type,
                     "use \"type\": \"float\", \"int\" or \"categorical\"");
}

std::string int_text(double v) {
  return std::to_string(static_cast<std::int64_t>(std::trunc(std::clamp(v, -9e18, 9e18))));
}

}  // namespace

std::string distribution_to_json(const Distribution& d) {
  // Key order is the order Python's __init__ assigns the attributes (its __dict__ order).
  const std::string log = d.log ? "true" : "false";
  switch (d.kind) {
    case Distribution::Kind::kFloat:
      return "{\"name\": \"FloatDistribution\", \"attributes\": {\"step\": " +
             (d.step ? python_json_float(*d.step) : std::string("null")) + ", \"low\": " + python_json_float(d.low) +
             ", \"high\": " + python_json_float(d.high) + ", \"log\": " + log + "}}";
    case Distribution::Kind::kInt:
      return "{\"name\": \"IntDistribution\", \"attributes\": {\"log\": " + log +
             ", \"step\": " + int_text(d.step.value_or(1.0)) + ", \"low\": " + int_text(d.low) +
             ", \"high\": " + int_text(d.high) + "}}";
    case Distribution::Kind::kCategorical: {
      const json choices(d.choices);
      return "{\"name\": \"CategoricalDistribution\", \"attributes\": {\"choices\": " + python_json_dumps(choices) +
             "}}";
    }
  }
  throw Error::runtime("distribution_to_json: unknown distribution kind");
}

Distribution distribution_from_json(const nlohmann::json& j) {
  if (j.is_string()) return distribution_from_json(j.get<std::string>());  // double-encoded, as in journals
  if (!j.is_object()) fail("expected a JSON object, got " + j.dump());
  return j.contains("name") ? from_full_form(j) : from_abbreviated_form(j);
}

Distribution distribution_from_json(const std::string& text) {
  json j;
  try {
    j = python_json_loads(text);
  } catch (const json::parse_error& e) {
    fail("not valid JSON (" + std::string(e.what()) + "): " + text);
  }
  return distribution_from_json(j);
}

nlohmann::json to_external(const Distribution& d, double internal) {
  switch (d.kind) {
    case Distribution::Kind::kFloat:
      return internal;
    case Distribution::Kind::kInt:
      if (!(std::fabs(internal) < 9e18)) {  // also NaN; Python's int() raises for NaN and inf
        throw Error::usage("value " + python_json_float(internal) + " is not an integer parameter value");
      }
      return static_cast<std::int64_t>(std::trunc(internal));  // int(x) truncates
    case Distribution::Kind::kCategorical: {
      const double index = std::trunc(internal);
      if (!(index >= 0 && index < static_cast<double>(d.choices.size()))) {
        throw Error::usage("categorical index " + python_json_float(internal) + " is out of range for " +
                               std::to_string(d.choices.size()) + " choices",
                           "the value must be the index of one of the choices");
      }
      return d.choices[static_cast<size_t>(index)];
    }
  }
  throw Error::runtime("to_external: unknown distribution kind");
}

double to_internal(const Distribution& d, const nlohmann::json& external) {
  if (d.kind == Distribution::Kind::kCategorical) {
    // choices.index(x) (Python ==, so 1 matches 1.0 and true), then a NaN-aware retry.
    for (bool nan_equal : {false, true}) {
      for (size_t i = 0; i < d.choices.size(); ++i) {
        if (python_equal(external, d.choices[i], nan_equal)) return static_cast<double>(i);
      }
    }
    throw Error::usage(
        "value " + python_json_dumps(external) + " is not one of the choices " + python_json_dumps(json(d.choices)),
        "pick one of the listed choices");
  }
  if (!external.is_number() && !external.is_boolean()) {
    throw Error::usage("value " + python_json_dumps(external) + " is not a number",
                       "give a number for a float or int parameter");
  }
  const double v = external.is_boolean() ? (external.get<bool>() ? 1.0 : 0.0) : external.get<double>();
  if (std::isnan(v)) throw Error::usage("value NaN is not allowed for a parameter", "give a finite number");
  if (d.log && v <= 0.0) {
    throw Error::usage("value " + python_json_float(v) + " is invalid for a log-scaled parameter",
                       "log-scaled parameters need values > 0");
  }
  return v;
}

bool compatible(const Distribution& a, const Distribution& b) {
  if (a.kind != b.kind) return false;
  if (a.kind != Distribution::Kind::kCategorical) return a.log == b.log;
  if (a.choices.size() != b.choices.size()) return false;
  for (size_t i = 0; i < a.choices.size(); ++i) {
    if (!python_equal(a.choices[i], b.choices[i], /*nan_equal=*/true)) return false;
  }
  return true;
}

}  // namespace kiln::optuna
