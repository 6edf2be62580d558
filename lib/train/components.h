// Components: what one training run is built from, as a plain struct. build_components does
// everything that can fail on bad input (device, data, task, model, optimizer, loaders), so
// it runs before the run dir exists and "bad input writes nothing" holds.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include <torch/optim/optimizer.h>

#include "config/config.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "dist/grad_sync.h"
#include "dist/group.h"
#include "dist/world.h"
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
  // A data-parallel job (world.size > 1): this rank's process group and gradient averaging
  // (declared last: destroyed first, while the parameters they hook into still live).
  dist::World world;
  bool eval_sharded = false;  // test_loader reads this rank's part; evaluate() adds the parts up
  std::unique_ptr<dist::Group> group;
  std::unique_ptr<dist::GradSync> grad_sync;
};

// Builds the components of `cfg` in the order that fixes every random draw: deterministic
// settings, data, task, model (seeded "model_init"), optimizer, loaders; then seeds the
// "train" stream (dropout and any other draw during training).
// In a data-parallel job (`world`, from the launcher) every rank builds the same model and
// joins the process group (waiting up to `timeout` for the others), rank 0's parameters
// are broadcast, the training loader takes this rank's shard of each global batch, and
// ranks above 0 draw from their own "train/rank<r>" stream (each rank's dropout differs,
// as each rank's data does). Evaluation is not sharded: every rank evaluates the whole split.
// The gradient averaging starts with start_grad_sync.
Components build_components(const config::RunConfig& cfg, const dist::World& world = {},
                            std::chrono::milliseconds timeout = std::chrono::minutes(5));

// A data-parallel job: broadcasts rank 0's parameters and buffers and hooks c10d's Reducer
// into the parameters (c.grad_sync). Called once the weights are final for the start, after a
// resume has loaded its checkpoint: loading re-seats the parameters' data, and hooks set
// before it did not see the next backward's gradients (found: the step after a resume went
// unaveraged). No-op for one process.
void start_grad_sync(Components& c, int64_t batch_size);

}  // namespace kiln::train
