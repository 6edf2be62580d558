// Optuna's distributions (optuna/distributions.py) and their construction: the same
// validation errors, the same snapping of `high` onto the step grid (decimal arithmetic for
// float steps, so 0.1 steps snap as in Python), contains/single. An error names the param.
// Reading them from a sweep spec's [space] table is kiln's (sweep/space_toml.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::optuna {

// One parameter's domain with Optuna's semantics (FloatDistribution, IntDistribution,
// CategoricalDistribution). Values travel as Optuna's "internal repr": a float is itself,
// an int is its value as a double, a categorical is the index of the choice.
struct Distribution {
  enum class Kind { kFloat, kInt, kCategorical };
  Kind kind = Kind::kFloat;
  double low = 0.0;
  double high = 0.0;
  bool log = false;
  std::optional<double> step;           // float: optional; int: always set (default 1)
  std::vector<nlohmann::json> choices;  // categorical only: null, bool, int, float or string
};

// A search space: params in the order they are suggested (a sweep spec's order).
using Space = std::vector<std::pair<std::string, Distribution>>;

// FloatDistribution(low, high, log, step). Throws kiln::Error (usage) for log with a step,
// low > high, log with low <= 0, step <= 0, or a non-finite bound/step (Optuna accepts inf
// and NaN there; nothing can be sampled from them). With a step, `high` snaps down to
// low + k*step, computed on the shortest decimal strings of the inputs as Python's
// decimal.Decimal(str(x)) does. `name` only labels messages.
Distribution make_float(double low, double high, bool log, std::optional<double> step, const std::string& name = {});

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

// Shortest decimal text that reads back as `v` ("0.1", "1e-05", "3"): for messages and
// summaries.
std::string format_number(double v);

}  // namespace kiln::optuna
