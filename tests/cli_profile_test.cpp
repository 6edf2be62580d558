// End-to-end tests of `kiln profile` and `kiln train --profile-steps`: the real binary on a
// tiny slice of Fashion-MNIST; the report's numbers are consistent, trace.json is a valid
// Chrome trace holding every phase, and bad arguments exit 2 writing nothing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cli_helpers.h"

namespace {

using kiln_test::kiln;
using kiln_test::read_file;
using kiln_test::RunResult;
using kiln_test::TempDir;
using kiln_test::tree;
using nlohmann::json;
namespace fs = std::filesystem;

// 512 train samples in batches of 64: 8 steps an epoch, 3 epochs (24 steps); a checkpoint
// every 5 steps so the checkpoint phase falls inside the window.
std::vector<std::string> tiny(const std::string& cmd, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {cmd,
                                "--set",
                                "data.limit_train=512",
                                "--set",
                                "data.limit_test=256",
                                "--set",
                                "train.epochs=3",
                                "--set",
                                "loader.batch_size=64",
                                "--set",
                                "log.progress=off",
                                "--set",
                                "checkpoint.every=5"};
  a.insert(a.end(), extra.begin(), extra.end());
  return kiln(a);
}

const json* phase(const json& profile, const std::string& name) {
  for (const auto& p : profile["phases"]) {
    if (p["name"] == name) return &p;
  }
  return nullptr;
}

// Window 5..20 covers all of epoch 2 (steps 9..16) with its evaluation, and the
// checkpoints at steps 5, 10, 15, 20.
TEST(CliProfile, ReportAndTraceAreConsistent) {
  TempDir tmp("profile");
  const fs::path out = tmp / "out";
  const RunResult r =
      kiln_test::run(tiny("profile", {"--warmup", "4", "--steps", "16", "--out", out.string(), "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto summary = kiln_test::last_json_line(r.out);
  ASSERT_TRUE(summary) << r.describe();
  EXPECT_EQ((*summary)["steps"], 16);
  EXPECT_EQ((*summary)["warmup"], 4);
  EXPECT_GT((*summary)["samples_per_s"].get<double>(), 0);
  EXPECT_NE(r.err.find("verdict"), std::string::npos) << "the table is printed on stderr";

  const json p = json::parse(read_file(out / "profile.json"));
  EXPECT_EQ(p["window"]["first_step"], 5);
  EXPECT_EQ(p["window"]["last_step"], 20);
  const json* step = phase(p, "step");
  ASSERT_NE(step, nullptr);
  EXPECT_EQ((*step)["count"], 16);
  const double step_ms = (*step)["mean_ms"];
  EXPECT_GT(step_ms, 0);
  EXPECT_LE((*step)["p50_ms"].get<double>(), (*step)["p95_ms"].get<double>());
  EXPECT_DOUBLE_EQ(p["step_mean_ms"].get<double>(), step_ms);
  EXPECT_NEAR((*summary)["samples_per_s"].get<double>(), p["samples_per_s"].get<double>(), 1e-6);
  // 16 steps of 64 samples.
  EXPECT_EQ(p["samples"], 16 * 64);

  // The phases inside a step are nested in its range, so per step they add up to at most
  // the step; their means therefore sum to at most the step's mean (1 us of slack for
  // clock rounding). What they leave out (learning-rate update, metrics bookkeeping) is
  // small next to forward + backward + update, so they cover most of it: the 50 % bound
  // leaves room for a loaded CI machine while still catching a phase that went missing.
  double inner = 0;
  for (const char* n : {"data_wait", "forward", "backward", "optimizer", "checkpoint"}) {
    const json* ph = phase(p, n);
    ASSERT_NE(ph, nullptr) << n;
    inner += (*ph)["mean_ms"].get<double>();
    EXPECT_NEAR((*ph)["share"].get<double>(), (*ph)["mean_ms"].get<double>() / step_ms, 1e-9) << n;
  }
  EXPECT_LE(inner, step_ms + 1e-3);
  EXPECT_GE(inner, 0.5 * step_ms);
  EXPECT_EQ((*phase(p, "checkpoint"))["count"], 16) << "a per-step phase counts every step";
  EXPECT_EQ((*phase(p, "eval"))["count"], 2) << "evaluations after steps 8 and 16";
  EXPECT_EQ((*phase(p, "epoch"))["count"], 1) << "only epoch 2 lies wholly in the window";
  EXPECT_TRUE(p["verdict"]["kind"] == "compute-bound" || p["verdict"]["kind"] == "data-bound" ||
              p["verdict"]["kind"] == "launch-bound");
  EXPECT_FALSE(p["verdict"]["reason"].get<std::string>().empty());

  // trace.json: Chrome trace event format, every phase present, loader threads named.
  const json t = json::parse(read_file(out / "trace.json"));
  ASSERT_TRUE(t["traceEvents"].is_array());
  std::set<std::string> names, threads;
  for (const auto& e : t["traceEvents"]) {
    ASSERT_TRUE(e.contains("ph") && e.contains("pid") && e.contains("tid") && e.contains("name")) << e.dump();
    if (e["ph"] == "X") {
      EXPECT_GE(e["dur"].get<double>(), 0) << e.dump();
      EXPECT_GE(e["ts"].get<double>(), 0) << e.dump();
      names.insert(e["name"]);
    } else if (e["ph"] == "M" && e["name"] == "thread_name") {
      threads.insert(e["args"]["name"]);
    }
  }
  std::vector<std::string> expected = {"epoch",     "step", "data_wait",  "forward",   "backward",
                                       "optimizer", "eval", "checkpoint", "load_batch"};
  if (p["device"].get<std::string>().rfind("cuda", 0) == 0) expected.push_back("h2d_copy");
  for (const auto& n : expected) EXPECT_TRUE(names.count(n)) << "trace.json lacks " << n;
  EXPECT_TRUE(threads.count("kiln loader 0")) << "loader threads name themselves";
}

TEST(CliProfile, CpuRunNotesTelemetryAbsence) {
  TempDir tmp("profile");
  const fs::path out = tmp / "out";
  const RunResult r = kiln_test::run(
      tiny("profile", {"--set", "train.device=cpu", "--warmup", "1", "--steps", "2", "--out", out.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const json p = json::parse(read_file(out / "profile.json"));
  EXPECT_EQ(p["telemetry"]["available"], false);
  EXPECT_NE(p["telemetry"]["note"].get<std::string>().find("no GPU telemetry"), std::string::npos);
  EXPECT_EQ(p["timing"], "host_clock");
  EXPECT_EQ(p["peak_memory"]["kind"], "host_max_rss");
  EXPECT_GT(p["peak_memory"]["bytes"].get<double>(), 0);
}

TEST(CliProfile, TorchTraceIsAChromeTraceOfLibTorchOps) {
  TempDir tmp("profile");
  const fs::path out = tmp / "out";
  const RunResult r =
      kiln_test::run(tiny("profile", {"--warmup", "1", "--steps", "2", "--out", out.string(), "--torch-trace"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const json t = json::parse(read_file(out / "torch_trace.json"));
  ASSERT_TRUE(t["traceEvents"].is_array());
  bool addmm = false;
  for (const auto& e : t["traceEvents"]) addmm = addmm || e.value("name", "").find("addmm") != std::string::npos;
  EXPECT_TRUE(addmm) << "the MLP's linear layers run aten::addmm in the window";
}

// Bad arguments: exit 2, a message naming the problem, nothing written.
void expect_refused(const std::vector<std::string>& extra, const std::string& needle) {
  TempDir tmp("profile");
  const auto before = tree(tmp.path());
  std::vector<std::string> args = extra;
  const RunResult r = kiln_test::run(tiny("profile", args), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.describe();
  EXPECT_EQ(tree(tmp.path()), before) << "a refused profile wrote something";
}

TEST(CliProfile, StepsZeroIsUsageError) { expect_refused({"--steps", "0", "--out", "o"}, "--steps"); }
TEST(CliProfile, NegativeWarmupIsUsageError) { expect_refused({"--warmup", "-1", "--out", "o"}, "--warmup"); }
TEST(CliProfile, UnwritableOutIsUsageError) {
  TempDir tmp("profile");
  kiln_test::write_file(tmp / "file", "x");
  // A path below a regular file can never be created.
  expect_refused({"--out", (tmp / "file" / "sub").string()}, "cannot be written");
}
TEST(CliProfile, TorchTraceWithNvtxOpsIsUsageError) {
  expect_refused({"--torch-trace", "--nvtx-ops", "--out", "o"}, "cannot be combined");
}
TEST(CliProfile, BadNsysModeIsUsageError) { expect_refused({"--nsys=sometimes", "--out", "o"}, "--nsys"); }

TEST(CliProfile, NsysPrintsACommandCapturingOnlyTheWindow) {
  TempDir tmp("profile");
  const RunResult r = kiln_test::run(tiny("profile", {"--nsys", "--steps", "7", "--out", "o"}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("nsys profile --capture-range=cudaProfilerApi"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--steps 7"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(" --nsys"), std::string::npos) << "the child must not recurse: " << r.err;
  EXPECT_FALSE(fs::exists(tmp / "o" / "profile.json")) << "printing the command runs nothing";
}

// kiln bench scopes: the instrumentation's cost per scope as one JSON line; nothing written.
TEST(CliBenchScopes, PrintsCostsPerScope) {
  TempDir tmp("cli-bench-scopes");
  const RunResult r = kiln_test::run(kiln({"bench", "scopes", "--calls", "2000", "--device", "cpu"}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto j = kiln_test::last_json_line(r.out);
  ASSERT_TRUE(j.has_value()) << r.describe();
  EXPECT_EQ((*j)["calls"], 2000);
  EXPECT_EQ((*j)["device"], "cpu");
  EXPECT_GT((*j)["off_ns"].get<double>(), 0.0);
  EXPECT_GT((*j)["window_ns"].get<double>(), 0.0);
  EXPECT_TRUE(tree(tmp.path()).empty());
}

TEST(CliBenchScopes, BadDeviceIsUsageError) {
  TempDir tmp("cli-bench-scopes-bad");
  const RunResult r = kiln_test::run(kiln({"bench", "scopes", "--device", "gpu"}), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("--device"), std::string::npos) << r.err;
}

TEST(CliTrainProfileSteps, WritesTheTableIntoTheRunDir) {
  TempDir tmp("profile");
  const fs::path run_dir = tmp / "run";
  const RunResult r = kiln_test::run(tiny("train", {"--profile-steps", "3:6", "--run-dir", run_dir.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const json p = json::parse(read_file(run_dir / "profile" / "profile.json"));
  EXPECT_EQ(p["window"]["first_step"], 3);
  EXPECT_EQ(p["window"]["last_step"], 6);
  EXPECT_EQ((*phase(p, "step"))["count"], 4);
  EXPECT_TRUE(fs::exists(run_dir / "profile" / "trace.json"));
  EXPECT_TRUE(fs::exists(run_dir / "summary.json")) << "the run itself went on to the end";
}

// A resumed run continues after its checkpoint's step: a window wholly behind it is refused
// before the run dir changes; one that overlaps it starts at the first step still ahead.
TEST(CliTrainProfileSteps, ResumedRunCutsOrRefusesTheWindow) {
  TempDir tmp("profile-resume");
  const fs::path run_dir = tmp / "run";
  ASSERT_EQ(kiln_test::run(tiny("train", {"--set", "checkpoint.keep=10", "--run-dir", run_dir.string()})).exit_code, 0);
  fs::path ckpt10;
  for (const auto& e : fs::directory_iterator(run_dir / "checkpoints")) {
    if (e.path().filename().string().find("step-") == 0 &&
        e.path().filename().string().find("10.pt") != std::string::npos) {
      ckpt10 = e.path();
    }
  }
  ASSERT_FALSE(ckpt10.empty()) << "no step-10 checkpoint in " << (run_dir / "checkpoints");
  const std::string metrics_before = read_file(run_dir / "metrics.jsonl");

  const RunResult behind = kiln_test::run(tiny("train", {"--resume", ckpt10.string(), "--profile-steps", "3:10"}));
  EXPECT_EQ(behind.exit_code, 2) << behind.describe();
  EXPECT_NE(behind.err.find("continues after step 10"), std::string::npos) << behind.err;
  EXPECT_NE(behind.err.find("--profile-steps 11:"), std::string::npos) << behind.err;
  EXPECT_EQ(read_file(run_dir / "metrics.jsonl"), metrics_before) << "a refused resume changed the run";
  EXPECT_FALSE(fs::exists(run_dir / "profile"));

  const RunResult cut = kiln_test::run(tiny("train", {"--resume", ckpt10.string(), "--profile-steps", "8:14"}));
  ASSERT_EQ(cut.exit_code, 0) << cut.describe();
  EXPECT_NE(cut.err.find("start at step 11"), std::string::npos) << cut.err;
  const json p = json::parse(read_file(run_dir / "profile" / "profile.json"));
  EXPECT_EQ(p["window"]["first_step"], 11);
  EXPECT_EQ(p["window"]["last_step"], 14);
  EXPECT_EQ((*phase(p, "step"))["count"], 4);
}

TEST(CliTrainProfileSteps, WindowPastTheEndIsUsageErrorWritingNothing) {
  TempDir tmp("profile");
  const RunResult r = kiln_test::run(
      tiny("train", {"--set", "train.max_steps=10", "--profile-steps", "20:30", "--run-dir", (tmp / "run").string()}));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("ends at step 10"), std::string::npos) << r.describe();
  EXPECT_FALSE(fs::exists(tmp / "run")) << "a refused run writes nothing";
}

TEST(CliTrainProfileSteps, BadRangeIsUsageError) {
  for (const std::string bad : {"5", "0:3", "6:3", "a:b", "3:"}) {
    TempDir tmp("profile");
    const RunResult r = kiln_test::run(tiny("train", {"--profile-steps", bad, "--run-dir", (tmp / "run").string()}));
    EXPECT_EQ(r.exit_code, 2) << bad << "\n" << r.describe();
    EXPECT_NE(r.err.find("--profile-steps"), std::string::npos) << r.describe();
    EXPECT_FALSE(fs::exists(tmp / "run")) << bad;
  }
}

}  // namespace
