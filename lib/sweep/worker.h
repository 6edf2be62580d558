// Which kiln sweep process a trial belongs to: the "kiln_worker" user attr ("host:pid") that
// both backends set on the trials they ask for, and the check that finds trials left
// RUNNING by a sweep that was killed (SIGKILL leaves no chance to fail them).
#pragma once
#include <string>

#include "optuna/study.h"

namespace kiln::sweep {

// "host:pid" of this process.
std::string this_worker();

// True when `t` is RUNNING for a kiln sweep on this host whose process is gone.
bool orphaned(const optuna::Trial& t);

}  // namespace kiln::sweep
