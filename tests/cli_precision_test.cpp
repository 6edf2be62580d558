// End-to-end tests of train.precision and model.channels_last on the CPU: bf16, fp16 (with
// its loss scale) and channels-last runs are reproducible (same seed, same weights, for any
// loader.threads), resume exactly after a SIGKILL and `kiln verify` replays them; bf16 trains
// other weights than fp32 (autocast is on); fp16's scale follows the scaler; an unknown
// precision is exit 2.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_helpers.h"

namespace {

using kiln_test::kiln;
using kiln_test::RunResult;
using kiln_test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A small cnn on Fashion-MNIST: 24 steps of 64, checkpoints every 4.
std::vector<std::string> args(const fs::path& run, std::vector<std::string> extra) {
  std::vector<std::string> a = {"train",
                                "--set",
                                "model.name=cnn",
                                "--set",
                                "model.cnn.channels=[4, 8]",
                                "--set",
                                "model.cnn.fc=32",
                                "--set",
                                "data.limit_train=1536",
                                "--set",
                                "data.limit_test=256",
                                "--set",
                                "loader.batch_size=64",
                                "--set",
                                "train.epochs=1",
                                "--set",
                                "checkpoint.every=4",
                                "--set",
                                "log.progress=off",
                                "--json",
                                "--run-dir",
                                run.string()};
  a.insert(a.end(), extra.begin(), extra.end());
  return kiln(a);
}

json train(const std::vector<std::string>& argv, const fs::path& cwd) { return kiln_test::train_summary(argv, cwd); }

std::string weights(const json& summary) { return summary.value("weights_sha256", std::string("(no summary)")); }

#if defined(__SANITIZE_THREAD__)
// LibTorch's OpenMP pool is not instrumented: with two intra-op threads TSan reports races
// inside LibTorch's own kernels (batch norm's channels-last statistics), so under TSan the
// runs keep one and TSan watches the loader's threads, which are what the test varies.
constexpr const char* kIntraOpThreads = "train.threads=1";
#else
constexpr const char* kIntraOpThreads = "train.threads=2";
#endif

// kiln's promise on one machine (docs/reproducibility.md): the same weights for any
// loader.threads at one train.threads, killed and resumed or not, and kiln verify agrees.
void expect_reproducible(const std::vector<std::string>& mode) {
  TempDir tmp("cli-precision");
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> a = mode;
    a.insert(a.end(), {"--set", kIntraOpThreads});
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  const json one = train(args(tmp / "one", with({"--set", "loader.threads=1"})), tmp.path());
  const json two = train(args(tmp / "two", with({"--set", "loader.threads=3"})), tmp.path());
  ASSERT_TRUE(one.contains("weights_sha256")) << one.dump();
  EXPECT_EQ(weights(one), weights(two)) << "loader.threads 1 and 3 gave other weights";
  EXPECT_GT(one.value("test_accuracy", 0.0), 0.3) << "it learned: " << one.dump();

  const fs::path killed = tmp / "killed";
  kiln_test::kill_after_steps(args(killed, with({"--set", "loader.threads=2"})), tmp.path(), killed, 13);
  const json resumed = train(args(killed, with({"--set", "loader.threads=2", "--resume", "auto"})), tmp.path());
  EXPECT_EQ(weights(resumed), weights(one)) << "SIGKILL at step 13 and --resume auto";

  const RunResult v = kiln_test::run(kiln({"verify", (tmp / "two").string(), "--json"}), {tmp.path(), 600s});
  EXPECT_EQ(v.exit_code, 0) << v.describe();
}

TEST(CliPrecision, Bf16IsReproducibleResumableAndVerifies) { expect_reproducible({"--set", "train.precision=bf16"}); }

TEST(CliPrecision, ChannelsLastKeepsTheSamePromises) {
  expect_reproducible({"--set", "train.precision=bf16", "--set", "model.channels_last=true"});
}

// fp32 + channels-last: oneDNN's NHWC kernels end to end (the 1-channel input included,
// data::channels_last), the fastest fp32 layout on the CPU and configs/fashion_cnn.toml's.
TEST(CliPrecision, Fp32ChannelsLastKeepsTheSamePromises) { expect_reproducible({"--set", "model.channels_last=true"}); }

TEST(CliPrecision, Fp16WithItsLossScaleIsReproducibleAndResumable) {
  expect_reproducible({"--set", "train.precision=fp16"});
}

TEST(CliPrecision, Fp16LossScaleFollowsTheScalerAndSkippedStepsAreCounted) {
  TempDir tmp("cli-precision-fp16");
  const fs::path run = tmp / "run";
  const json s = train(args(run, {"--set", "train.precision=fp16"}), tmp.path());
  ASSERT_TRUE(s.contains("loss_scale")) << s.dump();
  const auto steps = kiln_test::metrics_records(run, "step");
  ASSERT_EQ(steps.size(), 24u);
  // PyTorch's defaults: 65536, halved after a step whose gradients overflowed (that step's
  // update skipped), doubled after 2000 good steps in a row (not reached in 24).
  EXPECT_EQ(steps.front()["loss_scale"].get<double>(), 65536.0);
  int64_t skipped = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    const bool skip = steps[i].value("skipped", false);
    skipped += skip ? 1 : 0;
    const double next = i + 1 < steps.size() ? steps[i + 1]["loss_scale"].get<double>() : s["loss_scale"].get<double>();
    EXPECT_EQ(next, skip ? steps[i]["loss_scale"].get<double>() / 2 : steps[i]["loss_scale"].get<double>())
        << "after step " << steps[i]["step"];
  }
  EXPECT_EQ(s["nonfinite_steps"].get<int64_t>(), skipped);
  EXPECT_EQ(s["precision"], "fp16");
}

// The scaler's four knobs reach it: a small start that grows fast, a steep backoff. Each
// record's scale follows from the one before by the GradScaler's rule, with these numbers.
TEST(CliPrecision, Fp16ScalerOptionsComeFromTheConfig) {
  TempDir tmp("cli-precision-fp16-options");
  const fs::path run = tmp / "run";
  const json s = train(args(run, {"--set", "train.precision=fp16", "--set", "train.fp16_init_scale=1024", "--set",
                                  "train.fp16_growth_factor=4", "--set", "train.fp16_backoff_factor=0.125", "--set",
                                  "train.fp16_growth_interval=3"}),
                       tmp.path());
  const auto steps = kiln_test::metrics_records(run, "step");
  ASSERT_EQ(steps.size(), 24u) << s.dump();
  EXPECT_EQ(steps.front()["loss_scale"].get<double>(), 1024.0);
  double scale = 1024;
  int good = 0, grown = 0;
  for (const auto& r : steps) {
    EXPECT_EQ(r["loss_scale"].get<double>(), scale) << "step " << r["step"];
    if (r.value("skipped", false)) {
      scale *= 0.125;
      good = 0;
    } else if (++good == 3) {
      scale *= 4;
      good = 0;
      ++grown;
    }
  }
  EXPECT_EQ(s["loss_scale"].get<double>(), scale);
  EXPECT_GT(grown, 0) << "the interval of 3 was never reached";
}

TEST(CliPrecision, BadScalerOptionsAreExit2NamingTheKey) {
  TempDir tmp("cli-precision-fp16-bad");
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"train.fp16_backoff_factor", "1.5"},
                                                        {"train.fp16_growth_factor", "0.5"},
                                                        {"train.fp16_init_scale", "0"},
                                                        {"train.fp16_growth_interval", "0"}}) {
    const RunResult r =
        kiln_test::run(args(tmp / "run", {"--set", "train.precision=fp16", "--set", key + "=" + value}), {tmp.path()});
    EXPECT_EQ(r.exit_code, 2) << key << "=" << value << ": " << r.describe();
    EXPECT_NE(r.err.find(key), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(tmp / "run")) << key;
  }
}

TEST(CliPrecision, Bf16TrainsOtherWeightsThanFp32AndTheManifestSaysSo) {
  TempDir tmp("cli-precision-differs");
  const json fp32 = train(args(tmp / "fp32", {}), tmp.path());
  const json bf16 = train(args(tmp / "bf16", {"--set", "train.precision=bf16"}), tmp.path());
  ASSERT_TRUE(fp32.contains("weights_sha256") && bf16.contains("weights_sha256"));
  EXPECT_NE(weights(fp32), weights(bf16)) << "autocast did not change a single bit";
  // bf16 keeps 8 mantissa bits: the accuracy of so short a run stays close to fp32's.
  EXPECT_NEAR(bf16.value("test_accuracy", 0.0), fp32.value("test_accuracy", 1.0), 0.1);
  EXPECT_NE(kiln_test::read_file(tmp / "bf16" / "config.toml").find("precision = \"bf16\""), std::string::npos);
}

TEST(CliPrecision, UnknownPrecisionIsExit2NamingTheKey) {
  TempDir tmp("cli-precision-bad");
  const RunResult r = kiln_test::run(args(tmp / "run", {"--set", "train.precision=fp8"}), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("train.precision"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "run"));
}

// A ResNet of width 4 in channels-last has strided 1x1 shortcut convs of 4 input channels,
// whose oneDNN weight gradient hung for good on an AVX2 CPU (train/components.cpp): refused
// up front, exit 2, nothing written. Width 8 (8 input channels there) trains.
TEST(CliPrecision, ChannelsLastResnetWithTooFewChannelsIsExit2) {
  TempDir tmp("cli-precision-cl-resnet");
  auto resnet = [&](const std::string& width, const std::string& dir) {
    return args(tmp / dir, {"--set", "model.name=resnet", "--set", "model.resnet.width=" + width, "--set",
                            "model.channels_last=true", "--set", "data.limit_train=256"});
  };
  const RunResult r = kiln_test::run(resnet("4", "narrow"), {tmp.path(), 120s});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("model.channels_last"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("model.resnet.width >= 8"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "narrow"));
  const json wide = train(resnet("8", "wide"), tmp.path());
  EXPECT_TRUE(wide.contains("weights_sha256")) << wide.dump();
}

}  // namespace
