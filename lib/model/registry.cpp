// Model registry and the list of built-in models.
#include "model/registry.h"

#include "model/cnn.h"
#include "model/mlp.h"
#include "model/resnet.h"
#include "model/transformer.h"
#include "util/error.h"
#include "util/registry.h"

namespace kiln::model {
namespace {

util::Registry<ModelFactory>& registry() {
  static auto* r = new util::Registry<ModelFactory>("model", "model.name", [](auto&) {});
  return *r;
}

}  // namespace

bool register_model(const std::string& name, ModelFactory factory, std::optional<config::ModelTable> table) {
  if (table) config::register_model_table(name, std::move(*table));
  registry().add(name, std::move(factory));
  return true;
}

namespace {

// The built-in models, one line each. Registered before main, not on first use like the
// datasets: config::load needs their tables before anything builds a model, and config/
// sits below model/, so it cannot ask for them. Both registries are built on first use, so
// the order of static initialisers cannot lose an entry.
[[maybe_unused]] const bool kBuiltins =
    register_model("mlp", make_mlp, config::model_table<MlpKnobs>()) &&
    register_model("cnn", make_cnn, config::model_table<CnnKnobs>()) &&
    register_model("resnet", make_resnet, config::model_table<ResnetKnobs>()) &&
    register_model("transformer", make_transformer, config::model_table<TransformerKnobs>());

}  // namespace

std::vector<std::string> model_names() { return registry().names(); }

NetPtr build(const config::ModelConfig& cfg, const InputSpec& input) { return registry().get(cfg.name)(cfg, input); }

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
    throw Error::usage(
        "the model (model.name) needs image inputs [C, H, W], but the dataset's inputs are [" + dims + "]",
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
