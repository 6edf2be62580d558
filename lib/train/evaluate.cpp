// Evaluation loop: the task keeps its sums on the device and syncs once at the end.
#include "train/evaluate.h"

#include <torch/autograd.h>

namespace kiln::train {

EvalResult evaluate(model::Net& net, data::Loader& loader, const task::Task& task, const std::string& split,
                    Precision precision, dist::Group* group) {
  torch::NoGradGuard no_grad;
  net.eval();
  auto eval = task.evaluation();
  int64_t n = 0;
  loader.start(0, 0);
  while (auto b = loader.next()) {
    const Autocast autocast(precision, b->input.device().type());
    eval->add(net.forward(b->input), b->target);
    n += b->target.size(0);
  }
  net.train();
  if (group) {
    std::vector<at::Tensor> ns = {at::full({1}, double(n), at::kDouble)};
    group->allreduce_sum(ns);
    n = int64_t(ns[0].item<double>());
    const bool reduced = eval->reduce([group](std::vector<at::Tensor>& t) { group->allreduce_sum(t); });
    TORCH_CHECK(reduced, "the task's evaluation cannot add up the ranks' parts (Task::sharded_evaluation lied)");
  }
  EvalResult r;
  r.samples = n;
  const auto metrics = task.metrics();
  const auto v = eval->result();
  for (size_t i = 0; i < metrics.size(); ++i) r.values.emplace_back(task::metric_key(split, metrics[i]), v.at(i));
  return r;
}

metrics::Values zero_values(const task::Task& task, const std::string& split) {
  metrics::Values out;
  for (const auto& m : task.metrics()) out.emplace_back(task::metric_key(split, m), 0.0);
  return out;
}

}  // namespace kiln::train
