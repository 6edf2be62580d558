// End-to-end tests of optim.fused: `kiln train` with the fused optimizers and with
// LibTorch's both run and each is reproducible (same seed, same weights_sha256); the run
// dir's config.toml keeps the setting; a bad value is exit 2; `kiln bench optim` prints its
// figures as one JSON line.
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

// 1024 samples in batches of 64: 16 steps of one epoch.
std::vector<std::string> small_run(const std::string& optimizer, const std::string& fused, const fs::path& dir) {
  return kiln({"train",
               "--set",
               "data.limit_train=1024",
               "--set",
               "data.limit_test=256",
               "--set",
               "train.epochs=1",
               "--set",
               "loader.batch_size=64",
               "--set",
               "log.progress=off",
               "--set",
               "optim.name=" + optimizer,
               "--set",
               "optim.weight_decay=0.01",
               "--set",
               "optim.fused=" + fused,
               "--seed",
               "3",
               "--json",
               "--run-dir",
               dir.string()});
}

TEST(CliFused, TrainRunsAndIsReproducibleFusedAndNot) {
  TempDir tmp("cli-fused");
  for (const std::string optimizer : {"adamw", "sgd"}) {
    std::string hash[2];
    int i = 0;
    for (const std::string fused : {"true", "false"}) {
      const fs::path a = tmp / (optimizer + "-" + fused + "-a"), b = tmp / (optimizer + "-" + fused + "-b");
      const json ra = kiln_test::train_summary(small_run(optimizer, fused, a), tmp.path());
      const json rb = kiln_test::train_summary(small_run(optimizer, fused, b), tmp.path());
      ASSERT_TRUE(ra.contains("weights_sha256")) << ra.dump();
      EXPECT_EQ(ra["weights_sha256"], rb["weights_sha256"]) << optimizer << " fused=" << fused;
      EXPECT_NE(kiln_test::read_file(a / "config.toml").find("fused = " + fused), std::string::npos)
          << optimizer << " fused=" << fused;
      hash[i++] = ra["weights_sha256"];
    }
    std::cout << "[ " << optimizer << ": fused and unfused weights " << (hash[0] == hash[1] ? "identical" : "differ")
              << " ]\n";
  }
}

TEST(CliFused, BadValueIsUsageError) {
  TempDir tmp("cli-fused-bad");
  const RunResult r =
      kiln_test::run(kiln({"train", "--set", "optim.fused=yes", "--run-dir", (tmp / "r").string()}), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("optim.fused"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("auto, true, false"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "r"));
}

TEST(CliBench, OptimPrintsFiguresAsJson) {
  TempDir tmp("cli-bench-optim");
  const RunResult r = kiln_test::run(kiln({"bench", "optim", "--set", "model.name=cnn", "--steps", "3", "--repeats",
                                           "1", "--set", "train.device=cpu"}),
                                     {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto j = kiln_test::last_json_line(r.out);
  ASSERT_TRUE(j.has_value()) << r.describe();
  EXPECT_EQ((*j)["device"], "cpu");
  EXPECT_EQ((*j)["model"], "cnn");
  EXPECT_GT((*j)["parameters"].get<int64_t>(), 0);
  for (const char* name : {"adamw", "sgd"}) {
    for (const char* k : {"unfused_ms", "fused_ms", "speedup"}) {
      ASSERT_TRUE((*j)[name][k].is_number()) << name << " " << k;
      EXPECT_GT((*j)[name][k].get<double>(), 0.0) << name << " " << k;
    }
  }
  EXPECT_TRUE(kiln_test::tree(tmp.path()).empty()) << "the bench wrote files";
}

}  // namespace
