// train.eval_every: evaluations every N steps and after the last, and exact resume across
// them (a run stopped right after a checkpoint at an evaluation step owes that evaluation).
#include <gtest/gtest.h>

#include <filesystem>
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

// 2 epochs of 24 steps (48), evaluations every 10 steps, a checkpoint after every step (all
// kept), dropout on so the RNG state matters.
std::vector<std::string> run_args(const fs::path& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"train",
                                "--set",
                                "data.limit_train=1536",
                                "--set",
                                "data.limit_test=256",
                                "--set",
                                "loader.batch_size=64",
                                "--set",
                                "train.epochs=2",
                                "--set",
                                "train.eval_every=10",
                                "--set",
                                "model.dropout=0.3",
                                "--set",
                                "checkpoint.every=1",
                                "--set",
                                "checkpoint.keep=100",
                                "--set",
                                "log.progress=off",
                                "--seed",
                                "3",
                                "--json",
                                "--run-dir",
                                dir.string()};
  a.insert(a.end(), extra.begin(), extra.end());
  return kiln(a);
}

std::vector<json> evals(const fs::path& dir) {
  std::vector<json> out;
  for (auto j : kiln_test::metrics_records(dir, "eval")) {
    j.erase("time_s");  // wall time differs between runs; everything else must not
    out.push_back(j);
  }
  return out;
}

json finish(const std::vector<std::string>& argv) {
  const RunResult r = kiln_test::run(argv);
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  return kiln_test::last_json_line(r.out).value_or(json::object());
}

class CliEvalEvery : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("cli-eval-every");
    reference_ = new json(finish(run_args(dir_->path() / "ref")));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete reference_;
  }

  // What a run killed right after step `step`'s checkpoint leaves: the reference's run dir
  // without the later checkpoints, final.pt and summary.json (metrics.jsonl runs ahead; resume
  // trims it). Resumes it from that checkpoint and returns the summary.
  static json resume_after(int step, const fs::path& dir) {
    fs::copy(dir_->path() / "ref", dir, fs::copy_options::recursive);
    char name[32];
    std::snprintf(name, sizeof name, "step-%08d.pt", step);
    for (const auto& e : fs::directory_iterator(dir / "checkpoints")) {
      const std::string f = e.path().filename().string();
      if (f.rfind(name, 0) != 0) fs::remove(e.path());
    }
    fs::remove(dir / "summary.json");
    return finish(kiln({"train", "--resume", (dir / "checkpoints" / name).string(), "--json"}));
  }

  static TempDir* dir_;
  static json* reference_;
};

TempDir* CliEvalEvery::dir_ = nullptr;
json* CliEvalEvery::reference_ = nullptr;

TEST_F(CliEvalEvery, EvaluatesEveryNStepsAndAfterTheLast) {
  const auto e = evals(dir_->path() / "ref");
  std::vector<int64_t> steps;
  for (const auto& r : e) steps.push_back(r["step"].get<int64_t>());
  EXPECT_EQ(steps, (std::vector<int64_t>{10, 20, 30, 40, 48}));
  ASSERT_FALSE(e.empty());
  // The summary reports the last evaluation.
  EXPECT_EQ((*reference_)["test_accuracy"], e.back()["test_accuracy"]);
  EXPECT_EQ((*reference_)["test_loss"], e.back()["test_loss"]);
  EXPECT_EQ((*reference_)["epochs"], 2);
}

TEST_F(CliEvalEvery, ResumeAtAnEvaluationStepRedoesItAndMatches) {
  TempDir tmp("cli-eval-every-20");
  const json resumed = resume_after(20, tmp / "run");
  EXPECT_EQ(resumed.value("weights_sha256", ""), (*reference_)["weights_sha256"]);
  EXPECT_EQ(evals(tmp / "run"), evals(dir_->path() / "ref"));  // step 20's evaluation once, equal
}

TEST_F(CliEvalEvery, ResumeBetweenEvaluationsMatches) {
  TempDir tmp("cli-eval-every-27");
  const json resumed = resume_after(27, tmp / "run");
  EXPECT_EQ(resumed.value("weights_sha256", ""), (*reference_)["weights_sha256"]);
  EXPECT_EQ(evals(tmp / "run"), evals(dir_->path() / "ref"));
}

}  // namespace
