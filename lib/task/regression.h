// Regression: float32 targets ([] or [K] per sample), the model's output [B, K] (K = 1 for
// scalar targets). Training loss: train.regression_loss, "mse" (mean squared error) or
// "huber" (quadratic within train.huber_delta, linear outside). Evaluation: the training
// loss, then MSE, MAE and R^2 = 1 - SSE / SST per target column, averaged over columns
// (scikit-learn's r2_score with multioutput = "uniform_average"); sums in float64.
#pragma once
#include "task/task.h"

namespace kiln::task {

TaskPtr make_regression(const config::RunConfig& cfg);

}  // namespace kiln::task
