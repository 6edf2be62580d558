// End-to-end tests of train.on_nonfinite: a run that diverges (SGD at lr 10) stops with
// exit 4 naming the step and the last good checkpoint (stop, the default), skips the bad
// updates reproducibly (skip), or goes on with a warning (ignore).
#include <gtest/gtest.h>

#include <algorithm>
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

std::vector<std::string> diverging(const fs::path& dir, const std::string& policy,
                                   std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"train",
                                "--set",
                                "data.limit_train=1280",
                                "--set",
                                "data.limit_test=200",
                                "--set",
                                "loader.batch_size=64",
                                "--set",
                                "train.epochs=2",
                                "--set",
                                "model.mlp.hidden=[64]",
                                "--set",
                                "checkpoint.every=5",
                                "--set",
                                "log.every=3",
                                "--set",
                                "log.progress=off",
                                "--set",
                                "optim.name=sgd",
                                "--set",
                                "optim.lr=10",
                                "--set",
                                "schedule.name=constant",
                                "--set",
                                "train.on_nonfinite=" + policy,
                                "--seed",
                                "1",
                                "--json",
                                "--run-dir",
                                dir.string()};
  a.insert(a.end(), extra.begin(), extra.end());
  return kiln(a);
}

std::vector<json> steps(const fs::path& dir) { return kiln_test::metrics_records(dir, "step"); }

TEST(CliNonfinite, StopExits4NamingTheStepAndTheLastGoodCheckpoint) {
  TempDir tmp("cli-nonfinite-stop");
  // Some 30 finite steps (checkpoints every 5) before the weights blow up.
  const fs::path dir = tmp / "run";
  const RunResult r = kiln_test::run(diverging(dir, "stop"), {tmp.path()});
  ASSERT_EQ(r.exit_code, 4) << r.describe();
  EXPECT_NE(r.err.find("training diverged"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("at step "), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "summary.json"));
  // No checkpoint holds nan weights: the newest one left loads and resumes with a sane lr.
  EXPECT_FALSE(fs::exists(dir / "checkpoints" / "final.pt"));
  // metrics.jsonl shows the bad step (null loss); the newest checkpoint is before it.
  int64_t first_bad = 0;
  for (const auto& s : steps(dir)) {
    if (s["loss"].is_null() && first_bad == 0) first_bad = s["step"].get<int64_t>();
  }
  ASSERT_GT(first_bad, 5);
  EXPECT_NE(r.err.find("at step " + std::to_string(first_bad) + " "), std::string::npos) << r.err;
  // The named checkpoint holds weights that went on to give a finite loss: at most step
  // first_bad - 2 (the weights after step first_bad - 1 gave the bad loss).
  const std::string tag = "last good checkpoint is ";
  const size_t at = r.err.find(tag);
  ASSERT_NE(at, std::string::npos) << r.err;
  const std::string named =
      r.err.substr(at + tag.size(), r.err.find_first_of(" \n", at + tag.size()) - at - tag.size());
  ASSERT_TRUE(fs::exists(named)) << named;
  const int64_t named_step = std::stoll(fs::path(named).filename().string().substr(5));
  EXPECT_GT(named_step, 0);
  EXPECT_LE(named_step, first_bad - 2);
  EXPECT_NE(r.err.find("--resume " + named + " "), std::string::npos) << r.err;
  // That checkpoint is sound: resumed from it as the hint says, with a sane lr, the run finishes.
  const RunResult resumed = kiln_test::run(
      diverging(dir, "stop", {"--resume", named, "--allow-config-change", "--set", "optim.lr=0.01"}), {tmp.path()});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.describe();
}

TEST(CliNonfinite, StopIsTheDefault) {
  TempDir tmp("cli-nonfinite-default");
  std::vector<std::string> a = {"train",
                                "--set",
                                "data.limit_train=1280",
                                "--set",
                                "loader.batch_size=64",
                                "--set",
                                "train.epochs=2",
                                "--set",
                                "model.mlp.hidden=[64]",
                                "--set",
                                "optim.name=sgd",
                                "--set",
                                "optim.lr=10",
                                "--set",
                                "schedule.name=constant",
                                "--set",
                                "log.progress=off",
                                "--seed",
                                "1",
                                "--run-dir",
                                (tmp / "run").string()};
  const RunResult r = kiln_test::run(kiln(a), {tmp.path()});
  EXPECT_EQ(r.exit_code, 4) << r.describe();
}

TEST(CliNonfinite, SkipFinishesCountsTheStepsAndIsReproducible) {
  TempDir tmp("cli-nonfinite-skip");
  const std::vector<std::string> lr;
  const RunResult a = kiln_test::run(diverging(tmp / "a", "skip", lr), {tmp.path()});
  ASSERT_EQ(a.exit_code, 0) << a.describe();
  const json ja = kiln_test::last_json_line(a.out).value_or(json::object());
  EXPECT_GT(ja.value("nonfinite_steps", 0), 0);
  EXPECT_EQ(ja.value("steps", 0), 40);
  int skipped = 0;
  for (const auto& s : steps(tmp / "a")) skipped += s.value("skipped", false);
  EXPECT_EQ(skipped, ja.value("nonfinite_steps", -1));
  EXPECT_NE(a.err.find("update was skipped"), std::string::npos) << a.err;
  // Skipping keeps same seed, same weights.
  const RunResult b = kiln_test::run(diverging(tmp / "b", "skip", lr), {tmp.path()});
  ASSERT_EQ(b.exit_code, 0) << b.describe();
  EXPECT_EQ(kiln_test::last_json_line(b.out).value_or(json::object()).value("weights_sha256", "b"),
            ja.value("weights_sha256", "a"));
}

TEST(CliNonfinite, IgnoreGoesOnWithAWarning) {
  TempDir tmp("cli-nonfinite-ignore");
  const RunResult r = kiln_test::run(diverging(tmp / "run", "ignore"), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("train.on_nonfinite = ignore"), std::string::npos) << r.err;
  EXPECT_GT(kiln_test::last_json_line(r.out).value_or(json::object()).value("nonfinite_steps", 0), 0);
}

TEST(CliNonfinite, BadPolicyIsUsageError) {
  TempDir tmp("cli-nonfinite-bad");
  const RunResult r = kiln_test::run(diverging(tmp / "run", "carry_on"), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("train.on_nonfinite"), std::string::npos) << r.err;
}

}  // namespace
