// The checks that stop a sweep before it starts (exit 2, nothing written) instead of failing
// every trial: each space param must be a kiln config key that takes the param's values, and
// an inline [base] table must be a valid config.
#pragma once
#include <filesystem>
#include <optional>

#include "config/config.h"
#include "sweep/spec.h"

namespace kiln::sweep {

// Loads the base config (`base`, or kiln's defaults when nullopt) with each param at its low
// end, and once with each further categorical choice, so a param that is not a config key,
// or a value kiln refuses, is a kiln::Error (usage) naming it. Then validates
// spec.base_inline, if any, on its own, with errors pointing into the spec file. Returns the
// base config the trials start from, before their params (for resolve_objective).
config::RunConfig check_against_config(const SweepSpec& spec, const std::optional<std::filesystem::path>& base);

}  // namespace kiln::sweep
