// cnn: per stage in model.cnn.channels, [Conv3x3 -> BatchNorm -> ReLU] x 2 then MaxPool 2x2;
// then flatten -> (Dropout) -> Linear(model.cnn.fc) -> ReLU -> (Dropout) -> Linear to classes.
// 28x28 input, channels [32, 64]: 28 -> 14 -> 7, so the classifier sees 64*7*7 = 3136 features;
// a larger map is average-pooled to model.cnn.pool (7) x 7 first.
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/functional.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include <algorithm>

#include "model/average_pool.h"
#include "model/batch_norm.h"
#include "model/cnn.h"
#include "model/registry.h"
#include "util/error.h"

namespace kiln::model {
namespace {

torch::nn::Conv2d conv3x3(int64_t in, int64_t out) {
  // No bias: the BatchNorm that follows has its own shift.
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false));
}

class Cnn : public Net {
 public:
  Cnn(const config::ModelConfig& cfg, const InputSpec& in) {
    const CnnKnobs& k = cfg.knobs<CnnKnobs>();
    int64_t c = in.channels(), h = in.height(), w = in.width();
    for (int64_t out : k.channels) {
      for (int i = 0; i < 2; ++i) {
        features_->push_back(conv3x3(i == 0 ? c : out, out));
        features_->push_back(BatchNorm2d(out));
        features_->push_back(torch::nn::ReLU());
      }
      features_->push_back(torch::nn::MaxPool2d(2));
      c = out, h /= 2, w /= 2;
    }
    if (h < 1 || w < 1) {
      throw Error::usage("model.cnn.channels has " + std::to_string(k.channels.size()) + " stages, which pools a " +
                         std::to_string(in.height()) + "x" + std::to_string(in.width()) +
                         " input below 1x1; use fewer stages");
    }
    // Large images (an image folder at 224 px leaves 56x56 after two stages) would give the
    // classifier millions of inputs: pool them down. Small ones (28 px: 7x7) pass unchanged.
    if (k.pool > 0 && (h > k.pool || w > k.pool)) {
      h = std::min(h, k.pool), w = std::min(w, k.pool);
      features_->push_back(torch::nn::Functional([h, w](at::Tensor x) { return average_pool(x, h, w); }));
    }
    if (cfg.dropout > 0) head_->push_back(torch::nn::Dropout(cfg.dropout));
    head_->push_back(torch::nn::Linear(c * h * w, k.fc));
    head_->push_back(torch::nn::ReLU());
    if (cfg.dropout > 0) head_->push_back(torch::nn::Dropout(cfg.dropout));
    head_->push_back(torch::nn::Linear(k.fc, in.outputs));
    register_module("features", features_);
    register_module("head", head_);
  }
  at::Tensor forward(at::Tensor x) override { return head_->forward(features_->forward(x).flatten(1)); }

 private:
  torch::nn::Sequential features_, head_;
};

}  // namespace

NetPtr make_cnn(const config::ModelConfig& cfg, const InputSpec& in) { return std::make_shared<Cnn>(cfg, in); }

}  // namespace kiln::model
