// train::step's two ways of skipping an update (fp16's scaler found an inf/nan gradient, or
// train.on_nonfinite = "skip" saw a nan/inf loss): on the host (read the flag, do not call
// the optimizer) or, with a fused optimizer, on the device (found_inf into the kernel, no
// sync). Both must leave the same weights, optimizer state and scale, step by step.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "config/config.h"
#include "model/mlp.h"
#include "model/registry.h"
#include "optim/fused_adamw.h"
#include "optim/optimizer.h"
#include "repro/repro.h"
#include "task/classification.h"
#include "train/step.h"

namespace kiln {
namespace {

const model::InputSpec kSmall{{1, 4, 4}, 3};
const task::TaskPtr kTask = task::make_classification(config::RunConfig{});

model::NetPtr tiny_mlp(uint64_t seed) {
  config::ModelConfig cfg;
  cfg.name = "mlp";
  cfg.knobs<model::MlpKnobs>().hidden = {8};
  cfg.dropout = 0.0;
  torch::manual_seed(seed);
  return model::build(cfg, kSmall);
}

std::unique_ptr<torch::optim::Optimizer> fused(model::Net& net, const std::string& name) {
  config::OptimConfig cfg;
  cfg.name = name;
  cfg.lr = name == "sgd" ? 0.1 : 1e-2;
  cfg.momentum = 0.9;
  cfg.weight_decay = 0.01;
  cfg.fused = "true";
  return optim::build(cfg, net.parameters());
}

// Step k's batch: 6 random samples; on the steps in `bad` one input is nan, so the loss and
// every gradient are nan.
data::Batch batch(int k, const std::vector<int>& bad) {
  torch::manual_seed(100 + k);
  data::Batch b;
  b.input = at::randn({6, 1, 4, 4});
  b.target = at::randint(0, 3, {6}, at::kLong);
  for (int s : bad) {
    if (s == k) b.input[2][0][1][1] = NAN;
  }
  return b;
}

bool skipped(const train::StepStats& st) {
  return st.skipped || (st.skip_flag.defined() && st.skip_flag.item<float>() != 0.0f);
}

struct Run {
  model::NetPtr net;
  std::unique_ptr<torch::optim::Optimizer> opt;
  std::unique_ptr<train::GradScaler> scaler;
};

Run make_run(const std::string& optimizer, bool with_scaler) {
  Run r;
  r.net = tiny_mlp(7);
  r.opt = fused(*r.net, optimizer);
  if (with_scaler) {
    train::GradScalerOptions so;
    so.init_scale = 1024;
    so.growth_interval = 2;  // grows within the run, so the scale's device update is exercised
    r.scaler = std::make_unique<train::GradScaler>(so, c10::Device(c10::kCPU));
  }
  return r;
}

// Runs 8 steps two ways and compares after each: same weights (bit for bit), same skip
// decisions, same scale. Steps 1 (the first: SGD's momentum buffer starts on a skipped step)
// and 4 are bad.
void expect_same_both_ways(const std::string& optimizer, bool with_scaler, bool skip_nonfinite, double clip) {
  Run host = make_run(optimizer, with_scaler), device = make_run(optimizer, with_scaler);
  ASSERT_NE(dynamic_cast<optim::FusedStep*>(device.opt.get()), nullptr);
  const std::vector<int> bad = {1, 4};
  const std::string before = repro::weights_sha256(*host.net);
  int skips = 0;
  for (int k = 1; k <= 8; ++k) {
    train::StepOptions o;
    o.grad_clip = clip;
    o.skip_nonfinite = skip_nonfinite;
    o.scaler = host.scaler.get();
    o.skip_on_device = false;
    const train::StepStats h = train::step(*host.net, *host.opt, *kTask, {batch(k, bad)}, o);
    o.scaler = device.scaler.get();
    o.skip_on_device = true;
    const train::StepStats d = train::step(*device.net, *device.opt, *kTask, {batch(k, bad)}, o);
    EXPECT_FALSE(h.skip_flag.defined()) << "step " << k << ": the host path decided on the device";
    EXPECT_TRUE(d.skip_flag.defined()) << "step " << k << ": the device path did not";
    EXPECT_FALSE(d.skipped) << "step " << k;
    const bool expect_skip = k == 1 || k == 4;
    EXPECT_EQ(skipped(h), expect_skip) << "step " << k;
    EXPECT_EQ(skipped(d), expect_skip) << "step " << k;
    skips += skipped(d);
    EXPECT_EQ(repro::weights_sha256(*host.net), repro::weights_sha256(*device.net)) << "step " << k;
    if (with_scaler) {
      EXPECT_EQ(host.scaler->current_scale(), device.scaler->current_scale()) << "step " << k;
      EXPECT_EQ(host.scaler->state().growth_tracker, device.scaler->state().growth_tracker) << "step " << k;
    }
  }
  EXPECT_EQ(skips, 2);
  EXPECT_NE(repro::weights_sha256(*device.net), before) << "the good steps must move the weights";
  if (optimizer == "adamw") {
    // The device-side step counts, brought back to the host: 6 updates, not 8.
    auto& dev = dynamic_cast<optim::FusedAdamW&>(*device.opt);
    dev.sync_steps();
    for (const auto& p : device.net->parameters()) {
      const auto& s = static_cast<const torch::optim::AdamWParamState&>(*dev.state().at(p.unsafeGetTensorImpl()));
      EXPECT_EQ(s.step(), 6);
    }
  }
  if (with_scaler) {
    // 1024, backed off at step 1 (512), grown after steps 2-3 (1024), backed off at 4 (512),
    // grown after 5-6 and 7-8 (2048): the device update followed the formula too.
    EXPECT_EQ(device.scaler->current_scale(), 2048.0);
  }
}

TEST(StepSkip, ScalerSkipOnTheDeviceEqualsTheHostsAdamW) { expect_same_both_ways("adamw", true, false, 0.0); }

TEST(StepSkip, ScalerSkipOnTheDeviceEqualsTheHostsSgdWithClipping) { expect_same_both_ways("sgd", true, false, 0.5); }

TEST(StepSkip, NonfiniteSkipOnTheDeviceEqualsTheHostsAdamWWithClipping) {
  expect_same_both_ways("adamw", false, true, 0.5);
}

TEST(StepSkip, NonfiniteSkipOnTheDeviceEqualsTheHostsSgd) { expect_same_both_ways("sgd", false, true, 0.0); }

TEST(StepSkip, ScalerAndNonfiniteSkipTogether) { expect_same_both_ways("adamw", true, true, 0.5); }

TEST(StepSkip, SgdWithDampeningStaysOnTheHost) {
  // Dampening > 0 starts a momentum buffer differently on a skipped first step: the step
  // must not hand such an optimizer found_inf (it decides on the host instead).
  config::OptimConfig cfg;
  cfg.name = "sgd";
  cfg.fused = "true";
  auto net = tiny_mlp(3);
  auto opt = optim::build(cfg, net->parameters());
  auto* sgd = dynamic_cast<torch::optim::SGD*>(opt.get());
  ASSERT_NE(sgd, nullptr);
  static_cast<torch::optim::SGDOptions&>(sgd->param_groups()[0].options()).dampening(0.1);
  train::StepOptions o;
  o.skip_nonfinite = true;
  const train::StepStats st = train::step(*net, *opt, *kTask, {batch(1, {1})}, o);
  EXPECT_TRUE(st.skipped);
  EXPECT_FALSE(st.skip_flag.defined());
}

}  // namespace
}  // namespace kiln
