// Language modelling: next-token prediction. Targets are int64 [T] token ids (the input
// window shifted by one), the model's output logits [B, T, vocab]. Training loss: the mean
// cross-entropy over every target token. Evaluation: that mean (nats per token) and its
// perplexity, exp(loss). Throughput is counted in tokens (tokens_per_sample = T).
#pragma once
#include "task/task.h"

namespace kiln::task {

TaskPtr make_language_model(const config::RunConfig& cfg);

}  // namespace kiln::task
