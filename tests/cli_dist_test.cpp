// Data-parallel training on the CPU: two Gloo ranks on loopback, started by kiln launch (or by
// hand with torchrun's variables, as torchrun would), against one process with the global
// batch; same seed, same weights across two 2-rank jobs; rank 0 owns the run dir; a killed
// rank is detected by the other; signals and failures go through the launcher.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "cli_helpers.h"
#include "dist/launch.h"

namespace {

using kiln_test::kiln;
using kiln_test::RunResult;
using kiln_test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// TSan cannot judge c10d: Gloo's work objects and c10d's FlightRecorder synchronise through
// mutexes and condition variables inside uninstrumented libtorch_cpu, so every collective
// reports a "race" there (seen: ~AsyncAllreduceWork's pthread_cond_destroy). kiln's dist code
// starts no thread of its own, so these tests skip under TSan rather than suppress libtorch.
#if defined(__SANITIZE_THREAD__)
constexpr bool kUnderTsan = true;
#else
constexpr bool kUnderTsan = false;
#endif
#define KILN_SKIP_UNDER_TSAN() \
  if (kUnderTsan) GTEST_SKIP() << "c10d synchronises inside uninstrumented libtorch: TSan cannot judge it"

// 3,200 samples, 2 epochs: 50 steps of a global batch of 128. No dropout (each rank draws its
// own masks, which one process would not), one training thread per process (two ranks share
// this machine's cores), a log record per step.
std::vector<std::string> train_args(const fs::path& run, int64_t batch, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"train",
                                "--set",
                                "data.limit_train=3200",
                                "--set",
                                "data.limit_test=512",
                                "--set",
                                "train.epochs=2",
                                "--set",
                                "model.dropout=0",
                                "--set",
                                "train.threads=1",
                                "--set",
                                "log.every=1",
                                "--set",
                                "log.progress=off",
                                "--set",
                                "loader.batch_size=" + std::to_string(batch),
                                "--seed",
                                "7",
                                "--run-dir",
                                run.string(),
                                "--json"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

std::vector<std::string> launch(int nproc, const std::vector<std::string>& command) {
  std::vector<std::string> a = {"launch", "--nproc-per-node", std::to_string(nproc), "--master-port", "0"};
  a.insert(a.end(), command.begin(), command.end());
  return kiln(a);
}

// argv for one rank as torchrun would start it (its five variables, through env(1)).
std::vector<std::string> as_rank(int rank, int port, const std::vector<std::string>& command) {
  std::vector<std::string> a = {"/usr/bin/env",          "RANK=" + std::to_string(rank),
                                "WORLD_SIZE=2",          "LOCAL_RANK=" + std::to_string(rank),
                                "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(port)};
  for (const auto& x : kiln(command)) a.push_back(x);
  return a;
}

json summary_of(const RunResult& r) {
  const auto j = kiln_test::last_json_line(r.out);
  EXPECT_TRUE(j) << r.describe();
  return j.value_or(json::object());
}

TEST(CliDist, TwoRanksOfBatch64FollowOneProcessOfBatch128) {
  KILN_SKIP_UNDER_TSAN();
  TempDir tmp("dist");
  const RunResult two = kiln_test::run(launch(2, train_args(tmp / "two", 64)), {tmp.path(), 300s});
  ASSERT_EQ(two.exit_code, 0) << two.describe();
  const RunResult one =
      kiln_test::run(kiln(train_args(tmp / "one", 128, {"--set", "loader.drop_last=true"})), {tmp.path(), 300s});
  ASSERT_EQ(one.exit_code, 0) << one.describe();
  const json s2 = summary_of(two), s1 = summary_of(one);
  EXPECT_EQ(s2["world_size"], 2);
  EXPECT_EQ(s2["steps"], 50);
  EXPECT_EQ(s1["steps"], 50);
  const auto a = kiln_test::metrics_records(tmp / "two", "step"), b = kiln_test::metrics_records(tmp / "one", "step");
  ASSERT_EQ(a.size(), 50u);
  ASSERT_EQ(b.size(), 50u);
  // The same samples in every step. The losses agree to a relative 1e-5 over the 50 steps:
  // the job's gradient is the mean of two 64-sample means, one process's the mean over 128,
  // the same sums in another order (float32 rounding, ~1e-7 a step, compounding through the
  // weights); measured here: at most a few 1e-7.
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["samples"], 128) << i;
    const double x = a[i]["loss"], y = b[i]["loss"];
    worst = std::max(worst, std::abs(x - y) / std::abs(y));
  }
  std::cout << "[ 2 ranks x 64 vs 1 x 128, 50 steps: max relative loss difference " << worst << " ]\n";
  EXPECT_LT(worst, 1e-5);
  EXPECT_GT(std::abs(a[0]["loss"].get<double>() - a[49]["loss"].get<double>()), 0.1) << "the loss moved";
  // The evaluation is sharded (each rank half of the 512 test samples, the sums added up):
  // the whole split's metrics, as one process computes them on its near-identical weights.
  EXPECT_NEAR(s2["test_accuracy"].get<double>(), s1["test_accuracy"].get<double>(), 2.0 / 512);
  EXPECT_NEAR(s2["test_loss"].get<double>(), s1["test_loss"].get<double>(), 1e-4 * s1["test_loss"].get<double>());
  // Rank 0's run dir, with the world in its manifest; nothing from rank 1 anywhere else.
  const json m = json::parse(kiln_test::read_file(tmp / "two" / "manifest.json"));
  ASSERT_TRUE(m.contains("world")) << m.dump();
  EXPECT_EQ(m["world"]["size"], 2);
  ASSERT_EQ(m["world"]["ranks"].size(), 2u);
  EXPECT_EQ(m["world"]["ranks"][1]["rank"], 1);
  EXPECT_EQ(m["world"]["ranks"][1]["device"], "cpu");
  EXPECT_NE(m["world"]["ranks"][0]["pid"], m["world"]["ranks"][1]["pid"]);
  EXPECT_TRUE(fs::exists(tmp / "two" / "checkpoints" / "final.pt"));
  // One JSON summary on stdout: rank 0's.
  EXPECT_EQ(kiln_test::split_lines(two.out).size(), 1u) << two.out;
  // kiln verify replays the job as a job of its size: a match, under kiln launch.
  const RunResult v = kiln_test::run(launch(2, {"verify", (tmp / "two").string(), "--json"}), {tmp.path(), 300s});
  EXPECT_EQ(v.exit_code, 0) << v.describe();
  const json vj = summary_of(v);
  EXPECT_EQ(vj["match"], true) << vj.dump();
  EXPECT_EQ(vj["steps_compared"], 50);
  EXPECT_EQ(vj["weights_match"], true);
  EXPECT_EQ(kiln_test::split_lines(v.out).size(), 1u) << "rank 0 reports, alone: " << v.out;
  // One process would replay another run: refused (exit 2), naming the command that works.
  const RunResult one_v = kiln_test::run(kiln({"verify", (tmp / "two").string()}));
  EXPECT_EQ(one_v.exit_code, 2) << one_v.describe();
  EXPECT_NE(one_v.err.find("kiln launch --nproc-per-node 2 verify"), std::string::npos) << one_v.err;
  // And a job's replay can fail: one process's run dir verified by a job of two is refused.
  const RunResult two_v = kiln_test::run(launch(2, {"verify", (tmp / "one").string()}), {tmp.path(), 300s});
  EXPECT_EQ(two_v.exit_code, 2) << two_v.describe();
  EXPECT_NE(two_v.err.find("was trained by one process; this kiln verify is a job of 2 ranks"), std::string::npos)
      << two_v.err;
}

// A recorded loss changed by one ulp: the job's replay finds the step (exit 3 through kiln launch).
TEST(CliDist, VerifyOfAJobFindsAChangedStep) {
  KILN_SKIP_UNDER_TSAN();
  TempDir tmp("dist");
  const fs::path run = tmp / "run";
  const RunResult r = kiln_test::run(
      launch(2, train_args(run, 32, {"--set", "train.epochs=1", "--set", "data.limit_train=640"})), {tmp.path(), 300s});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  std::string text;
  for (const std::string& line : kiln_test::split_lines(kiln_test::read_file(run / "metrics.jsonl"))) {
    json j = json::parse(line);
    if (j.value("type", "") == "step" && j["step"] == 4) j["loss"] = std::nextafter(j["loss"].get<double>(), 1e9);
    text += j.dump() + "\n";
  }
  kiln_test::write_file(run / "metrics.jsonl", text);
  const RunResult v = kiln_test::run(launch(2, {"verify", run.string(), "--json"}), {tmp.path(), 300s});
  EXPECT_EQ(v.exit_code, 3) << v.describe();
  EXPECT_EQ(summary_of(v)["first_divergent_step"], 4);
}

// model.sync_bn: the small CNN's BatchNorm over the job's batch. Two ranks of 64 then compute
// the first steps as one process of 128 does (to float rounding); with each rank's own
// statistics (the default) the first loss already differs. Only the first steps: the CNN's
// max-pools over ReLU outputs route gradients by near-ties, so rounding differences grow
// quickly after a few updates (measured: 1e-7 at steps 1-3, 1e-4 by step 5, with SGD too).
TEST(CliDist, SyncBatchNormFollowsOneProcessOfTheGlobalBatch) {
  KILN_SKIP_UNDER_TSAN();
  TempDir tmp("dist");
  const std::vector<std::string> cnn = {"--set", "model.name=cnn",       "--set", "model.cnn.channels=[8, 16]",
                                        "--set", "model.cnn.fc=32",      "--set", "train.max_steps=3",
                                        "--set", "data.limit_train=640", "--set", "train.epochs=1",
                                        "--set", "loader.drop_last=true"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> a = cnn;
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  const RunResult synced = kiln_test::run(
      launch(2, train_args(tmp / "sync", 64, with({"--set", "model.sync_bn=true"}))), {tmp.path(), 300s});
  ASSERT_EQ(synced.exit_code, 0) << synced.describe();
  const RunResult local = kiln_test::run(launch(2, train_args(tmp / "local", 64, cnn)), {tmp.path(), 300s});
  ASSERT_EQ(local.exit_code, 0) << local.describe();
  const RunResult one = kiln_test::run(kiln(train_args(tmp / "one", 128, cnn)), {tmp.path(), 300s});
  ASSERT_EQ(one.exit_code, 0) << one.describe();
  const auto s = kiln_test::metrics_records(tmp / "sync", "step"),
             l = kiln_test::metrics_records(tmp / "local", "step"), o = kiln_test::metrics_records(tmp / "one", "step");
  ASSERT_EQ(s.size(), 3u);
  ASSERT_EQ(o.size(), 3u);
  ASSERT_EQ(l.size(), 3u);
  auto rel = [](const json& a, const json& b) {
    return std::abs(a["loss"].get<double>() - b["loss"].get<double>()) / std::abs(b["loss"].get<double>());
  };
  for (size_t i = 0; i < 3; ++i) {
    std::cout << "[ step " << i + 1 << ": sync_bn " << rel(s[i], o[i]) << ", local BN " << rel(l[i], o[i]) << " ]\n";
    EXPECT_LT(rel(s[i], o[i]), 1e-5) << "step " << i + 1;
  }
  EXPECT_GT(rel(l[0], o[0]), 1e-5) << "each rank's own statistics give another first loss";
  // The running statistics are the job's on every rank: so are the weights' and buffers' hash
  // checks at each checkpoint, and the evaluation (with them) is one process's.
  EXPECT_NEAR(summary_of(synced)["test_loss"].get<double>(), summary_of(one)["test_loss"].get<double>(),
              1e-4 * summary_of(one)["test_loss"].get<double>());
}

TEST(CliDist, TwoJobsWithTheSameSeedGiveTheSameWeights) {
  KILN_SKIP_UNDER_TSAN();
  TempDir tmp("dist");
  json s[2];
  for (int k = 0; k < 2; ++k) {
    const fs::path run = tmp / ("r" + std::to_string(k));
    const RunResult r =
        kiln_test::run(launch(2, train_args(run, 32, {"--set", "train.epochs=1", "--set", "data.limit_train=1280"})),
                       {tmp.path(), 300s});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    s[k] = summary_of(r);
  }
  EXPECT_EQ(s[0]["weights_sha256"], s[1]["weights_sha256"]);
  EXPECT_EQ(s[0]["loss_trace_sha256"], s[1]["loss_trace_sha256"]);
  EXPECT_EQ(s[0]["steps"], 20);
}

TEST(CliDist, AKilledRankIsDetectedByTheOther) {
  KILN_SKIP_UNDER_TSAN();
  TempDir tmp("dist");
  const int port = kiln::dist::free_port();
  const auto cmd = train_args(tmp / "run", 64, {"--set", "train.epochs=200", "--dist-timeout", "20"});
  kiln_test::Child r0(as_rank(0, port, cmd), {tmp.path()});
  kiln_test::Child r1(as_rank(1, port, cmd), {tmp.path()});
  // Once both train (rank 0 has logged steps), kill -9 rank 1.
  ASSERT_TRUE(r0.wait_for_output(
      [&](const std::string&, const std::string&) {
        return kiln_test::metrics_records(tmp / "run", "step").size() >= 5;
      },
      120s))
      << r0.err_so_far() << r1.err_so_far();
  r1.signal(SIGKILL);
  const auto t0 = std::chrono::steady_clock::now();
  const RunResult r = r0.wait(60s);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "[ rank 0 stopped " << waited << " s after rank 1 was killed ]\n";
  EXPECT_FALSE(r.timed_out) << "rank 0 hung after its peer died";
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("failed on rank 0 of 2"), std::string::npos) << r.err;
  // The bound: the collective's timeout (--dist-timeout 20 s); a reset connection is seen at once.
  EXPECT_LT(waited, 25.0);
  const json m = json::parse(kiln_test::read_file(tmp / "run" / "manifest.json"));
  EXPECT_EQ(m["status"], "failed");
}

// SIGTERM to kiln launch mid-run: every rank stops after the same step, rank 0 checkpoints
// (with rank 1's RNG state), all exit 143; `--resume auto` under kiln launch ends with the
// weights of the uninterrupted job. Dropout on, so rank 1's restored RNG matters.
TEST(CliDist, SigtermCheckpointsAndTheResumedJobEndsWithTheUninterruptedWeights) {
  KILN_SKIP_UNDER_TSAN();
  TempDir tmp("dist");
  const std::vector<std::string> dropout = {"--set", "model.dropout=0.2", "--set", "checkpoint.every=5"};
  const RunResult whole = kiln_test::run(launch(2, train_args(tmp / "whole", 64, dropout)), {tmp.path(), 300s});
  ASSERT_EQ(whole.exit_code, 0) << whole.describe();
  const json ref = summary_of(whole);

  const fs::path run = tmp / "run";
  {
    kiln_test::Child c(launch(2, train_args(run, 64, dropout)), {tmp.path()});
    ASSERT_TRUE(c.wait_for_output(
        [&](const std::string&, const std::string&) { return kiln_test::metrics_records(run, "step").size() >= 12; },
        120s))
        << c.err_so_far();
    c.signal(SIGTERM);
    const RunResult r = c.wait(120s);
    ASSERT_EQ(r.exit_code, 143) << r.describe();
    EXPECT_NE(r.err.find("SIGTERM received: stopped after step"), std::string::npos) << r.err;
  }
  EXPECT_EQ(json::parse(kiln_test::read_file(run / "manifest.json"))["status"], "interrupted");
  ASSERT_LT(kiln_test::metrics_records(run, "step").size(), 50u) << "stopped before the end";
  std::vector<std::string> again = dropout;
  again.insert(again.end(), {"--resume", "auto"});
  const RunResult resumed = kiln_test::run(launch(2, train_args(run, 64, again)), {tmp.path(), 300s});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.describe();
  const json got = summary_of(resumed);
  EXPECT_EQ(got["steps"], 50);
  EXPECT_EQ(got["weights_sha256"], ref["weights_sha256"]) << "resumed at the same world size: the same weights";
  EXPECT_EQ(got["loss_trace_sha256"], ref["loss_trace_sha256"]);

  // Another world size is refused, naming both, and changes nothing.
  const auto before = kiln_test::tree(run);
  const RunResult one = kiln_test::run(kiln(train_args(run, 64, again)), {tmp.path()});
  EXPECT_EQ(one.exit_code, 2) << one.describe();
  EXPECT_NE(one.err.find("was written by a job of 2 ranks; this one has 1"), std::string::npos) << one.err;
  EXPECT_EQ(kiln_test::tree(run), before);
}

// No shared filesystem: rank 0 and rank 1 in different working directories, both with
// --run-dir run, so rank 1 never sees rank 0's run dir. SIGTERM to rank 0 stops both after the
// same step; on resume rank 0 sends the checkpoint through the group and the job ends with the
// uninterrupted job's weights (dropout on: rank 1's RNG state travels in that checkpoint).
TEST(CliDist, ResumeWithoutASharedFilesystemGetsTheCheckpointFromRank0) {
  KILN_SKIP_UNDER_TSAN();
  TempDir tmp("dist");
  const std::vector<std::string> extra = {"--set", "model.dropout=0.2", "--set", "checkpoint.every=5"};
  const RunResult whole = kiln_test::run(launch(2, train_args(tmp / "whole", 64, extra)), {tmp.path(), 300s});
  ASSERT_EQ(whole.exit_code, 0) << whole.describe();
  const fs::path a = tmp / "host-a", b = tmp / "host-b";
  fs::create_directories(a);
  fs::create_directories(b);
  {
    const int port = kiln::dist::free_port();
    kiln_test::Child r0(as_rank(0, port, train_args("run", 64, extra)), {a});
    kiln_test::Child r1(as_rank(1, port, train_args("run", 64, extra)), {b});
    ASSERT_TRUE(r0.wait_for_output(
        [&](const std::string&, const std::string&) {
          return kiln_test::metrics_records(a / "run", "step").size() >= 12;
        },
        120s))
        << r0.err_so_far() << r1.err_so_far();
    r0.signal(SIGTERM);
    EXPECT_EQ(r0.wait(120s).exit_code, 143);
    EXPECT_EQ(r1.wait(120s).exit_code, 143) << "rank 1 stopped after the same step";
  }
  ASSERT_FALSE(fs::exists(b / "run")) << "rank 1 writes nothing";
  std::vector<std::string> again = extra;
  again.insert(again.end(), {"--resume", "auto"});
  const int port = kiln::dist::free_port();
  kiln_test::Child r0(as_rank(0, port, train_args("run", 64, again)), {a});
  kiln_test::Child r1(as_rank(1, port, train_args("run", 64, again)), {b});
  const RunResult x = r0.wait(300s), y = r1.wait(60s);
  ASSERT_EQ(x.exit_code, 0) << x.describe();
  ASSERT_EQ(y.exit_code, 0) << y.describe();
  EXPECT_NE(x.err.find("to the ranks that cannot read it"), std::string::npos) << x.err;
  const json got = summary_of(x), ref = summary_of(whole);
  EXPECT_EQ(got["steps"], 50);
  EXPECT_EQ(got["weights_sha256"], ref["weights_sha256"]);
  EXPECT_EQ(got["loss_trace_sha256"], ref["loss_trace_sha256"]);
}

// Two "hosts": network namespaces joined by a veth pair (as root, removed after). Rank 0 in
// one at 10.213.X.1, rank 1 in the other, Gloo bound to each side's interface by
// GLOO_SOCKET_IFNAME as for PyTorch; the job gives the weights of the same job on loopback.
class NetnsPair {
 public:
  NetnsPair() {
    const std::string id = std::to_string(getpid() % 100000);
    a_ = "kiln-a-" + id;
    b_ = "kiln-b-" + id;
    va_ = "kva" + id;
    vb_ = "kvb" + id;
    subnet_ = "10.213." + std::to_string(getpid() % 250) + ".";
    ok_ = sh({"ip", "netns", "add", a_}) && sh({"ip", "netns", "add", b_}) &&
          sh({"ip", "link", "add", va_, "type", "veth", "peer", "name", vb_}) &&
          sh({"ip", "link", "set", va_, "netns", a_}) && sh({"ip", "link", "set", vb_, "netns", b_}) &&
          sh({"ip", "-n", a_, "addr", "add", subnet_ + "1/24", "dev", va_}) &&
          sh({"ip", "-n", b_, "addr", "add", subnet_ + "2/24", "dev", vb_}) &&
          sh({"ip", "-n", a_, "link", "set", va_, "up"}) && sh({"ip", "-n", b_, "link", "set", vb_, "up"}) &&
          sh({"ip", "-n", a_, "link", "set", "lo", "up"}) && sh({"ip", "-n", b_, "link", "set", "lo", "up"});
  }
  ~NetnsPair() {
    sh({"ip", "netns", "del", a_});  // takes its end of the veth pair, and so the pair, with it
    sh({"ip", "netns", "del", b_});
  }
  bool ok() const { return ok_; }
  const std::string& why() const { return why_; }
  std::string master() const { return subnet_ + "1"; }
  // argv of `command` run in host 0 or 1 as rank `rank` of 2.
  std::vector<std::string> as_rank(int rank, int port, const std::vector<std::string>& command) const {
    std::vector<std::string> a = {"ip",
                                  "netns",
                                  "exec",
                                  rank == 0 ? a_ : b_,
                                  "/usr/bin/env",
                                  "RANK=" + std::to_string(rank),
                                  "WORLD_SIZE=2",
                                  "LOCAL_RANK=0",
                                  "MASTER_ADDR=" + master(),
                                  "MASTER_PORT=" + std::to_string(port),
                                  "GLOO_SOCKET_IFNAME=" + (rank == 0 ? va_ : vb_)};
    for (const auto& x : kiln(command)) a.push_back(x);
    return a;
  }

 private:
  bool sh(const std::vector<std::string>& argv) {
    const RunResult r = kiln_test::run(argv);
    if (r.exit_code != 0 && why_.empty()) why_ = argv[0] + " " + argv[1] + " " + argv[2] + ": " + r.err;
    return r.exit_code == 0;
  }
  std::string a_, b_, va_, vb_, subnet_, why_;
  bool ok_ = false;
};

TEST(CliDist, TwoHostsInNetworkNamespacesTrainAsOnLoopback) {
  KILN_SKIP_UNDER_TSAN();
  if (geteuid() != 0) GTEST_SKIP() << "needs root for ip netns";
  NetnsPair hosts;
  if (!hosts.ok()) GTEST_SKIP() << "cannot make network namespaces here: " << hosts.why();
  TempDir tmp("dist-netns");
  const std::vector<std::string> small = {"--set", "train.epochs=1", "--set", "data.limit_train=1280"};
  const RunResult loop = kiln_test::run(launch(2, train_args(tmp / "loop", 64, small)), {tmp.path(), 300s});
  ASSERT_EQ(loop.exit_code, 0) << loop.describe();
  const auto cmd = train_args(tmp / "netns", 64, small);
  kiln_test::Child r0(hosts.as_rank(0, 29611, cmd), {tmp.path()});
  kiln_test::Child r1(hosts.as_rank(1, 29611, cmd), {tmp.path()});
  const RunResult a = r0.wait(300s), b = r1.wait(60s);
  ASSERT_EQ(a.exit_code, 0) << a.describe();
  ASSERT_EQ(b.exit_code, 0) << b.describe();
  const json m = json::parse(kiln_test::read_file(tmp / "netns" / "manifest.json"));
  EXPECT_EQ(m["world"]["size"], 2);
  EXPECT_EQ(summary_of(a)["weights_sha256"], summary_of(loop)["weights_sha256"]);
}

TEST(CliDist, BadInputIsExit2OnEveryRankAndFromTheLauncher) {
  KILN_SKIP_UNDER_TSAN();
  TempDir tmp("dist");
  const RunResult r = kiln_test::run(launch(2, train_args(tmp / "run", 64, {"--set", "optim.lr=-1"})), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_FALSE(fs::exists(tmp / "run"));
  // A global batch larger than the data.
  const RunResult big =
      kiln_test::run(launch(2, train_args(tmp / "big", 2048, {"--set", "data.limit_train=3000"})), {tmp.path()});
  EXPECT_EQ(big.exit_code, 2) << big.describe();
  EXPECT_NE(big.err.find("no full global batch of 2048 x 2 ranks"), std::string::npos) << big.err;
  // kiln launch's own options.
  const RunResult nr = kiln_test::run(kiln({"launch", "--nnodes", "2", "--node-rank", "2", "train"}));
  EXPECT_EQ(nr.exit_code, 2) << nr.describe();
  EXPECT_NE(nr.err.find("--node-rank 2 is out of range"), std::string::npos) << nr.err;
  const RunResult none = kiln_test::run(kiln({"launch", "--nproc-per-node", "2"}));
  EXPECT_EQ(none.exit_code, 2) << none.describe();
  // A one-process checkpoint resumed by a job of two is refused before anything changes.
  const fs::path done = tmp / "done";
  const std::vector<std::string> short_run = {"--set", "train.epochs=1", "--set", "checkpoint.every=5"};
  ASSERT_EQ(kiln_test::run(kiln(train_args(done, 128, short_run)), {tmp.path()}).exit_code, 0);
  const auto before = kiln_test::tree(done);
  std::vector<std::string> again = short_run;
  again.insert(again.end(), {"--resume", "auto"});
  const RunResult res = kiln_test::run(launch(2, train_args(done, 128, again)), {tmp.path()});
  EXPECT_EQ(res.exit_code, 2) << res.describe();
  EXPECT_NE(res.err.find("was written by a job of 1 rank; this one has 2"), std::string::npos) << res.err;
  EXPECT_EQ(kiln_test::tree(done), before);
}

}  // namespace
