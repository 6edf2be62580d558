// transformer: token + position embedding -> N pre-norm blocks (causal self-attention through
// scaled_dot_product_attention, GELU MLP) -> final LayerNorm -> logits through the token
// embedding's weights (tied). Input int64 [B, T] token ids, output float [B, T, vocab].
// Initialisation as GPT-2's: weights N(0, 0.02), biases 0, and the two projections that write
// into the residual stream N(0, 0.02 / sqrt(2 * layers)), so its variance does not grow with depth.
#include "model/transformer.h"

#include <ATen/ops/arange.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/scaled_dot_product_attention.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cmath>

#include "model/dropout.h"
#include "model/registry.h"
#include "util/error.h"

namespace kiln::model {
namespace {

namespace nn = torch::nn;

void init_linear(nn::Linear& l, double std) {
  torch::NoGradGuard g;
  nn::init::normal_(l->weight, 0.0, std);
  nn::init::zeros_(l->bias);
}

class Block : public nn::Module {
 public:
  Block(int64_t dim, int64_t heads, double dropout, double proj_std)
      : heads_(heads),
        dropout_(dropout),
        ln1_(register_module("ln1", nn::LayerNorm(nn::LayerNormOptions({dim})))),
        qkv_(register_module("qkv", nn::Linear(dim, 3 * dim))),
        proj_(register_module("proj", nn::Linear(dim, dim))),
        ln2_(register_module("ln2", nn::LayerNorm(nn::LayerNormOptions({dim})))),
        fc_(register_module("fc", nn::Linear(dim, 4 * dim))),
        out_(register_module("out", nn::Linear(4 * dim, dim))),
        drop_(register_module("drop", Dropout(dropout))) {
    init_linear(qkv_, 0.02);
    init_linear(fc_, 0.02);
    init_linear(proj_, proj_std);
    init_linear(out_, proj_std);
  }

  at::Tensor forward(const at::Tensor& x) {  // [B, T, D]
    const int64_t T = x.size(1), D = x.size(2), hd = D / heads_;
    // q, k, v: [B, heads, T, D / heads]. The batch is -1, not x.size(0): a C++ size is a
    // constant to the tracer (exporter/trace.h), so a traced model keeps any batch size.
    auto qkv = qkv_->forward(ln1_->forward(x)).view({-1, T, 3, heads_, hd}).permute({2, 0, 3, 1, 4});
    auto y = at::scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], /*attn_mask=*/{}, is_training() ? dropout_ : 0.0,
                                              /*is_causal=*/true);
    auto h = x + drop_->forward(proj_->forward(y.transpose(1, 2).reshape({-1, T, D})));
    auto m = torch::nn::functional::gelu(fc_->forward(ln2_->forward(h)),
                                         torch::nn::functional::GELUFuncOptions().approximate("tanh"));
    return h + drop_->forward(out_->forward(m));
  }

 private:
  int64_t heads_;
  double dropout_;
  nn::LayerNorm ln1_;
  nn::Linear qkv_, proj_;
  nn::LayerNorm ln2_;
  nn::Linear fc_, out_;
  Dropout drop_;
};

class Transformer : public Net {
 public:
  Transformer(const TransformerKnobs& k, int64_t vocab, int64_t context)
      : tok_(register_module("tok", nn::Embedding(vocab, k.dim))),
        pos_(register_module("pos", nn::Embedding(context, k.dim))),
        drop_(register_module("drop", Dropout(k.dropout))),
        blocks_(register_module("blocks", nn::ModuleList())),
        ln_(register_module("ln", nn::LayerNorm(nn::LayerNormOptions({k.dim})))),
        context_(context) {
    const double proj_std = 0.02 / std::sqrt(2.0 * double(k.layers));
    for (int64_t i = 0; i < k.layers; ++i)
      blocks_->push_back(std::make_shared<Block>(k.dim, k.heads, k.dropout, proj_std));
    torch::NoGradGuard g;
    nn::init::normal_(tok_->weight, 0.0, 0.02);
    nn::init::normal_(pos_->weight, 0.0, 0.02);
  }

  at::Tensor forward(at::Tensor tokens) override {  // int64 [B, T], T <= context
    const int64_t T = tokens.size(1);
    TORCH_CHECK(T <= context_, "transformer: a window of ", T, " tokens is longer than its context of ", context_);
    auto h = drop_->forward(tok_->forward(tokens) + pos_->forward(at::arange(T, tokens.options())));
    for (const auto& b : *blocks_) h = b->as<Block>()->forward(h);
    return at::linear(ln_->forward(h), tok_->weight);  // [B, T, vocab], the head tied to the embedding
  }

 private:
  nn::Embedding tok_, pos_;
  Dropout drop_;
  nn::ModuleList blocks_;
  nn::LayerNorm ln_;
  int64_t context_;
};

}  // namespace

NetPtr make_transformer(const config::ModelConfig& cfg, const InputSpec& in) {
  const auto& k = cfg.knobs<TransformerKnobs>();
  if (in.shape.size() != 1) {
    throw Error::usage(
        "model.name = \"transformer\" needs token windows (int64 [T]) as inputs, but the dataset's are " +
            std::to_string(in.shape.size()) + "-dimensional",
        "use data.dataset = \"tokens\" with train.task = \"language-model\"");
  }
  if (k.dim % k.heads != 0) {
    throw Error::usage(
        "model.transformer.dim = " + std::to_string(k.dim) + " is not a multiple of heads = " + std::to_string(k.heads),
        "pick dim = heads x the head width (64 is common)");
  }
  const int64_t context = k.seq_len > 0 ? k.seq_len : in.shape[0];
  if (context < in.shape[0]) {
    throw Error::usage("model.transformer.seq_len = " + std::to_string(k.seq_len) +
                           " is shorter than the data's windows, data.seq_len = " + std::to_string(in.shape[0]),
                       "set model.transformer.seq_len to at least data.seq_len (0 = the same)");
  }
  return std::make_shared<Transformer>(k, in.outputs, context);
}

}  // namespace kiln::model
