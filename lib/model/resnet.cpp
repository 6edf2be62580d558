// resnet (He et al. 2016). depth 0: a small CIFAR-style net for 28x28 inputs: stem Conv3x3(width)
// -> 3 stages of model.resnet.blocks BasicBlocks with width, 2*width, 4*width channels (stride
// 1, 2, 2: 28 -> 14 -> 7) -> global average pool -> (Dropout) -> Linear. depth 18/34/50:
// torchvision's four stages ([2,2,2,2] / [3,4,6,3] basic blocks, [3,4,6,3] bottlenecks of 4x
// expansion) of width..8*width channels, behind the ImageNet stem (7x7 stride 2 + max-pool)
// for inputs of 64 px and more, or the small stem below that (model.resnet.stem).
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "model/batch_norm.h"
#include "model/dropout.h"
#include "model/registry.h"
#include "model/resnet.h"
#include "util/error.h"

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
      shortcut_->push_back(BatchNorm2d(out));
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
  BatchNorm2d bn1_;
  torch::nn::Conv2d conv2_;
  BatchNorm2d bn2_;
  torch::nn::Sequential shortcut_;
};
TORCH_MODULE(BasicBlock);

// conv1x1-bn-relu-conv3x3(stride)-bn-relu-conv1x1(4x)-bn + shortcut, then relu: ResNet-50's
// block, with the stride on the 3x3 as torchvision's (v1.5) has it.
class BottleneckImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t in, int64_t width, int64_t stride)
      : conv1_(conv(in, width, 1, 1)),
        bn1_(width),
        conv2_(conv(width, width, 3, stride)),
        bn2_(width),
        conv3_(conv(width, width * kExpansion, 1, 1)),
        bn3_(width * kExpansion) {
    register_module("conv1", conv1_);
    register_module("bn1", bn1_);
    register_module("conv2", conv2_);
    register_module("bn2", bn2_);
    register_module("conv3", conv3_);
    register_module("bn3", bn3_);
    if (stride != 1 || in != width * kExpansion) {
      shortcut_->push_back(conv(in, width * kExpansion, 1, stride));
      shortcut_->push_back(BatchNorm2d(width * kExpansion));
    }
    register_module("shortcut", shortcut_);
  }
  at::Tensor forward(const at::Tensor& x) {
    auto y = torch::relu(bn1_->forward(conv1_->forward(x)));
    y = torch::relu(bn2_->forward(conv2_->forward(y)));
    y = bn3_->forward(conv3_->forward(y));
    return torch::relu(y + (shortcut_->size() ? shortcut_->forward(x) : x));
  }

 private:
  torch::nn::Conv2d conv1_;
  BatchNorm2d bn1_;
  torch::nn::Conv2d conv2_;
  BatchNorm2d bn2_;
  torch::nn::Conv2d conv3_;
  BatchNorm2d bn3_;
  torch::nn::Sequential shortcut_;
};
TORCH_MODULE(Bottleneck);

// The stages of a shape: blocks per stage and whether they are bottlenecks.
struct Shape {
  std::vector<int64_t> blocks;
  bool bottleneck = false;
};

Shape shape_of(const ResnetKnobs& k) {
  switch (k.depth) {
    case 0:
      return {{k.blocks, k.blocks, k.blocks}, false};
    case 18:
      return {{2, 2, 2, 2}, false};
    case 34:
      return {{3, 4, 6, 3}, false};
    case 50:
      return {{3, 4, 6, 3}, true};
    default:
      throw Error::usage("model.resnet.depth is " + std::to_string(k.depth) + "; it takes 0, 18, 34 or 50",
                         "0 is the small 3-stage net; 18/34/50 are torchvision's ResNet shapes");
  }
}

class ResNet : public Net {
 public:
  ResNet(const config::ModelConfig& cfg, const InputSpec& in) : ResNet(cfg, cfg.knobs<ResnetKnobs>(), in) {}
  ResNet(const config::ModelConfig& cfg, const ResnetKnobs& k, const InputSpec& in)
      : imagenet_stem_(k.stem == "imagenet" || (k.stem == "auto" && std::min(in.height(), in.width()) >= 64)),
        stem_(conv(in.channels(), k.width, imagenet_stem_ ? 7 : 3, imagenet_stem_ ? 2 : 1)),
        stem_bn_(k.width) {
    const Shape shape = shape_of(k);
    const int64_t expansion = shape.bottleneck ? BottleneckImpl::kExpansion : 1;
    if (double(k.width << (shape.blocks.size() - 1)) * double(expansion) > config::kMaxWidth) {
      throw Error::usage("model.resnet.width " + std::to_string(k.width) + " makes the last stage wider than " +
                         std::to_string(int64_t(config::kMaxWidth)) + " channels");
    }
    int64_t c = k.width;
    for (size_t stage = 0; stage < shape.blocks.size(); ++stage) {
      const int64_t width = k.width << stage;
      for (int64_t b = 0; b < shape.blocks[stage]; ++b) {
        const int64_t stride = (b == 0 && stage > 0) ? 2 : 1;
        if (shape.bottleneck) {
          blocks_->push_back(Bottleneck(c, width, stride));
        } else {
          blocks_->push_back(BasicBlock(c, width, stride));
        }
        c = width * expansion;
      }
    }
    dropout_ = Dropout(cfg.dropout);
    fc_ = torch::nn::Linear(c, in.outputs);
    register_module("stem", stem_);
    register_module("stem_bn", stem_bn_);
    register_module("blocks", blocks_);
    register_module("dropout", dropout_);
    register_module("fc", fc_);
  }
  at::Tensor forward(at::Tensor x) override {
    x = torch::relu(stem_bn_->forward(stem_->forward(x)));
    if (imagenet_stem_) x = torch::max_pool2d(x, 3, 2, 1);  // a quarter of the input's side in all
    for (auto& block : *blocks_) {
      if (auto* basic = block->as<BasicBlock>()) {
        x = basic->forward(x);
      } else {
        x = block->as<Bottleneck>()->forward(x);
      }
    }
    x = x.mean({2, 3});  // global average pool: [B, C, H, W] -> [B, C]
    return fc_->forward(dropout_->forward(x));
  }

 private:
  bool imagenet_stem_;
  torch::nn::Conv2d stem_;
  BatchNorm2d stem_bn_;
  torch::nn::ModuleList blocks_;
  Dropout dropout_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

}  // namespace

NetPtr make_resnet(const config::ModelConfig& cfg, const InputSpec& in) { return std::make_shared<ResNet>(cfg, in); }

}  // namespace kiln::model
