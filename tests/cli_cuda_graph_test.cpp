// train.cuda_graph end to end. On any machine: what cannot be captured is refused with exit 2
// naming the key and writing nothing. On a GPU (skipped without one): a graphed run keeps
// kiln's promises (same seed, same weights; SIGKILL + --resume auto gives the uninterrupted
// weights; kiln verify agrees), with fp16's scaler and with dropout's RNG inside the graph,
// and follows the eager run's losses.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <cmath>
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

// A small cnn on Fashion-MNIST: 24 steps of 64 (1536 samples, drop_last), checkpoints every 4.
std::vector<std::string> args(const fs::path& run, const std::string& device, std::vector<std::string> extra) {
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
                                "loader.drop_last=true",
                                "--set",
                                "train.epochs=1",
                                "--set",
                                "train.device=" + device,
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

void expect_refused(const std::vector<std::string>& extra, const std::string& device, const std::string& says) {
  TempDir tmp("cli-cuda-graph-refused");
  std::vector<std::string> more = {"--set", "train.cuda_graph=true"};
  more.insert(more.end(), extra.begin(), extra.end());
  const RunResult r = kiln_test::run(args(tmp / "run", device, more), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("train.cuda_graph"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(says), std::string::npos) << "expected '" << says << "' in: " << r.err;
  EXPECT_FALSE(fs::exists(tmp / "run")) << "a refused run wrote its dir";
}

TEST(CliCudaGraph, RefusedOnTheCpuNamingTheDevice) { expect_refused({}, "cpu", "needs a CUDA device"); }

TEST(CliCudaGraph, RefusesAPartialLastBatch) {
  expect_refused({"--set", "loader.drop_last=false"}, "cpu", "loader.drop_last = true");
}

TEST(CliCudaGraph, RefusesAnUnfusedOptimizer) { expect_refused({"--set", "optim.fused=false"}, "cpu", "fused"); }

TEST(CliCudaGraph, RefusesAGradAccumThatLeavesAShortLastStep) {
  // 24 batches an epoch: 5 micro-batches a step would leave a last step of 4.
  expect_refused({"--set", "train.grad_accum=5"}, "cpu", "does not divide the 24 batches");
}

// ---- on a GPU -------------------------------------------------------------------------

std::string weights(const json& summary) { return summary.value("weights_sha256", std::string("(no summary)")); }

void expect_graphed_run_keeps_the_promises(const std::vector<std::string>& mode) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "needs a CUDA device (none visible)";
  TempDir tmp("cli-cuda-graph");
  std::vector<std::string> m = {"--set", "train.cuda_graph=true"};
  m.insert(m.end(), mode.begin(), mode.end());
  const json a = kiln_test::train_summary(args(tmp / "a", "cuda", m), tmp.path());
  const json b = kiln_test::train_summary(args(tmp / "b", "cuda", m), tmp.path());
  ASSERT_TRUE(a.contains("weights_sha256")) << a.dump();
  EXPECT_EQ(weights(a), weights(b)) << "two graphed runs with one seed";
  EXPECT_GT(a.value("test_accuracy", 0.0), 0.3) << "it learned: " << a.dump();

  const fs::path killed = tmp / "killed";
  kiln_test::kill_after_steps(args(killed, "cuda", m), tmp.path(), killed, 13);
  std::vector<std::string> resume = m;
  resume.insert(resume.end(), {"--resume", "auto"});
  const json r = kiln_test::train_summary(args(killed, "cuda", resume), tmp.path());
  EXPECT_EQ(weights(r), weights(a)) << "SIGKILL at step 13 and --resume auto";

  const RunResult v = kiln_test::run(kiln({"verify", (tmp / "b").string(), "--json"}), {tmp.path(), 600s});
  EXPECT_EQ(v.exit_code, 0) << v.describe();
}

TEST(CliCudaGraph, Fp32GraphKeepsThePromises) { expect_graphed_run_keeps_the_promises({}); }

TEST(CliCudaGraph, Fp16WithItsScalerInTheGraphKeepsThePromises) {
  expect_graphed_run_keeps_the_promises({"--set", "train.precision=fp16"});
}

TEST(CliCudaGraph, DropoutInTheGraphKeepsThePromises) {
  // The CUDA generator's draws inside the graph: each replay must draw new numbers, and a
  // resumed run the same ones as the uninterrupted run.
  expect_graphed_run_keeps_the_promises({"--set", "model.dropout=0.3", "--set", "schedule.name=onecycle"});
}

// The graph runs the eager step's kernels: the losses agree closely. Not asserted bit for
// bit: nothing promises that a captured kernel picks the eager one's algorithm (cuBLAS may
// choose by workspace); 1e-4 relative is far below a changed step's effect (1e-2 or more).
TEST(CliCudaGraph, FollowsTheEagerRun) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "needs a CUDA device (none visible)";
  TempDir tmp("cli-cuda-graph-eager");
  const json g = kiln_test::train_summary(args(tmp / "graph", "cuda", {"--set", "train.cuda_graph=true"}), tmp.path());
  const json e = kiln_test::train_summary(args(tmp / "eager", "cuda", {}), tmp.path());
  ASSERT_TRUE(g.contains("weights_sha256") && e.contains("weights_sha256"));
  const auto gs = kiln_test::metrics_records(tmp / "graph", "step");
  const auto es = kiln_test::metrics_records(tmp / "eager", "step");
  ASSERT_EQ(gs.size(), 24u);
  ASSERT_EQ(es.size(), 24u);
  for (size_t i = 0; i < gs.size(); ++i) {
    const double lg = gs[i]["loss"].get<double>(), le = es[i]["loss"].get<double>();
    EXPECT_LE(std::abs(lg - le), 1e-4 * std::abs(le)) << "step " << i + 1 << ": graph " << lg << ", eager " << le;
    EXPECT_EQ(gs[i]["lr"], es[i]["lr"]) << "the schedule reached the graph";
  }
}

}  // namespace
