// The `[space]` table of a sweep spec, read into Optuna distributions (optuna/distribution.h).
// The table's layout is kiln's, so it is read here in sweep/; the distributions it builds,
// and their validation, are Optuna's.
#pragma once
#include <string>

#include <toml++/toml.h>

#include "optuna/distribution.h"

namespace kiln::sweep {

// One table per param with `type` = "float" | "int" | "categorical"; float/int take low,
// high, log (default false) and step; categorical takes choices. Names may be quoted
// (`[space."optim.lr"]`) or nested (`[space.optim.lr]`): nested tables are flattened until
// one has a `type` key, and the dotted path is the name. Params come back in the order the
// file lists them. `file` names the spec in messages (file:line); every error is a
// kiln::Error (usage) naming the param, the key and where it is.
optuna::Space parse_space(const toml::table& tbl, const std::string& file);

}  // namespace kiln::sweep
