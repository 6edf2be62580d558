// The sweep's objective, resolved against the task that the trials train (train.task of the
// base config): which metrics a sweep may optimise is the task's to say, so the spec parser
// keeps what the file gave and this checks it once the base config is known.
#pragma once
#include "config/config.h"
#include "sweep/spec.h"

namespace kiln::sweep {

// Fills spec.metric when the spec left it out (the task's first metric where higher is
// better, e.g. test_accuracy; else its loss) and spec.direction when the spec gave none (the
// metric's own). A metric the task does not report is Error::usage naming spec.metric_at and
// the task's metrics.
void resolve_objective(SweepSpec& spec, const config::RunConfig& base);

}  // namespace kiln::sweep
