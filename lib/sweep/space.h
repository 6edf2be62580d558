// Search-space construction with Optuna's semantics (optuna/distributions.py): the same
// validation errors, the same snapping of `high` onto the step grid (decimal arithmetic for
// float steps, so 0.1 steps snap as in Python), contains/single, and the [space] table of a
// sweep spec. An error names the param (and, from a spec, the file:line and key).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "sweep/study.h"

namespace kiln::sweep {

// FloatDistribution(low, high, log, step). Throws kiln::Error (usage) for log with a step,
// low > high, log with low <= 0, step <= 0, or a non-finite bound/step (Optuna accepts inf
// and NaN there; nothing can be sampled from them). With a step, `high` snaps down to
// low + k*step, computed on the shortest decimal strings of the inputs as Python's
// decimal.Decimal(str(x)) does. `name` only labels messages.
Distribution make_float(double low, double high, bool log, std::optional<double> step,
                        const std::string& name = {});

// IntDistribution(low, high, log, step): errors for log with step != 1, low > high, log with
// low < 1, step <= 0; `high` snaps to (high-low)//step*step + low.
Distribution make_int(int64_t low, int64_t high, bool log, int64_t step = 1, const std::string& name = {});

// CategoricalDistribution(choices): at least one choice, each null, bool, number or string
// (Optuna only warns for other types; kiln refuses them because they cannot round-trip
// through the study file).
Distribution make_categorical(std::vector<nlohmann::json> choices, const std::string& name = {});

// Optuna's _contains on an internal repr: in [low, high] and on the step grid (float steps
// within 1e-8 of a whole number of steps); categorical: a valid index.
bool contains(const Distribution& d, double internal);

// Optuna's single(): the distribution has exactly one value.
bool is_single(const Distribution& d);

// The `[space]` table of a sweep spec: one table per param with `type` = "float" | "int" |
// "categorical"; float/int take low, high, log (default false) and step; categorical takes
// choices. Names may be quoted (`[space."optim.lr"]`) or nested (`[space.optim.lr]`): nested
// tables are flattened until one has a `type` key, and the dotted path is the name. Params
// come back in the order the file lists them. `file` names the spec in messages (file:line).
Space parse_space(const toml::table& tbl, const std::string& file);

// Shortest decimal text that reads back as `v` ("0.1", "1e-05", "3"): for messages and
// summaries.
std::string format_number(double v);

}  // namespace kiln::sweep
