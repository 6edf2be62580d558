// check_against_config (see config_check.h): the trials' own --set arguments, tried on the
// base config up front.
#include "sweep/config_check.h"

#include <string>
#include <vector>

#include "config/load.h"
#include "sweep/driver.h"

namespace kiln::sweep {

config::RunConfig check_against_config(const SweepSpec& spec, const std::optional<std::filesystem::path>& base) {
  std::vector<std::string> sets;
  for (const auto& [name, d] : spec.space) {
    const double first = d.kind == optuna::Distribution::Kind::kCategorical ? 0.0 : d.low;
    sets.push_back(set_argument(name, d, first));
  }
  config::load(base, sets);
  for (size_t i = 0; i < spec.space.size(); ++i) {
    const auto& [name, d] = spec.space[i];
    for (size_t c = 1; c < d.choices.size(); ++c) {
      auto s = sets;
      s[i] = set_argument(name, d, double(c));
      config::load(base, s);
    }
  }
  if (!spec.base_inline.empty()) {
    config::RunConfig probe;
    config::Origins origins;
    config::apply_toml(probe, spec.base_inline, spec.spec_path.string(), origins);
    config::validate(probe, origins);
    return probe;
  }
  return config::load(base, {});
}

}  // namespace kiln::sweep
