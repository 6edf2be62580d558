// Model registry: `model.name` picks a factory. Built-ins: mlp, cnn, resnet (one file pair
// each, one line in registry.cpp); programs using kiln as a library add their own with
// register_model (see examples/custom_model.cpp).
#pragma once
#include <torch/nn/module.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/model_table.h"

namespace kiln::model {

// A kiln model maps a batch's input [B, ...] (images: float32 [B, C, H, W], normalised) to
// its output [B, outputs] (logits for classification), the task's loss and metrics input.
class Net : public torch::nn::Module {
 public:
  virtual at::Tensor forward(at::Tensor input) = 0;
};
using NetPtr = std::shared_ptr<Net>;

// What a model is built for: the per-sample input shape (the dataset's) and the width of
// its last layer (the task's: classes, or target values).
struct InputSpec {
  std::vector<int64_t> shape = {1, 28, 28};
  int64_t outputs = 10;
  int64_t numel() const;
  // Image models: the [C, H, W] of the input; Error::usage when the input is not an image.
  int64_t channels() const;
  int64_t height() const;
  int64_t width() const;
};

// The factory reads the shared keys from the ModelConfig and its own knobs with
// cfg.knobs<Knobs>() (Knobs: the struct of its table).
using ModelFactory = std::function<NetPtr(const config::ModelConfig&, const InputSpec&)>;

// Adds (or replaces) model `name`: its factory and, for a model with knobs, its config table
// [model.<name>] (config::model_table<Knobs>(), see config/model_table.h). Register before
// loading a config that sets the knobs: config::load only knows registered tables.
bool register_model(const std::string& name, ModelFactory factory,
                    std::optional<config::ModelTable> table = std::nullopt);
std::vector<std::string> model_names();

// Builds model.name; throws Error::usage for an unknown name (with a suggestion).
NetPtr build(const config::ModelConfig& cfg, const InputSpec& input);

// Number of trainable scalars.
int64_t count_parameters(torch::nn::Module& m);

}  // namespace kiln::model
