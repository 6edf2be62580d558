// Unit tests for model/registry.h: the built-in models build, map [B,1,28,28] to [B,10]
// logits and train (gradients everywhere); the registry suggests names and takes custom
// models; initialisation follows torch's seed; dropout obeys train()/eval().
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/load.h"
#include "config/model_table.h"
#include "model/cnn.h"
#include "model/mlp.h"
#include "model/registry.h"
#include "model/resnet.h"
#include "repro/repro.h"
#include "util/error.h"

namespace kiln::model {
namespace {

const InputSpec kFashion{{1, 28, 28}, 10};

config::ModelConfig named(const std::string& name) {
  config::ModelConfig c;
  c.name = name;
  return c;
}

// A small variant of built-in `name` (its own knobs set; mlp: one hidden layer of mlp_width).
config::ModelConfig small(const std::string& name, int64_t mlp_width) {
  auto c = named(name);
  if (name == "mlp") c.knobs<MlpKnobs>().hidden = {mlp_width};
  if (name == "cnn") c.knobs<CnnKnobs>().channels = {4, 8};
  if (name == "resnet") c.knobs<ResnetKnobs>() = {4, 1};
  return c;
}

// Builds cfg, runs a [4,1,28,28] batch forward and backward, checks shapes and gradients.
void check_forward_backward(const config::ModelConfig& cfg) {
  SCOPED_TRACE("model " + cfg.name);
  torch::manual_seed(0);
  NetPtr net = build(cfg, kFashion);
  ASSERT_TRUE(net);
  net->train();
  const auto x = at::randn({4, 1, 28, 28});
  const auto y = net->forward(x);
  ASSERT_EQ(y.sizes().vec(), (std::vector<int64_t>{4, 10}));
  EXPECT_EQ(y.scalar_type(), at::kFloat);
  EXPECT_TRUE(y.isfinite().all().item<bool>());
  const auto labels = at::tensor(std::vector<int64_t>{0, 3, 7, 9});
  at::cross_entropy_loss(y, labels).backward();
  const auto params = net->named_parameters(true);
  ASSERT_GT(params.size(), 0u);
  EXPECT_GT(count_parameters(*net), 0);
  for (const auto& p : params) {
    ASSERT_TRUE(p.value().grad().defined()) << "no gradient for " << p.key();
    EXPECT_TRUE(p.value().grad().isfinite().all().item<bool>()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << "all-zero gradient for " << p.key();
  }
}

TEST(ModelBuild, DefaultMlpForwardBackward) { check_forward_backward(named("mlp")); }
TEST(ModelBuild, DefaultCnnForwardBackward) { check_forward_backward(named("cnn")); }
TEST(ModelBuild, DefaultResnetForwardBackward) { check_forward_backward(named("resnet")); }

TEST(ModelBuild, VariantsForwardBackward) {
  check_forward_backward(small("mlp", 64));
  auto mlp_deep = named("mlp");
  mlp_deep.knobs<MlpKnobs>().hidden = {32, 16, 8};
  mlp_deep.dropout = 0.0;
  check_forward_backward(mlp_deep);
  auto cnn = named("cnn");
  cnn.knobs<CnnKnobs>().channels = {8, 16};
  cnn.dropout = 0.5;
  check_forward_backward(cnn);
  auto cnn_one = named("cnn");
  cnn_one.knobs<CnnKnobs>() = {{4}, 16};
  cnn_one.dropout = 0.0;
  check_forward_backward(cnn_one);
  auto resnet = named("resnet");
  resnet.knobs<ResnetKnobs>() = {8, 1};
  check_forward_backward(resnet);
}

TEST(ModelBuild, OtherInputShapesAndClassCounts) {
  // 3-channel 32x32 input, 5 classes: every built-in adapts to the InputSpec.
  const InputSpec in{{3, 32, 32}, 5};
  for (const std::string name : {"mlp", "cnn", "resnet"}) {
    const auto cfg = small(name, 16);
    torch::manual_seed(0);
    NetPtr net = build(cfg, in);
    EXPECT_EQ(net->forward(at::randn({2, 3, 32, 32})).sizes().vec(), (std::vector<int64_t>{2, 5})) << name;
  }
}

TEST(ModelBuild, MlpParameterCountMatchesHandCount) {
  NetPtr net = build(small("mlp", 64), kFashion);
  EXPECT_EQ(count_parameters(*net), 784 * 64 + 64 + 64 * 10 + 10);
  net = build(named("mlp"), kFashion);  // the default widths, 512 and 256
  EXPECT_EQ(count_parameters(*net), 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10);
}

TEST(ModelBuild, CountParametersSkipsFrozenParameters) {
  NetPtr net = build(small("mlp", 64), kFashion);
  const int64_t all = count_parameters(*net);
  auto params = net->parameters();
  params.front().set_requires_grad(false);  // the first Linear's weight [64, 784]
  EXPECT_EQ(count_parameters(*net), all - 784 * 64);
}

TEST(ModelBuild, CnnWithTooManyStagesThrowsUsage) {
  auto cfg = named("cnn");
  cfg.knobs<CnnKnobs>().channels = {4, 4, 4, 4, 4};  // 28 -> 14 -> 7 -> 3 -> 1 -> 0
  try {
    build(cfg, kFashion);
    FAIL() << "expected a usage error";
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("model.cnn.channels"), std::string::npos) << e.what();
  }
  // Four stages still fit (28 -> 1).
  cfg.knobs<CnnKnobs>().channels = {4, 4, 4, 4};
  NetPtr net = build(cfg, kFashion);
  EXPECT_EQ(net->forward(at::randn({2, 1, 28, 28})).sizes().vec(), (std::vector<int64_t>{2, 10}));
}

TEST(ModelBuild, SameSeedSameWeightsOtherSeedOtherWeights) {
  for (const std::string name : {"mlp", "cnn", "resnet"}) {
    const auto cfg = small(name, 32);
    torch::manual_seed(42);
    const std::string a = repro::weights_sha256(*build(cfg, kFashion));
    torch::manual_seed(42);
    const std::string b = repro::weights_sha256(*build(cfg, kFashion));
    torch::manual_seed(43);
    const std::string c = repro::weights_sha256(*build(cfg, kFashion));
    EXPECT_EQ(a.size(), 64u) << name;
    EXPECT_EQ(a, b) << name;
    EXPECT_NE(a, c) << name;
  }
}

TEST(ModelBuild, DropoutActsInTrainModeOnly) {
  auto cfg = small("mlp", 64);
  cfg.dropout = 0.5;
  torch::manual_seed(1);
  NetPtr net = build(cfg, kFashion);
  const auto x = at::randn({4, 1, 28, 28});
  torch::NoGradGuard no_grad;
  net->train();
  EXPECT_FALSE(at::equal(net->forward(x), net->forward(x)));
  net->eval();
  const auto e1 = net->forward(x);
  EXPECT_TRUE(at::equal(e1, net->forward(x)));
  // Without dropout (and without batch norm) train mode is deterministic too.
  cfg.dropout = 0.0;
  NetPtr plain = build(cfg, kFashion);
  plain->train();
  EXPECT_TRUE(at::equal(plain->forward(x), plain->forward(x)));
}

TEST(ModelBuild, CnnDropoutActsInTrainModeOnly) {
  auto cfg = named("cnn");
  cfg.knobs<CnnKnobs>().channels = {8, 16};
  cfg.dropout = 0.5;
  torch::manual_seed(2);
  NetPtr net = build(cfg, kFashion);
  const auto x = at::randn({4, 1, 28, 28});
  torch::NoGradGuard no_grad;
  net->train();
  EXPECT_FALSE(at::equal(net->forward(x), net->forward(x)));
  net->eval();
  EXPECT_TRUE(at::equal(net->forward(x), net->forward(x)));
}

// model.channels_last: the cnn flattens NHWC features in (H, W, C) order and permutes its
// first Linear's weight to match, so with the same parameters both layouts compute the same
// logits and the same gradients (to float rounding: the sums run in another order).
TEST(ModelBuild, CnnComputesTheSameInEitherLayout) {
  auto cfg = named("cnn");
  cfg.knobs<CnnKnobs>().channels = {8, 16};
  cfg.dropout = 0.0;                     // train mode then draws nothing; batch norm uses the batch's statistics
  const InputSpec rgb{{3, 28, 28}, 10};  // 3 channels: contiguous(ChannelsLast) restrides them
  torch::manual_seed(4);
  NetPtr nchw = build(cfg, rgb);
  torch::manual_seed(4);
  NetPtr nhwc = build(cfg, rgb);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : nhwc->parameters()) {
      if (p.dim() == 4) p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
  const at::Tensor x = at::randn({6, 3, 28, 28});
  const at::Tensor labels = at::tensor(std::vector<int64_t>{0, 3, 7, 9, 1, 2});
  for (bool training : {true, false}) {
    nchw->train(training), nhwc->train(training);
    nchw->zero_grad(), nhwc->zero_grad();
    const at::Tensor a = nchw->forward(x);
    const at::Tensor b = nhwc->forward(x.contiguous(at::MemoryFormat::ChannelsLast));
    EXPECT_TRUE(at::allclose(a, b, 1e-4, 1e-5)) << "training " << training << ": " << (a - b).abs().max();
    at::cross_entropy_loss(a, labels).backward();
    at::cross_entropy_loss(b, labels).backward();
    const auto pa = nchw->named_parameters(), pb = nhwc->named_parameters();
    for (const auto& p : pa) {
      const at::Tensor ga = p.value().grad(), gb = pb[p.key()].grad();
      EXPECT_TRUE(at::allclose(ga, gb, 1e-4, 1e-6)) << p.key() << ": " << (ga - gb).abs().max();
    }
  }
}

// ---- registry -------------------------------------------------------------------------

TEST(ModelRegistry, BuiltinsAreRegistered) {
  const auto names = model_names();
  for (const char* n : {"mlp", "cnn", "resnet"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
}

TEST(ModelRegistry, UnknownNameSuggestsNearest) {
  try {
    build(named("mpl"), kFashion);
    FAIL() << "expected a usage error";
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("did you mean 'mlp'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mpl"), std::string::npos) << msg;
  }
  try {
    build(named("resnt"), kFashion);
    FAIL() << "expected a usage error";
  } catch (const kiln::Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'resnet'"), std::string::npos) << e.what();
  }
}

// A custom model: one Linear on the flattened input, remembering its one knob.
struct TestLinearKnobs {
  int64_t remember = 5;  // a knob name no built-in has, so no other test sees it in their messages
  std::vector<config::Field> fields() {
    return {config::num("remember", &remember, "a number the net only remembers", 1, 100)};
  }
};

class TestLinearNet : public Net {
 public:
  TestLinearNet(const config::ModelConfig& cfg, const InputSpec& in)
      : fc_(register_module("fc", torch::nn::Linear(in.numel(), in.outputs))),
        remembered_(cfg.knobs<TestLinearKnobs>().remember) {}
  at::Tensor forward(at::Tensor x) override { return fc_->forward(x.flatten(1)); }
  int64_t remembered() const { return remembered_; }

 private:
  torch::nn::Linear fc_;
  int64_t remembered_;
};

NetPtr make_test_linear(const config::ModelConfig& cfg, const InputSpec& in) {
  return std::make_shared<TestLinearNet>(cfg, in);
}

TEST(ModelRegistry, RegisteredCustomModelBuildsByName) {
  ASSERT_TRUE(register_model("kiln-test-linear", make_test_linear, config::model_table<TestLinearKnobs>()));
  const auto names = model_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "kiln-test-linear"), names.end());
  // Its table is a config table like the built-ins': loaded, checked and printed.
  const config::RunConfig run =
      config::load(std::nullopt, {"model.name=kiln-test-linear", "model.kiln-test-linear.remember=77"});
  EXPECT_NE(config::to_toml(run).find("[model.kiln-test-linear]\nremember = 77 "), std::string::npos)
      << config::to_toml(run);
  EXPECT_THROW(config::load(std::nullopt, {"model.name=kiln-test-linear", "model.kiln-test-linear.remember=101"}),
               kiln::Error);
  NetPtr net = build(run.model, kFashion);  // the factory sees the config it was built from
  auto* mine = dynamic_cast<TestLinearNet*>(net.get());
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(mine->remembered(), 77);
  EXPECT_EQ(count_parameters(*net), 784 * 10 + 10);
  EXPECT_EQ(net->forward(at::randn({3, 1, 28, 28})).sizes().vec(), (std::vector<int64_t>{3, 10}));
  // Without an entry in the config, the knobs are the struct's defaults.
  EXPECT_EQ(dynamic_cast<TestLinearNet*>(build(named("kiln-test-linear"), kFashion).get())->remembered(), 5);
}

TEST(ModelRegistry, ModelWithoutKnobsNeedsNoTable) {
  ASSERT_TRUE(register_model("kiln-test-plain", make_test_linear));  // reads TestLinearKnobs' defaults
  EXPECT_EQ(count_parameters(*build(named("kiln-test-plain"), kFashion)), 784 * 10 + 10);
  EXPECT_FALSE(config::find_model_table("kiln-test-plain"));
  EXPECT_THROW(config::load(std::nullopt, {"model.name=kiln-test-plain", "model.kiln-test-plain.remember=7"}),
               kiln::Error);
}

TEST(ModelRegistry, KnobsReadAsAnotherStructIsAnInternalError) {
  auto cfg = named("mlp");
  cfg.knobs<MlpKnobs>().hidden = {8};
  try {
    (void)static_cast<const config::ModelConfig&>(cfg).knobs<CnnKnobs>();
    FAIL() << "expected an error";
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kRuntime);
    EXPECT_NE(std::string(e.what()).find("internal error"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kiln::model
