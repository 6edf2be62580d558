// Model registry: `model.name` picks a factory. Built-ins: mlp, cnn, resnet; programs using
// kiln as a library add their own with register_model (see examples/custom_model.cpp).
#pragma once
#include <torch/nn/module.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kiln::config {
struct ModelConfig;
}

namespace kiln::model {

// Every kiln model maps images [B, C, H, W] (float, normalised) to logits [B, num_classes].
class Net : public torch::nn::Module {
 public:
  virtual at::Tensor forward(at::Tensor images) = 0;
};
using NetPtr = std::shared_ptr<Net>;

struct InputSpec {
  int64_t channels = 1, height = 28, width = 28, num_classes = 10;
};

using ModelFactory = std::function<NetPtr(const config::ModelConfig&, const InputSpec&)>;

bool register_model(const std::string& name, ModelFactory factory);
std::vector<std::string> model_names();

// Builds model.name; throws Error::usage for an unknown name (with a suggestion).
NetPtr build(const config::ModelConfig& cfg, const InputSpec& input);

// Built-in factories (registered by the registry itself).
NetPtr make_mlp(const config::ModelConfig& cfg, const InputSpec& input);
NetPtr make_cnn(const config::ModelConfig& cfg, const InputSpec& input);
NetPtr make_resnet(const config::ModelConfig& cfg, const InputSpec& input);

// Number of trainable scalars.
int64_t count_parameters(torch::nn::Module& m);

}  // namespace kiln::model
