// Model registry and the list of built-in models.
#include "model/registry.h"

#include <map>
#include <mutex>

#include "model/cnn.h"
#include "model/mlp.h"
#include "model/resnet.h"
#include "util/error.h"
#include "util/text.h"

namespace kiln::model {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, ModelFactory> factories;
};

Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

}  // namespace

bool register_model(const std::string& name, ModelFactory factory, std::optional<config::ModelTable> table) {
  if (table) config::register_model_table(name, std::move(*table));
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.factories[name] = std::move(factory);
  return true;
}

namespace {

// The built-in models, one line each. Registered before main, not on first use like the
// datasets: config::load needs their tables before anything builds a model, and config/
// sits below model/, so it cannot ask for them. Both registries are built on first use, so
// the order of static initialisers cannot lose an entry.
[[maybe_unused]] const bool kBuiltins = register_model("mlp", make_mlp, config::model_table<MlpKnobs>()) &&
                                        register_model("cnn", make_cnn, config::model_table<CnnKnobs>()) &&
                                        register_model("resnet", make_resnet, config::model_table<ResnetKnobs>());

}  // namespace

std::vector<std::string> model_names() {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> out;
  for (const auto& [n, f] : r.factories) out.push_back(n);
  return out;
}

NetPtr build(const config::ModelConfig& cfg, const InputSpec& input) {
  ModelFactory f;
  {
    auto& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.factories.find(cfg.name);
    if (it != r.factories.end()) f = it->second;
  }
  if (!f) {
    const auto names = model_names();
    std::string msg = "unknown model '" + cfg.name + "' (model.name)";
    const std::string hint = util::did_you_mean(cfg.name, names);
    if (!hint.empty()) msg += "; " + hint;
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw Error::usage(msg, "registered models: " + list);
  }
  return f(cfg, input);
}

int64_t InputSpec::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

namespace {
int64_t image_dim(const InputSpec& in, size_t i) {
  if (in.shape.size() != 3) {
    std::string dims;
    for (const int64_t d : in.shape) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
    throw Error::usage("the model (model.name) needs image inputs [C, H, W], but the dataset's inputs are [" + dims +
                           "]",
                       "use model.name = \"mlp\" (any input shape) or a dataset of images");
  }
  return in.shape[i];
}
}  // namespace

int64_t InputSpec::channels() const { return image_dim(*this, 0); }
int64_t InputSpec::height() const { return image_dim(*this, 1); }
int64_t InputSpec::width() const { return image_dim(*this, 2); }

int64_t count_parameters(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) {
    if (p.requires_grad()) n += p.numel();
  }
  return n;
}

}  // namespace kiln::model
