// Task: what the model is trained to do. A task owns what the loop must not assume: the
// training loss, the evaluation metrics (names and directions), the width of the model's
// output layer, and which datasets it can use. The loop, the summary, `--json` and the
// sweep ask the task. Built-in: classification; a program adds its own with register_task
// (see examples/regression_task.cpp).
#pragma once
#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace kiln::config {
struct RunConfig;
}

namespace kiln::task {

struct Metric {
  std::string name;       // bare name ("loss", "accuracy"); records prefix the split: test_loss
  bool higher_is_better;  // the direction a sweep optimising it takes by default
};

// One evaluation pass over a split. Sums stay on the device; result() syncs once.
class Evaluation {
 public:
  virtual ~Evaluation() = default;
  // output: the model's output for a batch [B, outputs]; target: the batch's targets.
  virtual void add(const at::Tensor& output, const at::Tensor& target) = 0;
  // One value per Task::metrics(), in that order; zeros when no sample was added.
  virtual std::vector<double> result() = 0;
  // A data-parallel job's sharded evaluation: hands every accumulated sum (tensors; counts as
  // double tensors) to `sum_over_ranks`, which adds them up across the ranks in place, and
  // keeps the totals, so result() is that of the whole split. Each rank has added at least
  // one batch. Returns false for an evaluation that cannot (then every rank evaluates the
  // whole split).
  virtual bool reduce(const std::function<void(std::vector<at::Tensor>&)>& sum_over_ranks) {
    (void)sum_over_ranks;
    return false;
  }
};

class Task {
 public:
  virtual ~Task() = default;
  // Refuses a dataset whose targets the task cannot use: Error::usage naming the dataset.
  virtual void check(const data::SampleSpec& spec, const std::string& dataset) const = 0;
  // Width of the model's last layer for this dataset (classes; target values).
  virtual int64_t outputs(const data::SampleSpec& spec) const = 0;
  // Mean training loss of a batch: a differentiable scalar on the output's device.
  virtual at::Tensor loss(const at::Tensor& output, const at::Tensor& target) const = 0;
  // Evaluation metrics, the loss first (a sweep's pruning and the console print them in order).
  virtual std::vector<Metric> metrics() const = 0;
  virtual std::unique_ptr<Evaluation> evaluation() const = 0;
  // Its evaluations implement Evaluation::reduce: a data-parallel job shards the split.
  virtual bool sharded_evaluation() const { return false; }
  // Tokens one sample holds, where throughput is counted in tokens (a language model's window
  // length); 0: throughput is samples/s.
  virtual int64_t tokens_per_sample(const data::SampleSpec&) const { return 0; }
};

using TaskPtr = std::shared_ptr<const Task>;
using TaskFactory = std::function<TaskPtr(const config::RunConfig&)>;

// Registers a task under `name` (picked by train.task). Returns true so it can initialise a
// static in the registering file.
bool register_task(const std::string& name, TaskFactory factory);
std::vector<std::string> task_names();

// Builds train.task; Error::usage for an unknown name (with a suggestion).
TaskPtr build(const config::RunConfig& cfg);

// The names evaluation records, the summary and sweeps use: "<split>_<metric>".
std::string metric_key(const std::string& split, const Metric& m);

}  // namespace kiln::task
