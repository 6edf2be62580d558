// Unit tests for train/step.h, train/evaluate.h and checkpoint/checkpoint.h: the step
// learns, gradient accumulation equals one big batch, clipping reports and enforces the
// global norm, evaluation counts correctly, and checkpoints restore weights, optimizer
// state and counters (and reject damaged files as usage errors).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "config/config.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "model/mlp.h"
#include "model/registry.h"
#include "optim/optimizer.h"
#include "repro/repro.h"
#include "task/classification.h"
#include "train/evaluate.h"
#include "train/step.h"
#include "util/error.h"
#include "util/fs.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

void remove_tree(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

const model::InputSpec kSmall{{1, 4, 4}, 3};                                 // 16 inputs, 3 classes: fast on the CPU
const task::TaskPtr kTask = task::make_classification(config::RunConfig{});  // no label smoothing

// The value of metric `key` ("test_accuracy") in an evaluation.
double value(const train::EvalResult& r, const std::string& key) {
  for (const auto& [k, v] : r.values) {
    if (k == key) return v;
  }
  ADD_FAILURE() << "no metric " << key;
  return NAN;
}

model::NetPtr tiny_mlp(uint64_t seed, std::vector<int64_t> hidden = {8}) {
  config::ModelConfig cfg;
  cfg.name = "mlp";
  cfg.knobs<model::MlpKnobs>().hidden = std::move(hidden);
  cfg.dropout = 0.0;
  torch::manual_seed(seed);
  return model::build(cfg, kSmall);
}

std::unique_ptr<torch::optim::Optimizer> sgd(model::Net& net, double lr, double momentum) {
  config::OptimConfig cfg;
  cfg.name = "sgd";
  cfg.lr = lr;
  cfg.momentum = momentum;
  return optim::build(cfg, net.parameters());
}

data::Batch random_batch(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  data::Batch b;
  b.input = at::randn({n, 1, 4, 4});
  b.target = at::randint(0, 3, {n}, at::kLong);
  return b;
}

// ---- step -----------------------------------------------------------------------------

TEST(TrainStep, ReducesLossOnAFixedBatch) {
  auto net = tiny_mlp(1, {32});
  auto opt = sgd(*net, 0.1, 0.9);
  const data::Batch b = random_batch(16, 2);
  std::vector<double> losses;
  for (int i = 0; i < 20; ++i) {
    const auto stats = train::step(*net, *opt, *kTask, {b}, {});
    EXPECT_EQ(stats.samples, 16);
    ASSERT_TRUE(stats.loss.defined());
    EXPECT_EQ(stats.loss.dim(), 0);
    EXPECT_FALSE(stats.loss.requires_grad());
    EXPECT_FALSE(stats.grad_norm.defined());  // clipping is off
    losses.push_back(stats.loss.item<double>());
  }
  EXPECT_TRUE(std::isfinite(losses.back()));
  EXPECT_LT(losses.back(), 0.5 * losses.front()) << "first " << losses.front() << ", last " << losses.back();
}

TEST(TrainStep, ReportedLossIsTheBatchCrossEntropyBeforeTheUpdate) {
  auto net = tiny_mlp(3);
  auto opt = sgd(*net, 0.1, 0.0);
  const data::Batch b = random_batch(6, 4);
  double expected;
  {
    torch::NoGradGuard no_grad;
    expected = at::cross_entropy_loss(net->forward(b.input), b.target).item<double>();
  }
  const auto stats = train::step(*net, *opt, *kTask, {b}, {});
  EXPECT_NEAR(stats.loss.item<double>(), expected, 1e-6);
}

TEST(TrainStep, GradAccumulationEqualsOneBigBatch) {
  // Unequal micro-batches (3 and 5 samples) check the per-sample weighting.
  const data::Batch a = random_batch(3, 10), b = random_batch(5, 11);
  data::Batch ab;
  ab.input = at::cat({a.input, b.input});
  ab.target = at::cat({a.target, b.target});

  auto net_micro = tiny_mlp(7), net_whole = tiny_mlp(7);
  ASSERT_EQ(repro::weights_sha256(*net_micro), repro::weights_sha256(*net_whole));
  auto opt_micro = sgd(*net_micro, 0.5, 0.0), opt_whole = sgd(*net_whole, 0.5, 0.0);
  const auto before = net_whole->parameters()[0].detach().clone();

  const auto s_micro = train::step(*net_micro, *opt_micro, *kTask, {a, b}, {});
  const auto s_whole = train::step(*net_whole, *opt_whole, *kTask, {ab}, {});
  EXPECT_EQ(s_micro.samples, 8);
  EXPECT_EQ(s_whole.samples, 8);
  EXPECT_NEAR(s_micro.loss.item<double>(), s_whole.loss.item<double>(), 1e-6);

  const auto pm = net_micro->named_parameters(true), pw = net_whole->named_parameters(true);
  ASSERT_EQ(pm.size(), pw.size());
  for (size_t i = 0; i < pm.size(); ++i) {
    EXPECT_TRUE(at::allclose(pm[i].value(), pw[i].value(), /*rtol=*/1e-5, /*atol=*/1e-7)) << pm[i].key();
  }
  // The step really moved the weights (otherwise the comparison proves nothing).
  EXPECT_FALSE(at::allclose(before, net_whole->parameters()[0], 1e-5, 1e-7));
}

TEST(TrainStep, GradAccumulationWithEqualThirdsAndMomentum) {
  // Three micro-batches of 4 with SGD momentum over two steps: still one batch of 12.
  const data::Batch a = random_batch(4, 20), b = random_batch(4, 21), c = random_batch(4, 22);
  data::Batch abc;
  abc.input = at::cat({a.input, b.input, c.input});
  abc.target = at::cat({a.target, b.target, c.target});
  auto net_micro = tiny_mlp(8), net_whole = tiny_mlp(8);
  auto opt_micro = sgd(*net_micro, 0.2, 0.9), opt_whole = sgd(*net_whole, 0.2, 0.9);
  for (int s = 0; s < 2; ++s) {
    train::step(*net_micro, *opt_micro, *kTask, {a, b, c}, {});
    train::step(*net_whole, *opt_whole, *kTask, {abc}, {});
  }
  const auto pm = net_micro->parameters(), pw = net_whole->parameters();
  for (size_t i = 0; i < pm.size(); ++i) EXPECT_TRUE(at::allclose(pm[i], pw[i], 1e-5, 1e-6)) << i;
}

TEST(TrainStep, ClippingInStepReportsThePreClipNorm) {
  auto net = tiny_mlp(5);
  auto opt = sgd(*net, 0.0, 0.0);  // lr 0: the gradients stay inspectable, weights fixed
  const data::Batch b = random_batch(6, 6);
  train::StepOptions o;
  o.grad_clip = 1e-3;
  const auto stats = train::step(*net, *opt, *kTask, {b}, o);
  ASSERT_TRUE(stats.grad_norm.defined());
  EXPECT_GT(stats.grad_norm.item<double>(), 1e-3);
  double sq = 0;
  for (const auto& p : net->parameters()) sq += p.grad().pow(2).sum().item<double>();
  EXPECT_LE(std::sqrt(sq), 1e-3 * (1 + 1e-5));
}

// ---- clip_grad_norm -------------------------------------------------------------------

// Parameters with hand-set gradients [3, 4] and [[12]] (global norm 13) and one without.
std::vector<at::Tensor> params_with_grads() {
  auto a = at::zeros({2}).set_requires_grad(true);
  auto b = at::zeros({1, 1}).set_requires_grad(true);
  auto c = at::zeros({3}).set_requires_grad(true);  // no gradient: skipped
  a.mutable_grad() = at::tensor(std::vector<float>{3.0f, 4.0f});
  b.mutable_grad() = at::tensor(std::vector<float>{12.0f}).view({1, 1});
  return {a, b, c};
}

double global_norm(const std::vector<at::Tensor>& params) {
  double sq = 0;
  for (const auto& p : params) {
    if (p.grad().defined()) sq += p.grad().to(at::kDouble).pow(2).sum().item<double>();
  }
  return std::sqrt(sq);
}

TEST(TrainClip, ReturnsPreClipNormAndScalesToMaxNorm) {
  auto params = params_with_grads();
  const auto norm = train::clip_grad_norm(params, 6.5);
  EXPECT_NEAR(norm.item<double>(), 13.0, 1e-5);
  EXPECT_LE(global_norm(params), 6.5 * (1 + 1e-6));
  EXPECT_NEAR(global_norm(params), 6.5, 1e-4);
  // Direction kept: every gradient scaled by the same factor (one half).
  EXPECT_NEAR(params[0].grad()[0].item<double>(), 1.5, 1e-5);
  EXPECT_NEAR(params[0].grad()[1].item<double>(), 2.0, 1e-5);
  EXPECT_NEAR(params[1].grad()[0][0].item<double>(), 6.0, 1e-5);
  EXPECT_FALSE(params[2].grad().defined());
}

TEST(TrainClip, LeavesGradientsBelowMaxNormUnchanged) {
  auto params = params_with_grads();
  const auto a = params[0].grad().clone(), b = params[1].grad().clone();
  const auto norm = train::clip_grad_norm(params, 100.0);
  EXPECT_NEAR(norm.item<double>(), 13.0, 1e-5);
  EXPECT_TRUE(at::equal(params[0].grad(), a));
  EXPECT_TRUE(at::equal(params[1].grad(), b));
}

TEST(TrainClip, NormOfModelGradientsMatchesHandComputation) {
  auto net = tiny_mlp(9);
  const data::Batch b = random_batch(5, 9);
  at::cross_entropy_loss(net->forward(b.input), b.target).backward();
  const double hand = global_norm(net->parameters());
  ASSERT_GT(hand, 0.0);
  const auto norm = train::clip_grad_norm(net->parameters(), hand / 4);
  EXPECT_NEAR(norm.item<double>(), hand, 1e-5 * hand);
  EXPECT_LE(global_norm(net->parameters()), hand / 4 * (1 + 1e-5));
}

TEST(TrainClip, NoGradientsGivesZero) {
  std::vector<at::Tensor> params = {at::zeros({2}).set_requires_grad(true)};
  EXPECT_EQ(train::clip_grad_norm(params, 1.0).item<double>(), 0.0);
  EXPECT_EQ(train::clip_grad_norm({}, 1.0).item<double>(), 0.0);
}

// ---- evaluate -------------------------------------------------------------------------

// 10 samples of 1x4x4, label i % 3: labels 0,1,2,0,1,2,0,1,2,0.
class ModThree : public data::ImageDataset {
 public:
  int64_t size() const override { return 10; }
  data::ImageShape shape() const override { return data::ImageShape{1, 4, 4}; }
  int64_t num_classes() const override { return 3; }
  int64_t read_image(int64_t index, uint8_t* pixels) const override {
    for (int k = 0; k < 16; ++k) pixels[k] = static_cast<uint8_t>(index * 10 + k);
    return index % 3;
  }
};

// Always predicts class 1: logits [0, 2, 0] for every sample. Records the mode it ran in.
class AlwaysOne : public model::Net {
 public:
  AlwaysOne() { bias_ = register_parameter("bias", at::zeros({1})); }
  at::Tensor forward(at::Tensor x) override {
    ran_in_training_ = ran_in_training_ || is_training();
    ran_with_grad_ = ran_with_grad_ || at::GradMode::is_enabled();
    auto logits = at::zeros({x.size(0), 3});
    logits.select(1, 1).fill_(2.0);
    return logits + bias_;
  }
  bool ran_in_training_ = false, ran_with_grad_ = false;

 private:
  at::Tensor bias_;
};

TEST(TrainEvaluate, AccuracyAndLossMatchHandCount) {
  auto ds = std::make_shared<const ModThree>();
  data::LoaderOptions o;
  o.batch_size = 3;  // 4 batches, the last of one sample
  o.shuffle = true;
  o.seed = 3;
  auto loader = data::make_simple_loader(ds, o);
  AlwaysOne net;
  net.train();
  const auto r = train::evaluate(net, *loader, *kTask);
  EXPECT_EQ(r.samples, 10);
  // Label 1 occurs 3 times in 0..9 (1, 4, 7).
  EXPECT_DOUBLE_EQ(value(r, "test_accuracy"), 0.3);
  // Cross-entropy of logits [0, 2, 0]: right -> log(e^2 + 2) - 2, wrong -> log(e^2 + 2).
  const double z = std::log(std::exp(2.0) + 2.0);
  EXPECT_NEAR(value(r, "test_loss"), (3 * (z - 2.0) + 7 * z) / 10.0, 1e-5);
  EXPECT_FALSE(net.ran_in_training_);
  EXPECT_FALSE(net.ran_with_grad_);
  EXPECT_TRUE(net.is_training());  // back in training mode afterwards
}

TEST(TrainEvaluate, PerfectModelScoresOne) {
  // A model that reads the label off the pixels: with mean 0, std 1, pixel 0 is index*10/255.
  class Oracle : public model::Net {
   public:
    at::Tensor forward(at::Tensor x) override {
      const auto index = (x.select(1, 0).select(1, 0).select(1, 0) * 255.0 / 10.0).round().to(at::kLong);
      return at::one_hot(index.remainder(3), 3).to(at::kFloat) * 5.0;
    }
  };
  data::LoaderOptions o;
  o.batch_size = 4;
  auto loader = data::make_simple_loader(std::make_shared<const ModThree>(), o);
  Oracle net;
  const auto r = train::evaluate(net, *loader, *kTask);
  EXPECT_EQ(r.samples, 10);
  EXPECT_DOUBLE_EQ(value(r, "test_accuracy"), 1.0);
  EXPECT_LT(value(r, "test_loss"), 0.02);
}

// ---- checkpoint -----------------------------------------------------------------------

class CheckpointFiles : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ =
        fs::temp_directory_path() / ("kiln-train-test-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    remove_tree(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { remove_tree(dir_); }
  static std::unique_ptr<torch::optim::Optimizer> adamw(model::Net& net) {
    config::OptimConfig cfg;  // defaults: adamw
    cfg.lr = 0.01;
    cfg.weight_decay = 0.01;
    return optim::build(cfg, net.parameters());
  }
  fs::path dir_;
};

TEST_F(CheckpointFiles, SaveThenLoadRestoresWeightsOptimizerAndState) {
  auto net = tiny_mlp(11);
  auto opt = adamw(*net);
  const data::Batch b = random_batch(8, 12);
  for (int i = 0; i < 3; ++i) train::step(*net, *opt, *kTask, {b}, {});  // optimizer state is non-trivial
  const fs::path path = dir_ / "step-3.pt";
  checkpoint::save(path, *net, *opt, checkpoint::TrainState{3, 2, 17});
  ASSERT_TRUE(fs::exists(path));

  auto fresh = tiny_mlp(99);  // other initial weights
  auto fresh_opt = adamw(*fresh);
  ASSERT_NE(repro::weights_sha256(*fresh), repro::weights_sha256(*net));
  const checkpoint::TrainState s = checkpoint::load(path, *fresh, *fresh_opt);
  EXPECT_EQ(repro::weights_sha256(*fresh), repro::weights_sha256(*net));
  EXPECT_EQ(s.step, 3);
  EXPECT_EQ(s.epoch, 2);
  EXPECT_EQ(s.next_batch, 17);

  // The optimizer state came back too: one more identical step keeps them bit-identical
  // (a fresh AdamW, with no moments, would take a different step).
  train::step(*net, *opt, *kTask, {b}, {});
  train::step(*fresh, *fresh_opt, *kTask, {b}, {});
  EXPECT_EQ(repro::weights_sha256(*fresh), repro::weights_sha256(*net));
}

TEST_F(CheckpointFiles, RestoredOptimizerDiffersFromAFreshOne) {
  // Guards the test above: without loading the optimizer state, the next step differs.
  auto net = tiny_mlp(11);
  auto opt = adamw(*net);
  const data::Batch b = random_batch(8, 12);
  for (int i = 0; i < 3; ++i) train::step(*net, *opt, *kTask, {b}, {});
  auto copy = tiny_mlp(11);
  auto copy_opt = adamw(*copy);
  {
    torch::NoGradGuard no_grad;
    const auto src = net->parameters(), dst = copy->parameters();
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  ASSERT_EQ(repro::weights_sha256(*copy), repro::weights_sha256(*net));
  train::step(*net, *opt, *kTask, {b}, {});
  train::step(*copy, *copy_opt, *kTask, {b}, {});
  EXPECT_NE(repro::weights_sha256(*copy), repro::weights_sha256(*net));
}

TEST_F(CheckpointFiles, TruncatedCheckpointThrowsUsageNamingFile) {
  auto net = tiny_mlp(13);
  auto opt = adamw(*net);
  train::step(*net, *opt, *kTask, {random_batch(4, 1)}, {});
  const fs::path path = dir_ / "good.pt";
  checkpoint::save(path, *net, *opt, checkpoint::TrainState{1, 0, 1});
  std::string bytes;
  {
    std::ifstream f(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  ASSERT_GT(bytes.size(), 100u);
  const fs::path bad = dir_ / "truncated.pt";
  {
    std::ofstream f(bad, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  auto fresh = tiny_mlp(14);
  auto fresh_opt = adamw(*fresh);
  try {
    checkpoint::load(bad, *fresh, *fresh_opt);
    FAIL() << "expected a usage error";
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    FAIL() << "wrong exception type: " << e.what();
  }
}

TEST_F(CheckpointFiles, MissingCheckpointThrowsUsageNamingFile) {
  auto net = tiny_mlp(15);
  auto opt = adamw(*net);
  const fs::path missing = dir_ / "nope.pt";
  try {
    checkpoint::load(missing, *net, *opt);
    FAIL() << "expected a usage error";
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find(missing.string()), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    FAIL() << "wrong exception type: " << e.what();
  }
}

TEST_F(CheckpointFiles, SaveOverwritesAtomicallyAndLeavesNoTempFiles) {
  auto net = tiny_mlp(16);
  auto opt = adamw(*net);
  const fs::path path = dir_ / "ckpt.pt";
  checkpoint::save(path, *net, *opt, checkpoint::TrainState{1, 0, 0});
  checkpoint::save(path, *net, *opt, checkpoint::TrainState{2, 1, 5});
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir_)) files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"ckpt.pt", "ckpt.pt.sha256"}));  // no temp files left
  auto fresh = tiny_mlp(17);
  auto fresh_opt = adamw(*fresh);
  const auto s = checkpoint::load(path, *fresh, *fresh_opt);
  EXPECT_EQ(s.step, 2);
  EXPECT_EQ(s.epoch, 1);
  EXPECT_EQ(s.next_batch, 5);
}

TEST_F(CheckpointFiles, MissingOrWrongSidecarIsRejected) {
  auto net = tiny_mlp(18);
  auto opt = adamw(*net);
  const fs::path path = dir_ / "c.pt";
  checkpoint::save(path, *net, *opt, checkpoint::TrainState{1, 0, 0});
  EXPECT_NO_THROW(checkpoint::verify(path));
  util::atomic_write(fs::path(path.string() + ".sha256"), std::string(64, '0') + "\n");
  EXPECT_THROW(checkpoint::verify(path), Error);
  fs::remove(fs::path(path.string() + ".sha256"));
  try {
    checkpoint::load(path, *net, *opt);
    ADD_FAILURE() << "loaded a checkpoint without its completion marker";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("incomplete"), std::string::npos) << e.what();
  }
}

TEST_F(CheckpointFiles, RngStateRoundTrips) {
  // Draws after a restore repeat the draws made after the capture.
  auto net = tiny_mlp(19);
  auto opt = adamw(*net);
  torch::manual_seed(123);
  const fs::path path = dir_ / "rng.pt";
  checkpoint::save(path, *net, *opt, checkpoint::TrainState{});
  const at::Tensor first = at::rand({16});
  at::rand({1000});  // move the generator on
  checkpoint::load(path, *net, *opt);
  EXPECT_TRUE(at::equal(at::rand({16}), first));
}

}  // namespace
}  // namespace kiln
