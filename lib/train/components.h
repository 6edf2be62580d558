// Components: what one training run is built from, as a plain struct. build_components does
// everything that can fail on bad input (device, data, task, model, optimizer, loaders), so
// it runs before the run dir exists and "bad input writes nothing" holds.
#pragma once
#include <memory>
#include <string>

#include <torch/optim/optimizer.h>

#include "config/config.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "model/registry.h"
#include "task/task.h"
#include "train/grad_scaler.h"

namespace kiln::train {

struct Components {
  std::string device;  // resolved train.device ("cpu", "cuda:0")
  data::Splits splits;
  task::TaskPtr task;
  model::NetPtr net;  // on `device`, initialised from the run seed
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::unique_ptr<GradScaler> scaler;  // train.precision = "fp16": the dynamic loss scale; null otherwise
  std::unique_ptr<data::Loader> train_loader, test_loader;
  int64_t steps_per_epoch = 0, total_steps = 0;  // total: epochs x steps, capped by train.max_steps
};

// Builds the components of `cfg` in the order that fixes every random draw: deterministic
// settings, data, task, model (seeded "model_init"), optimizer, loaders; then seeds the
// "train" stream (dropout and any other draw during training).
Components build_components(const config::RunConfig& cfg);

}  // namespace kiln::train
