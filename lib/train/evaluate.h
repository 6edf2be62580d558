// Evaluation on a held-out split: mean cross-entropy and accuracy.
#pragma once
#include "data/loader.h"
#include "model/registry.h"

namespace kiln::train {

struct EvalResult {
  double loss = 0.0;      // mean cross-entropy (no label smoothing)
  double accuracy = 0.0;  // share of samples whose arg-max logit is the label
  int64_t samples = 0;
};

// Runs the model in eval mode without gradients over every batch of `loader`'s epoch 0,
// then puts the model back in training mode.
EvalResult evaluate(model::Net& net, data::Loader& loader);

}  // namespace kiln::train
