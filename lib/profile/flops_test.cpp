// train_flops_per_sample against hand counts: 2 FLOPs per multiply-add of every conv and
// linear layer, times 3 for a training step.
#include "profile/flops.h"

#include <gtest/gtest.h>

#include "config/config.h"
#include "model/cnn.h"
#include "model/mlp.h"
#include "model/transformer.h"

namespace kiln::profile {
namespace {

data::SampleSpec fashion() {
  data::SampleSpec s;
  s.input = {at::kByte, {1, 28, 28}};
  s.target = {at::kLong, {}};
  s.num_classes = 10;
  return s;
}

TEST(Flops, MlpIsItsTwoMatrixProducts) {
  config::ModelConfig c;
  c.name = "mlp";
  c.knobs<model::MlpKnobs>().hidden = {16};
  auto net = model::build(c, {{1, 28, 28}, 10});
  EXPECT_DOUBLE_EQ(train_flops_per_sample(*net, fashion()), 3.0 * 2.0 * (784 * 16 + 16 * 10));
  EXPECT_TRUE(net->is_training()) << "back in training mode";
}

TEST(Flops, CnnCountsEveryConvolutionAndLinearLayer) {
  config::ModelConfig c;
  c.name = "cnn";
  c.knobs<model::CnnKnobs>().channels = {4, 8};
  c.knobs<model::CnnKnobs>().fc = 32;
  auto net = model::build(c, {{1, 28, 28}, 10});
  // 3x3 convs, padding 1: 28x28 (1->4, 4->4), pool, 14x14 (4->8, 8->8), pool, 7x7x8 -> 32 -> 10.
  const double macs = 28 * 28 * 4 * (1 * 9) + 28 * 28 * 4 * (4 * 9) + 14 * 14 * 8 * (4 * 9) + 14 * 14 * 8 * (8 * 9) +
                      392 * 32 + 32 * 10;
  EXPECT_DOUBLE_EQ(train_flops_per_sample(*net, fashion()), 3.0 * 2.0 * macs);
}

TEST(Flops, TransformerCountsItsLinearLayersOnTokens) {
  config::ModelConfig c;
  c.name = "transformer";
  auto& k = c.knobs<model::TransformerKnobs>();
  k.layers = 1, k.heads = 2, k.dim = 16;
  auto net = model::build(c, {{8}, 50});
  data::SampleSpec s;
  s.input = {at::kLong, {8}};
  s.target = {at::kLong, {8}};
  const double f = train_flops_per_sample(*net, s);
  // At least the output projection, 8 positions x 16 x 50 multiply-adds; at most a generous
  // bound on one block of width 16 (attention projections and a 4x MLP) plus that head.
  EXPECT_GE(f, 3.0 * 2.0 * 8 * 16 * 50);
  EXPECT_LE(f, 3.0 * 2.0 * 8 * (16 * 50 + 16 * 16 * 4 + 2 * 16 * 64 + 8 * 16 * 2));
}

}  // namespace
}  // namespace kiln::profile
