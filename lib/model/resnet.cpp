// resnet: a small pre-activation-free ResNet for 28x28 inputs (He et al. 2016, CIFAR-style):
// stem Conv3x3(width) -> 3 stages of model.resnet.blocks BasicBlocks with width, 2*width, 4*width
// channels (stride 1, 2, 2: 28 -> 14 -> 7) -> global average pool -> (Dropout) -> Linear.
#include <torch/nn/functional/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include "model/registry.h"
#include "model/resnet.h"

namespace kiln::model {
namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(false));
}

// conv-bn-relu-conv-bn + shortcut (1x1 conv-bn when the shape changes), then relu.
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride)
      : conv1_(conv(in, out, 3, stride)), bn1_(out), conv2_(conv(out, out, 3, 1)), bn2_(out) {
    register_module("conv1", conv1_);
    register_module("bn1", bn1_);
    register_module("conv2", conv2_);
    register_module("bn2", bn2_);
    if (stride != 1 || in != out) {
      shortcut_->push_back(conv(in, out, 1, stride));
      shortcut_->push_back(torch::nn::BatchNorm2d(out));
    }
    register_module("shortcut", shortcut_);
  }
  at::Tensor forward(const at::Tensor& x) {
    auto y = torch::relu(bn1_->forward(conv1_->forward(x)));
    y = bn2_->forward(conv2_->forward(y));
    return torch::relu(y + (shortcut_->size() ? shortcut_->forward(x) : x));
  }

 private:
  torch::nn::Conv2d conv1_;
  torch::nn::BatchNorm2d bn1_;
  torch::nn::Conv2d conv2_;
  torch::nn::BatchNorm2d bn2_;
  torch::nn::Sequential shortcut_;
};
TORCH_MODULE(BasicBlock);

class ResNet : public Net {
 public:
  ResNet(const config::ModelConfig& cfg, const InputSpec& in) : ResNet(cfg, cfg.knobs<ResnetKnobs>(), in) {}
  ResNet(const config::ModelConfig& cfg, const ResnetKnobs& k, const InputSpec& in)
      : stem_(conv(in.channels(), k.width, 3, 1)), stem_bn_(k.width) {
    int64_t c = k.width;
    for (int stage = 0; stage < 3; ++stage) {
      const int64_t out = k.width << stage;
      for (int64_t b = 0; b < k.blocks; ++b) {
        blocks_->push_back(BasicBlock(c, out, (b == 0 && stage > 0) ? 2 : 1));
        c = out;
      }
    }
    dropout_ = torch::nn::Dropout(cfg.dropout);
    fc_ = torch::nn::Linear(c, in.outputs);
    register_module("stem", stem_);
    register_module("stem_bn", stem_bn_);
    register_module("blocks", blocks_);
    register_module("dropout", dropout_);
    register_module("fc", fc_);
  }
  at::Tensor forward(at::Tensor x) override {
    x = torch::relu(stem_bn_->forward(stem_->forward(x)));
    for (auto& block : *blocks_) x = block->as<BasicBlock>()->forward(x);
    x = x.mean({2, 3});  // global average pool: [B, C, H, W] -> [B, C]
    return fc_->forward(dropout_->forward(x));
  }

 private:
  torch::nn::Conv2d stem_;
  torch::nn::BatchNorm2d stem_bn_;
  torch::nn::ModuleList blocks_;
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

}  // namespace

NetPtr make_resnet(const config::ModelConfig& cfg, const InputSpec& in) { return std::make_shared<ResNet>(cfg, in); }

}  // namespace kiln::model
