// The validating constructors behind make_float/make_int/make_categorical (distribution.h),
// with the subject of their error messages given by the caller: "param 'optim.lr'" from the
// API, or "space param 'optim.lr' at spec.toml:3" from a sweep spec's [space] table
// (sweep/space_toml.cpp), which is why they are public.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "optuna/distribution.h"

namespace kiln::optuna {

// Each throws kiln::Error (usage) with a message that starts with `subject`; the rules and
// the snapping of `high` are those documented in distribution.h.
Distribution build_float(const std::string& subject, double low, double high, bool log, std::optional<double> step);
Distribution build_int(const std::string& subject, int64_t low, int64_t high, bool log, int64_t step);
Distribution build_categorical(const std::string& subject, std::vector<nlohmann::json> choices);

}  // namespace kiln::optuna
