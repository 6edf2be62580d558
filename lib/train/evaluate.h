// Evaluation on a held-out split: the task's metrics (classification: mean cross-entropy and
// accuracy).
#pragma once
#include "data/loader.h"
#include "dist/group.h"
#include "metrics/sink.h"
#include "model/registry.h"
#include "task/task.h"
#include "train/precision.h"

namespace kiln::train {

struct EvalResult {
  metrics::Values values;  // "<split>_<metric>" in the task's order (test_loss, test_accuracy)
  int64_t samples = 0;
};

// Runs the model in eval mode without gradients over every batch of `loader`'s epoch 0,
// then puts the model back in training mode. `split` prefixes the metric names. `precision`:
// the training's, so the metrics are those of the model as it trains (autocast as there).
// `group`: a data-parallel job whose ranks each load a part of the split: the task's sums
// are added up across them (Evaluation::reduce), so every rank gets the whole split's metrics.
EvalResult evaluate(model::Net& net, data::Loader& loader, const task::Task& task, const std::string& split = "test",
                    Precision precision = Precision::kFp32, dist::Group* group = nullptr);

// The task's metric names with zero values: what the summary reports when no evaluation ran.
metrics::Values zero_values(const task::Task& task, const std::string& split = "test");

}  // namespace kiln::train
