// mlp: flatten -> [Linear -> ReLU] per model.mlp.hidden width -> (Dropout) -> Linear to classes.
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "model/dropout.h"
#include "model/mlp.h"
#include "model/registry.h"

namespace kiln::model {
namespace {

class Mlp : public Net {
 public:
  Mlp(const config::ModelConfig& cfg, const InputSpec& in) {
    int64_t width = in.numel();
    for (int64_t h : cfg.knobs<MlpKnobs>().hidden) {
      body_->push_back(torch::nn::Linear(width, h));
      body_->push_back(torch::nn::ReLU());
      width = h;
    }
    if (cfg.dropout > 0) body_->push_back(Dropout(cfg.dropout));
    body_->push_back(torch::nn::Linear(width, in.outputs));
    register_module("body", body_);
  }
  at::Tensor forward(at::Tensor x) override { return body_->forward(x.flatten(1)); }

 private:
  torch::nn::Sequential body_;
};

}  // namespace

NetPtr make_mlp(const config::ModelConfig& cfg, const InputSpec& in) { return std::make_shared<Mlp>(cfg, in); }

}  // namespace kiln::model
