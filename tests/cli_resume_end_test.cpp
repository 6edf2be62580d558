// End-to-end tests of the "killed between two writes" windows at a run's end: after the last
// step's checkpoint, while writing final.pt, between final.pt and summary.json. Each resume
// must finish the end exactly as the unbroken run did (evaluation, epochs, samples/s, the
// weights), and remove the temp files a killed writer left.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

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

// 12 steps over 2 epochs (6 batches of 64 each), a checkpoint every 4 steps: the last
// checkpoint is at the last step, as a run killed after it leaves things.
std::vector<std::string> run_args(const fs::path& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"train",
                                "--set",
                                "data.limit_train=384",
                                "--set",
                                "data.limit_test=200",
                                "--set",
                                "loader.batch_size=64",
                                "--set",
                                "train.epochs=2",
                                "--set",
                                "model.mlp.hidden=[64]",
                                "--set",
                                "checkpoint.every=4",
                                "--set",
                                "checkpoint.keep=2",
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

json train(const std::vector<std::string>& argv, const fs::path& cwd, RunResult* out = nullptr) {
  const RunResult r = kiln_test::run(argv, {cwd});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  if (out) *out = r;
  return kiln_test::last_json_line(r.out).value_or(json::object());
}

// The pid of a process that has exited (so no process owns a temp file named after it).
pid_t dead_pid() {
  const pid_t p = fork();
  if (p == 0) _exit(0);
  int status = 0;
  waitpid(p, &status, 0);
  return p;
}

void expect_same_end(const json& resumed, const json& ref) {
  for (const char* k : {"weights_sha256", "loss_trace_sha256", "steps", "epochs", "test_accuracy", "test_loss"}) {
    EXPECT_EQ(resumed.value(k, json()), ref.value(k, json())) << k;
  }
  EXPECT_GT(resumed.value("samples_per_s", 0.0), 0.0);
  EXPECT_GT(resumed.value("train_seconds", 0.0), 0.0);
}

class CliResumeEnd : public testing::Test {
 protected:
  void SetUp() override {
    ref_ = train(run_args(tmp_ / "ref"), tmp_.path());
    ASSERT_EQ(ref_.value("steps", 0), 12);
    ASSERT_EQ(ref_.value("epochs", 0), 2);
    run_ = tmp_ / "run";
    train(run_args(run_), tmp_.path());
    ASSERT_TRUE(fs::exists(run_ / "checkpoints" / "step-00000012.pt"));
  }
  json resume(RunResult* r = nullptr) { return train(run_args(run_, {"--resume", "auto"}), tmp_.path(), r); }
  void remove(const std::string& rel) {
    fs::remove(run_ / rel);
    fs::remove(run_ / (rel + ".sha256"));
  }

  TempDir tmp_{"cli-resume-end"};
  fs::path run_;
  json ref_;
};

TEST_F(CliResumeEnd, KilledAfterTheLastCheckpointFinishesTheEnd) {
  remove("checkpoints/final.pt");
  fs::remove(run_ / "summary.json");
  expect_same_end(resume(), ref_);
  EXPECT_TRUE(fs::exists(run_ / "summary.json"));
}

TEST_F(CliResumeEnd, KilledWhileWritingFinalPtRemovesItsTempFile) {
  remove("checkpoints/final.pt");
  fs::remove(run_ / "summary.json");
  const fs::path partial = run_ / "checkpoints" / (".final.pt.tmp." + std::to_string(dead_pid()));
  kiln_test::write_file(partial, "half a checkpoint");
  const fs::path partial_summary = run_ / (".summary.json.tmp." + std::to_string(dead_pid()));
  kiln_test::write_file(partial_summary, "{");
  RunResult r;
  expect_same_end(resume(&r), ref_);
  EXPECT_FALSE(fs::exists(partial)) << r.err;
  EXPECT_FALSE(fs::exists(partial_summary)) << r.err;
  EXPECT_NE(r.err.find("left by a killed run"), std::string::npos) << r.err;
}

TEST_F(CliResumeEnd, KilledBetweenFinalPtAndSummaryResumesFromFinalPt) {
  fs::remove(run_ / "summary.json");
  // Only final.pt is left: the end is resumed from it, not from a step checkpoint.
  for (const auto& e : fs::directory_iterator(run_ / "checkpoints")) {
    if (e.path().filename().string().rfind("step-", 0) == 0) fs::remove(e.path());
  }
  RunResult r;
  expect_same_end(resume(&r), ref_);
  EXPECT_NE(r.err.find("from final.pt"), std::string::npos) << r.err;
}

TEST_F(CliResumeEnd, ResumingAFinishedRunReproducesItsSummary) {
  expect_same_end(resume(), ref_);
  // One evaluation per epoch, not a second one for the last.
  int evals = 0;
  for (const auto& line : kiln_test::split_lines(kiln_test::read_file(run_ / "metrics.jsonl"))) {
    evals += json::parse(line, nullptr, false).value("type", "") == "eval";
  }
  EXPECT_EQ(evals, 2);
}

}  // namespace
