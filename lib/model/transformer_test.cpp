// The transformer: causal (the output at position t does not depend on tokens after t),
// shapes, GPT-2's initialisation, the tied head, and clear errors for bad knobs.
#include <ATen/ops/randint.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <cmath>

#include "model/registry.h"
#include "model/transformer.h"
#include "util/error.h"

namespace kiln::model {
namespace {

config::ModelConfig transformer(int64_t layers = 2, int64_t heads = 2, int64_t dim = 32) {
  config::ModelConfig c;
  c.name = "transformer";
  auto& k = c.knobs<TransformerKnobs>();
  k.layers = layers;
  k.heads = heads;
  k.dim = dim;
  return c;
}

TEST(Transformer, OutputAtEachPositionIgnoresLaterTokens) {
  torch::manual_seed(1);
  auto net = build(transformer(), {{12}, 50});
  net->eval();
  torch::NoGradGuard g;
  const at::Tensor x = at::randint(0, 50, {3, 12}, at::kLong);
  const at::Tensor y = net->forward(x);
  ASSERT_EQ(y.sizes(), (at::IntArrayRef{3, 12, 50}));
  for (int64_t t = 0; t < 11; ++t) {
    at::Tensor changed = x.clone();
    changed.slice(1, t + 1) = (changed.slice(1, t + 1) + 7) % 50;  // every token after t
    const at::Tensor y2 = net->forward(changed);
    EXPECT_TRUE(y2.slice(1, 0, t + 1).equal(y.slice(1, 0, t + 1))) << "position " << t << " saw the future";
    EXPECT_FALSE(y2.slice(1, t + 1).allclose(y.slice(1, t + 1))) << "later positions do see their own tokens";
  }
  // A shorter window than the context works too (kiln generate's first steps).
  EXPECT_TRUE(net->forward(x.slice(1, 0, 5)).allclose(y.slice(1, 0, 5), 1e-5, 1e-6));
}

TEST(Transformer, InitialisesAsGpt2AndTiesTheHeadToTheEmbedding) {
  torch::manual_seed(2);
  const int64_t layers = 8;
  auto net = build(transformer(layers, 4, 256), {{16}, 300});
  const auto params = net->named_parameters();
  EXPECT_NEAR(params["tok.weight"].std().item<double>(), 0.02, 0.001);
  EXPECT_NEAR(params["blocks.0.qkv.weight"].std().item<double>(), 0.02, 0.001);
  const double proj = 0.02 / std::sqrt(2.0 * layers);
  EXPECT_NEAR(params["blocks.3.proj.weight"].std().item<double>(), proj, proj * 0.05);
  EXPECT_NEAR(params["blocks.7.out.weight"].std().item<double>(), proj, proj * 0.05);
  EXPECT_EQ(params["blocks.0.fc.bias"].abs().max().item<double>(), 0.0);
  EXPECT_FALSE(params.contains("head.weight")) << "no separate head: logits use tok.weight";
  // Parameters: embeddings + per block (2 LayerNorms, qkv, proj, fc, out) + final LayerNorm.
  const int64_t d = 256, per_block = 4 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d);
  EXPECT_EQ(count_parameters(*net), 300 * d + 16 * d + layers * per_block + 2 * d);
}

TEST(Transformer, RefusesBadShapesAndKnobs) {
  auto code = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.code();
    }
    return ExitCode::kOk;
  };
  EXPECT_EQ(code([] { build(transformer(2, 3, 32), {{8}, 10}); }), ExitCode::kUsage) << "32 is not a multiple of 3";
  EXPECT_EQ(code([] { build(transformer(), {{1, 28, 28}, 10}); }), ExitCode::kUsage) << "images are not tokens";
  config::ModelConfig shorter = transformer();
  shorter.knobs<TransformerKnobs>().seq_len = 4;
  EXPECT_EQ(code([&] { build(shorter, {{8}, 10}); }), ExitCode::kUsage) << "a context shorter than the windows";
}

}  // namespace
}  // namespace kiln::model
