// kiln train under PyTorch's own launcher: `torchrun --nproc-per-node 2 --no-python kiln
// train ...` (the venv's torch), where the elastic agent serves the rendezvous store itself
// (TORCHELASTIC_USE_AGENT_STORE) and restarts the whole job when a rank dies
// (--max-restarts). The same command with `--resume auto` serves the first attempt and the
// restart: the run ends with the weights of a job that was never killed.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>

#include "cli_helpers.h"
#include "dist/launch.h"

namespace {

using kiln_test::kiln;
using kiln_test::RunResult;
using kiln_test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

#if defined(__SANITIZE_THREAD__)
constexpr bool kUnderTsan = true;  // c10d synchronises inside uninstrumented libtorch (cli_dist_test.cpp)
#else
constexpr bool kUnderTsan = false;
#endif

// The venv's torchrun (the torch wheel's own console script, beside KILN_TEST_PYTHON).
fs::path torchrun() { return fs::path(KILN_TEST_PYTHON).parent_path() / "torchrun"; }

std::vector<std::string> train_args(const fs::path& run, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"train",
                                "--set",
                                "data.limit_train=1280",
                                "--set",
                                "data.limit_test=256",
                                "--set",
                                "train.epochs=40",
                                "--set",
                                "train.threads=1",
                                "--set",
                                "log.progress=off",
                                "--set",
                                "loader.batch_size=64",
                                "--set",
                                "model.dropout=0.2",
                                "--seed",
                                "7",
                                "--run-dir",
                                run.string(),
                                "--json"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// torchrun [options] --nproc-per-node 2 --no-python KILN command...
std::vector<std::string> under_torchrun(std::vector<std::string> options, const std::vector<std::string>& command) {
  std::vector<std::string> a = {torchrun().string()};
  a.insert(a.end(), options.begin(), options.end());
  a.insert(a.end(), {"--nproc-per-node", "2", "--no-python"});
  for (const auto& x : kiln(command)) a.push_back(x);
  return a;
}

std::vector<std::string> launch(const std::vector<std::string>& command) {
  std::vector<std::string> a = {"launch", "--nproc-per-node", "2", "--master-port", "0"};
  a.insert(a.end(), command.begin(), command.end());
  return kiln(a);
}

json summary_of(const RunResult& r) {
  const auto j = kiln_test::last_json_line(r.out);
  EXPECT_TRUE(j) << r.describe();
  return j.value_or(json::object());
}

class CliTorchrun : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kUnderTsan) GTEST_SKIP() << "c10d synchronises inside uninstrumented libtorch: TSan cannot judge it";
    if (!fs::exists(torchrun())) GTEST_SKIP() << "no torchrun at " << torchrun() << " (tools/bootstrap.sh installs it)";
  }
  // The uninterrupted job, started by kiln launch: the reference for every torchrun job.
  json reference(const fs::path& run, const std::vector<std::string>& extra = {}) {
    const RunResult r = kiln_test::run(launch(train_args(run, extra)), {run.parent_path(), 300s});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    return summary_of(r);
  }
};

TEST_F(CliTorchrun, TorchrunsJobIsKilnLaunchsJob) {
  TempDir tmp("torchrun");
  const json ref = reference(tmp / "launch");
  const RunResult r =
      kiln_test::run(under_torchrun({"--master-port", std::to_string(kiln::dist::free_port())}, train_args(tmp / "tr")),
                     {tmp.path(), 300s});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const json s = summary_of(r);
  EXPECT_EQ(s["world_size"], 2);
  EXPECT_EQ(s["weights_sha256"], ref["weights_sha256"]);
  EXPECT_EQ(s["loss_trace_sha256"], ref["loss_trace_sha256"]);
  const json m = json::parse(kiln_test::read_file(tmp / "tr" / "manifest.json"));
  EXPECT_EQ(m["world"]["launcher"], "torchrun");
  EXPECT_EQ(m["world"]["ranks"].size(), 2u);
  // The agent serves the store: no rank tried to serve it too (c10d would log its failed bind).
  EXPECT_EQ(r.err.find("has failed to bind"), std::string::npos) << r.err;
}

// kill -9 of rank 1 mid-run; torchrun --max-restarts 1 restarts both ranks with the same
// command, which resumes from the newest checkpoint: `every` = 20 gives periodic ones before
// the kill; `every` = 0 gives none, so the restart resumes from the step-0 checkpoint that
// --resume auto writes when it starts a run.
void killed_and_restarted(const std::string& every, size_t kill_after_steps) {
  TempDir tmp("torchrun");
  const std::vector<std::string> extra = {"--set", "checkpoint.every=" + every};
  const RunResult ref_run = kiln_test::run(launch(train_args(tmp / "whole", extra)), {tmp.path(), 300s});
  ASSERT_EQ(ref_run.exit_code, 0) << ref_run.describe();
  const json ref = summary_of(ref_run);

  const fs::path run = tmp / "run";
  std::vector<std::string> again = extra;
  again.insert(again.end(), {"--resume", "auto"});
  kiln_test::Child job(under_torchrun({"--max-restarts", "1", "--master-port", std::to_string(kiln::dist::free_port())},
                                      train_args(run, again)),
                       {tmp.path()});
  ASSERT_TRUE(job.wait_for_output(
      [&](const std::string&, const std::string&) {
        return kiln_test::metrics_records(run, "step").size() >= kill_after_steps;
      },
      120s))
      << job.err_so_far();
  const json m = json::parse(kiln_test::read_file(run / "manifest.json"));
  const int rank1 = m["world"]["ranks"][1]["pid"];
  ASSERT_EQ(::kill(rank1, SIGKILL), 0);
  const RunResult r = job.wait(300s);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("nothing in " + run.string() + " yet, so the run starts there"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("resuming " + run.string() + " from step-"), std::string::npos) << r.err;
  const json s = summary_of(r);
  EXPECT_EQ(s["steps"], 400);
  EXPECT_EQ(s["weights_sha256"], ref["weights_sha256"]) << "the restarted job continued the run exactly";
  EXPECT_EQ(s["loss_trace_sha256"], ref["loss_trace_sha256"]);
  EXPECT_EQ(json::parse(kiln_test::read_file(run / "manifest.json"))["status"], "finished");
}

TEST_F(CliTorchrun, MaxRestartsWithResumeAutoContinuesFromTheNewestCheckpoint) { killed_and_restarted("20", 45); }

TEST_F(CliTorchrun, MaxRestartsWithResumeAutoContinuesFromStepZeroBeforeAnyCheckpoint) {
  killed_and_restarted("0", 30);
}

}  // namespace
