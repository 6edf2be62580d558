// Classification: one int64 class label per sample, logits [B, classes] from the model.
// Training loss: cross-entropy with train.label_smoothing. Evaluation: mean cross-entropy
// (no smoothing) and accuracy (share of samples whose arg-max logit is the label).
#pragma once
#include "task/task.h"

namespace kiln::task {

TaskPtr make_classification(const config::RunConfig& cfg);

}  // namespace kiln::task
