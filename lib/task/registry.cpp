// The task registry, with classification built in.
#include "util/registry.h"
#include "config/config.h"
#include "task/classification.h"
#include "task/language_model.h"
#include "task/regression.h"
#include "task/task.h"

namespace kiln::task {
namespace {

util::Registry<TaskFactory>& registry() {
  static auto* r = new util::Registry<TaskFactory>("task", "train.task", [](auto& reg) {
    reg.add("classification", [](const config::RunConfig& c) { return make_classification(c); });
    reg.add("language-model", [](const config::RunConfig& c) { return make_language_model(c); });
    reg.add("regression", [](const config::RunConfig& c) { return make_regression(c); });
  });
  return *r;
}

}  // namespace

bool register_task(const std::string& name, TaskFactory factory) {
  registry().add(name, std::move(factory));
  return true;
}

std::vector<std::string> task_names() { return registry().names(); }

TaskPtr build(const config::RunConfig& cfg) { return registry().get(cfg.train.task)(cfg); }

std::string metric_key(const std::string& split, const Metric& m) { return split + "_" + m.name; }

}  // namespace kiln::task
