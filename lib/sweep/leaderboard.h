// The table `kiln sweep` prints at the end: the study's finished trials, COMPLETE ones best
// first, then PRUNED, then FAIL, each with its value, wall time and params.
#pragma once
#include <cstddef>
#include <string>

#include "optuna/study.h"
#include "sweep/spec.h"

namespace kiln::sweep {

// The table as text (it starts with a blank line), at most `max_rows` rows and then a
// "... N more" line. Ties in value keep trial-number order.
std::string leaderboard(const optuna::Study& study, const SweepSpec& spec, size_t max_rows);

}  // namespace kiln::sweep
