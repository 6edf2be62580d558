// Distributions and param values in Optuna's JSON shapes (optuna/distributions.py):
// distribution_to_json's {"name": ..., "attributes": {...}} (byte-equal to Python's
// json.dumps output), json_to_distribution's readers (full, abbreviated and deprecated
// forms), and conversions between internal and external param values.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "optuna/study.h"

namespace kiln::optuna {

// {"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 0.1, "log": true}}
// with Python's key order, separators and float formatting (repr of a float).
std::string distribution_to_json(const Distribution& d);

// Reads any form json_to_distribution accepts: {"name", "attributes"} (incl. the deprecated
// Uniform/LogUniform/DiscreteUniform/IntUniform/IntLogUniform names) and the abbreviated
// {"type": "float"|"int"|"categorical", ...}. Throws kiln::Error (usage) naming what is wrong.
Distribution distribution_from_json(const nlohmann::json& j);
Distribution distribution_from_json(const std::string& text);

// Internal repr (float value / int value as double / categorical index) <-> the user-facing
// value as JSON (a number, an integer, or the choice itself).
nlohmann::json to_external(const Distribution& d, double internal);
double to_internal(const Distribution& d, const nlohmann::json& external);

// Optuna's check_distribution_compatibility: same kind, same log, equal categorical choices.
bool compatible(const Distribution& a, const Distribution& b);

}  // namespace kiln::optuna
