// cnn: per stage in model.cnn.channels, [Conv3x3 -> BatchNorm -> ReLU] x 2 then MaxPool 2x2;
// then flatten -> (Dropout) -> Linear(model.cnn.fc) -> ReLU -> (Dropout) -> Linear to classes.
// 28x28 input, channels [32, 64]: 28 -> 14 -> 7, so the classifier sees 64*7*7 = 3136 features;
// a larger map is average-pooled to model.cnn.pool (7) x 7 first.
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/functional.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <algorithm>

#include "model/average_pool.h"
#include "model/batch_norm.h"
#include "model/cnn.h"
#include "model/dropout.h"
#include "model/registry.h"
#include "util/error.h"

namespace kiln::model {
namespace {

torch::nn::Conv2d conv3x3(int64_t in, int64_t out) {
  // No bias: the BatchNorm that follows has its own shift.
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false));
}

// In place: neither BatchNorm's nor Linear's backward reads its own output, and ReLU's reads
// only its result, so overwriting saves one activation-sized allocation and write per ReLU.
torch::nn::ReLU relu_in_place() { return torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)); }

class Cnn : public Net {
 public:
  Cnn(const config::ModelConfig& cfg, const InputSpec& in) {
    const CnnKnobs& k = cfg.knobs<CnnKnobs>();
    int64_t c = in.channels(), h = in.height(), w = in.width();
    for (int64_t out : k.channels) {
      for (int i = 0; i < 2; ++i) {
        features_->push_back(conv3x3(i == 0 ? c : out, out));
        features_->push_back(BatchNorm2d(out));
        features_->push_back(relu_in_place());
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
    if (cfg.dropout > 0) head_->push_back(Dropout(cfg.dropout));
    fc1_index_ = head_->size();
    fc1_ = torch::nn::Linear(c * h * w, k.fc);
    head_->push_back(fc1_);
    head_->push_back(relu_in_place());
    if (cfg.dropout > 0) head_->push_back(Dropout(cfg.dropout));
    head_->push_back(torch::nn::Linear(k.fc, in.outputs));
    register_module("features", features_);
    register_module("head", head_);
  }
  at::Tensor forward(at::Tensor x) override {
    const at::Tensor f = features_->forward(x);  // [B, C, H, W]
    if (f.is_contiguous() || !f.is_contiguous(at::MemoryFormat::ChannelsLast)) return head_->forward(f.flatten(1));
    // Channels-last: flatten in (H, W, C) order, a view of the NHWC memory, instead of
    // copying it to (C, H, W) order (and the gradient back again before the max-pool's
    // backward: 3 ms, about 1 % of the step on the 2-core EPYC). The first Linear reads its weight,
    // which stays in (C, H, W) order as in NCHW, permuted to match, so the model computes the
    // same function in both layouts: checkpoints and exports mean the same.
    const int64_t C = f.size(1), H = f.size(2), W = f.size(3);
    at::Tensor y = f.permute({0, 2, 3, 1}).flatten(1);
    size_t i = 0;
    for (auto& m : *head_) {
      if (i++ != fc1_index_) {
        y = m.forward(y);
        continue;
      }
      const at::Tensor& w = fc1_->weight;  // [fc, C * H * W], in (C, H, W) order
      y = at::linear(y, w.view({w.size(0), C, H, W}).permute({0, 2, 3, 1}).reshape({w.size(0), -1}), fc1_->bias);
    }
    return y;
  }

 private:
  torch::nn::Sequential features_, head_;
  torch::nn::Linear fc1_{nullptr};  // head_'s first Linear, at head_[fc1_index_]
  size_t fc1_index_ = 0;
};

}  // namespace

NetPtr make_cnn(const config::ModelConfig& cfg, const InputSpec& in) { return std::make_shared<Cnn>(cfg, in); }

}  // namespace kiln::model
