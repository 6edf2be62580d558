// Example: use kiln as a library with a model of your own. Registers "tiny_convnet" in the
// model registry, with its own config table [model.tiny_convnet] (one knob, `channels`),
// then trains it on Fashion-MNIST with kiln's own loop (train::run), the same one `kiln
// train` runs. Build: part of the default build (build/example_custom_model).
//   usage: example_custom_model [RUN_DIR [KEY=VALUE ...]]   (KEY=VALUE as kiln's --set,
//          e.g. model.tiny_convnet.channels=4)
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <iostream>
#include <string>
#include <vector>

#include "config/load.h"
#include "config/model_table.h"
#include "model/registry.h"
#include "train/trainer.h"
#include "util/error.h"

namespace {

// The model's knobs: registered with it, they load, validate and print like a built-in
// model's ([model.tiny_convnet] channels = 8, or --set model.tiny_convnet.channels=8).
struct TinyKnobs {
  int64_t channels = 8;

  std::vector<kiln::config::Field> fields() {
    return {kiln::config::num("channels", &channels, "conv channels", 1, 256)};
  }
};

// conv 5x5 (C ch) -> relu -> max-pool 2 -> linear: 28x28 -> 24x24 -> 12x12, C*12*12 features.
class TinyConvNet : public kiln::model::Net {
 public:
  TinyConvNet(const kiln::model::InputSpec& in, int64_t channels)
      : conv_(torch::nn::Conv2dOptions(in.channels(), channels, 5)),
        fc_(channels * ((in.height() - 4) / 2) * ((in.width() - 4) / 2), in.outputs) {
    register_module("conv", conv_);
    register_module("fc", fc_);
  }
  at::Tensor forward(at::Tensor x) override {
    x = at::max_pool2d(at::relu(conv_->forward(x)), {2, 2});
    return fc_->forward(x.flatten(1));
  }

 private:
  torch::nn::Conv2d conv_;
  torch::nn::Linear fc_;
};

}  // namespace

int main(int argc, char** argv) {
  kiln::model::register_model(
      "tiny_convnet",
      [](const kiln::config::ModelConfig& cfg, const kiln::model::InputSpec& in) {
        return std::make_shared<TinyConvNet>(in, cfg.knobs<TinyKnobs>().channels);
      },
      kiln::config::model_table<TinyKnobs>());
  // The defaults, then what this example changes, then the command line's KEY=VALUEs.
  std::vector<std::string> sets = {"model.name=tiny_convnet", "train.name=custom_model", "train.epochs=1",
                                   "data.limit_train=6000", "log.progress=off"};
  for (int i = 2; i < argc; ++i) sets.push_back(argv[i]);
  kiln::train::TrainOptions opts;
  if (argc > 1) opts.run_dir = argv[1];
  try {
    const kiln::config::RunConfig cfg = kiln::config::load(std::nullopt, sets);
    const auto summary = kiln::train::run(cfg, opts);
    std::cout << summary.dump() << std::endl;
  } catch (const kiln::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return static_cast<int>(e.code());
  }
  return 0;
}
