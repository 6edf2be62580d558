// Example: use kiln as a library with a model of your own. Registers "tiny_convnet" in the
// model registry, then trains it on Fashion-MNIST with kiln's own loop (train::run), the
// same one `kiln train` runs. Build: part of the default build (build/example_custom_model).
//   usage: example_custom_model [RUN_DIR]
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <iostream>

#include "config/config.h"
#include "model/registry.h"
#include "train/trainer.h"
#include "util/error.h"

namespace {

// conv 5x5 (8 ch) -> relu -> max-pool 2 -> linear: 28x28 -> 24x24 -> 12x12, 8*12*12 = 1152 features.
class TinyConvNet : public kiln::model::Net {
 public:
  explicit TinyConvNet(const kiln::model::InputSpec& in)
      : conv_(torch::nn::Conv2dOptions(in.channels(), 8, 5)),
        fc_(8 * ((in.height() - 4) / 2) * ((in.width() - 4) / 2), in.outputs) {
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
  kiln::model::register_model("tiny_convnet", [](const kiln::config::ModelConfig&, const kiln::model::InputSpec& in) {
    return std::make_shared<TinyConvNet>(in);
  });
  kiln::config::RunConfig cfg;  // the defaults, then what this example changes
  cfg.model.name = "tiny_convnet";
  cfg.train.name = "custom_model";
  cfg.train.epochs = 1;
  cfg.data.limit_train = 6000;
  cfg.log.progress = "off";
  kiln::train::TrainOptions opts;
  if (argc > 1) opts.run_dir = argv[1];
  try {
    const auto summary = kiln::train::run(cfg, opts);
    std::cout << summary.dump() << std::endl;
  } catch (const kiln::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return static_cast<int>(e.code());
  }
  return 0;
}
