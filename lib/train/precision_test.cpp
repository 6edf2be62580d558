// train::Autocast against LibTorch's own autocast op lists (ATen/autocast_mode.h's
// AT_FORALL_LOWER_PRECISION_FP and AT_FORALL_FP32, not a list of our own): every op that a
// built-in model's forward and its task's loss dispatch under bf16 autocast and that is on the
// lower-precision list returns bf16; the losses on the fp32 list return fp32; the weights
// stay fp32; leaving the region restores plain fp32 ops.
#include "train/precision.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <ATen/record_function.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "config/config.h"
#include "model/cnn.h"
#include "model/registry.h"
#include "model/resnet.h"
#include "model/transformer.h"
#include "task/task.h"
#include "util/error.h"

namespace kiln::train {
namespace {

#define KILN_OP_NAME(op, ...) "aten::" #op,
const std::set<std::string> kLowerPrecision = {AT_FORALL_LOWER_PRECISION_FP(KILN_OP_NAME)};
const std::set<std::string> kFp32 = {AT_FORALL_FP32(KILN_OP_NAME)};
#undef KILN_OP_NAME

// Every op dispatched on this thread while `fn` runs, with the dtypes of its tensor outputs.
std::multimap<std::string, at::ScalarType> record_ops(const std::function<void()>& fn) {
  static thread_local std::multimap<std::string, at::ScalarType>* sink = nullptr;
  std::multimap<std::string, at::ScalarType> seen;
  sink = &seen;
  const auto handle =
      at::addThreadLocalCallback(at::RecordFunctionCallback(nullptr,
                                                            [](const at::RecordFunction& f, at::ObserverContext*) {
                                                              for (const c10::IValue& v : f.outputs()) {
                                                                if (v.isTensor() && v.toTensor().defined()) {
                                                                  sink->emplace(f.name(), v.toTensor().scalar_type());
                                                                }
                                                              }
                                                            })
                                     .needsOutputs(true)
                                     .scopes({at::RecordScope::FUNCTION}));
  fn();
  at::removeCallback(handle);
  sink = nullptr;
  return seen;
}

struct Case {
  std::string model, task;
  model::InputSpec input;
  at::Tensor x, y;
};

std::vector<Case> cases() {
  at::manual_seed(0);
  const at::Tensor image = at::rand({4, 1, 28, 28});
  const at::Tensor labels = at::randint(0, 10, {4}, at::kLong);
  const at::Tensor tokens = at::randint(0, 50, {2, 12}, at::kLong);
  return {
      {"mlp", "classification", {{1, 28, 28}, 10}, image, labels},
      {"cnn", "classification", {{1, 28, 28}, 10}, image, labels},
      {"resnet", "classification", {{1, 28, 28}, 10}, image, labels},
      {"mlp", "regression", {{1, 28, 28}, 1}, image, at::rand({4, 1})},
      {"transformer", "language-model", {{12}, 50}, tokens, at::randint(0, 50, {2, 12}, at::kLong)},
  };
}

TEST(Precision, Bf16AutocastFollowsLibTorchsOpLists) {
  for (const Case& k : cases()) {
    SCOPED_TRACE(k.model + " / " + k.task);
    config::RunConfig cfg;
    cfg.model.name = k.model;
    cfg.train.task = k.task;
    if (k.model == "transformer") {
      auto& t = cfg.model.knobs<model::TransformerKnobs>();
      t.layers = 1, t.heads = 2, t.dim = 16;
    }
    const model::NetPtr net = model::build(cfg.model, k.input);
    const task::TaskPtr task = task::build(cfg);
    at::Tensor loss;
    const auto ops = record_ops([&] {
      const Autocast autocast(Precision::kBf16, c10::DeviceType::CPU);
      loss = task->loss(net->forward(k.x), k.y);
    });
    int64_t low = 0, losses = 0;
    for (const auto& [name, dtype] : ops) {
      if (kLowerPrecision.count(name)) {
        EXPECT_EQ(dtype, at::kBFloat16) << name << " is on LibTorch's lower-precision list";
        ++low;
      }
      if (kFp32.count(name) && name.find("loss") != std::string::npos) {
        EXPECT_EQ(dtype, at::kFloat) << name << " is on LibTorch's fp32 list";
        ++losses;
      }
    }
    EXPECT_GT(low, 0) << "the forward ran no op of the lower-precision list";
    EXPECT_GT(losses, 0) << "the loss ran no op of the fp32 list";
    EXPECT_EQ(loss.scalar_type(), at::kFloat);
    for (const auto& p : net->parameters()) EXPECT_EQ(p.scalar_type(), at::kFloat) << "master weights stay fp32";
    loss.backward();
    for (const auto& p : net->parameters()) {
      if (p.grad().defined()) EXPECT_EQ(p.grad().scalar_type(), at::kFloat) << "gradients of fp32 weights are fp32";
    }
  }
}

TEST(Precision, Fp32IsNoRegionAndTheRegionEnds) {
  const at::Tensor a = at::rand({4, 4}), b = at::rand({4, 4});
  {
    const Autocast off(Precision::kFp32, c10::DeviceType::CPU);
    EXPECT_FALSE(at::autocast::is_autocast_enabled(c10::DeviceType::CPU));
    EXPECT_EQ(at::mm(a, b).scalar_type(), at::kFloat);
  }
  {
    const Autocast on(Precision::kBf16, c10::DeviceType::CPU);
    EXPECT_EQ(at::mm(a, b).scalar_type(), at::kBFloat16);
    {
      const Autocast inner(Precision::kFp16, c10::DeviceType::CPU);
      EXPECT_EQ(at::mm(a, b).scalar_type(), at::kHalf);
    }
    EXPECT_EQ(at::mm(a, b).scalar_type(), at::kBFloat16) << "the inner region restored the outer dtype";
  }
  EXPECT_FALSE(at::autocast::is_autocast_enabled(c10::DeviceType::CPU));
  EXPECT_EQ(at::mm(a, b).scalar_type(), at::kFloat);
}

TEST(Precision, NamesRoundTripAndUnknownIsAUsageError) {
  for (const std::string n : {"fp32", "bf16", "fp16"}) EXPECT_EQ(precision_name(parse_precision(n)), n);
  EXPECT_EQ(low_dtype(Precision::kBf16), at::kBFloat16);
  EXPECT_EQ(low_dtype(Precision::kFp16), at::kHalf);
  try {
    parse_precision("fp8");
    FAIL() << "fp8 parsed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
  }
}

}  // namespace
}  // namespace kiln::train
