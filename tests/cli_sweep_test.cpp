// End-to-end tests of `kiln sweep`: real `kiln train` children on a tiny slice of
// Fashion-MNIST, the study file read back by real Optuna, failures and pruning recorded
// per trial, an interrupted sweep resumed, remote mode against tools/optuna_server.py, and
// bad specs refused with exit 2 before anything is written.
#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cli_helpers.h"
#include "optuna/journal.h"
#include "sweep/remote_test_util.h"

namespace {

using kiln_test::kiln;
using kiln_test::read_file;
using kiln_test::RunResult;
using kiln_test::TempDir;
using kiln_test::tree;
using kiln_test::write_file;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A spec on kiln's default MLP with 512 train / 256 test samples, batch 64, 2 epochs.
std::string spec(const std::string& body, const std::string& pruner = "none", const std::string& sampler = "random") {
  return "name = \"t\"\n"
         "[objective]\nmetric = \"test_accuracy\"\n"
         "[sampler]\nname = \"" +
         sampler +
         "\"\nseed = 1\n"
         "[pruner]\nname = \"" +
         pruner + "\"\n" + (pruner == "median" ? "n_startup_trials = 1\n" : "") +
         "[base.data]\nlimit_train = 512\nlimit_test = 256\n"
         "[base.loader]\nbatch_size = 64\n"
         "[base.train]\nepochs = 2\n"
         "[base.log]\nprogress = \"off\"\n" +
         body;
}

const char* kLrSpace = "[space.\"optim.lr\"]\ntype = \"float\"\nlow = 1e-4\nhigh = 1e-2\nlog = true\n";

json optuna_view(const fs::path& journal) { return kiln::sweep::remote_test::dump_study(journal, "t"); }

TEST(CliSweep, RunsTrialsWritesBestConfigAndOptunaReadsTheStudy) {
  TempDir tmp("sweep");
  write_file(tmp / "s.toml",
             spec(std::string(kLrSpace) + "[space.\"model.dropout\"]\ntype = \"categorical\"\nchoices = [0.0, 0.2]\n"));
  const RunResult r = kiln_test::run(
      kiln({"sweep", "s.toml", "--trials", "4", "--parallel", "2", "--dir", "sw", "--json"}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto j = kiln_test::last_json_line(r.out);
  ASSERT_TRUE(j) << r.describe();
  EXPECT_EQ((*j)["complete"], 4);
  EXPECT_EQ((*j)["trials"], 4);
  ASSERT_TRUE(j->contains("best"));
  const double best = (*j)["best"]["value"];
  EXPECT_GT(best, 0.1) << "better than chance on 10 classes";
  // best.toml is a complete kiln config with the best lr in it.
  const RunResult p = kiln_test::run(kiln({"train", "sw/best.toml", "--print-config"}), {tmp.path()});
  ASSERT_EQ(p.exit_code, 0) << p.describe();
  EXPECT_NE(p.out.find("limit_train = 512"), std::string::npos) << "the base config is in best.toml";
  const double best_lr = (*j)["best"]["params"]["optim.lr"];
  const auto lr_at = p.out.find("\nlr = ");
  ASSERT_NE(lr_at, std::string::npos) << p.out;
  EXPECT_NEAR(std::stod(p.out.substr(lr_at + 6)), best_lr, 1e-12 * best_lr) << "the best lr is in best.toml";
  // Each trial ran in its own run dir.
  for (const char* t : {"0000", "0001", "0002", "0003"})
    EXPECT_TRUE(fs::exists(tmp / "sw" / "trials" / t / "run" / "summary.json")) << t;
  KILN_REQUIRE_OPTUNA();
  const json o = optuna_view(tmp / "sw" / "study.journal");
  ASSERT_EQ(o["trials"].size(), 4u);
  EXPECT_EQ(o["direction"], "MAXIMIZE");
  double optuna_best = 0;
  for (const auto& t : o["trials"]) {
    EXPECT_EQ(t["state"], "COMPLETE");
    EXPECT_EQ(t["intermediate"].size(), 2u) << "one report per epoch";
    EXPECT_EQ(t["intermediate"]["2"], t["value"]) << "the last epoch's value is the objective";
    optuna_best = std::max(optuna_best, t["value"].get<double>());
  }
  EXPECT_DOUBLE_EQ(optuna_best, best);

  // optuna-dashboard serves the same study from the file.
  const RunResult d = kiln_test::run({kiln::sweep::remote_test::kPython,
                                      std::string(KILN_SOURCE_DIR) + "/tests/interop/dashboard_view.py",
                                      (tmp / "sw" / "study.journal").string(), "t"});
  if (d.exit_code != 0 && d.err.find("No module named 'optuna_dashboard'") != std::string::npos) {
    GTEST_SKIP() << "optuna-dashboard is not installed (tools/bootstrap.sh installs it)";
  }
  ASSERT_EQ(d.exit_code, 0) << d.describe();
  const json dash = json::parse(d.out);
  EXPECT_EQ(dash["study"]["trials"].size(), 4u);
  for (const auto& t : dash["study"]["trials"]) EXPECT_EQ(t["state"], "Complete") << t.dump();
  EXPECT_EQ(dash["study"]["directions"][0], "maximize");
}

TEST(CliSweep, AFailingTrialIsFailWithItsReasonAndTheSweepGoesOn) {
  TempDir tmp("sweep");
  write_file(tmp / "s.toml", spec("[space.\"data.dir\"]\ntype = \"categorical\"\n"
                                  "choices = [\"/usr/share/datasets/fashion-mnist\", \"/nonexistent/data\"]\n",
                                  "none", "grid"));
  const RunResult r = kiln_test::run(kiln({"sweep", "s.toml", "--dir", "sw", "--json"}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto j = kiln_test::last_json_line(r.out);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["trials"], 2) << "grid: exactly the product";
  EXPECT_EQ((*j)["complete"], 1);
  EXPECT_EQ((*j)["failed"], 1);
  EXPECT_EQ((*j)["best"]["params"]["data.dir"], "/usr/share/datasets/fashion-mnist");
  EXPECT_NE(r.err.find("exit code 2"), std::string::npos) << r.err;
  KILN_REQUIRE_OPTUNA();
  const json o = optuna_view(tmp / "sw" / "study.journal");
  int fails = 0;
  for (const auto& t : o["trials"]) {
    if (t["state"] != "FAIL") continue;
    ++fails;
    EXPECT_NE(t["user_attrs"]["fail_reason"].get<std::string>().find("exit code 2"), std::string::npos) << t.dump();
  }
  EXPECT_EQ(fails, 1);
}

// The study is continued by a second run whose lr range holds only a useless value: the
// median pruner (1 startup trial) stops it after its first epoch.
TEST(CliSweep, MedianPrunerStopsAClearlyWorseTrial) {
  TempDir tmp("sweep");
  write_file(tmp / "good.toml", spec("[space.\"optim.lr\"]\ntype = \"float\"\nlow = 3e-3\nhigh = 3e-3\n", "median"));
  write_file(tmp / "bad.toml", spec("[space.\"optim.lr\"]\ntype = \"float\"\nlow = 1e-9\nhigh = 1e-9\n", "median"));
  ASSERT_EQ(kiln_test::run(kiln({"sweep", "good.toml", "--trials", "1", "--dir", "sw"}), {tmp.path()}).exit_code, 0);
  const RunResult r =
      kiln_test::run(kiln({"sweep", "bad.toml", "--trials", "2", "--dir", "sw", "--json"}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto j = kiln_test::last_json_line(r.out);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["complete"], 1);
  EXPECT_EQ((*j)["pruned"], 1) << r.err;
  EXPECT_NE(r.err.find("pruned after epoch 1"), std::string::npos) << r.err;
}

// Every trial that failed as "interrupted" was run again with the same params, by a trial
// whose retry_history ends with it (Optuna's RetryFailedTrialCallback attrs), and completed.
void expect_interrupted_trials_retried(const fs::path& journal, int at_least) {
  const auto study = kiln::optuna::Journal(journal).load("t");
  ASSERT_TRUE(study);
  int interrupted = 0;
  for (const auto& t : study->trials) {
    if (t.state != kiln::optuna::TrialState::kFail || t.user_attrs.value("fail_reason", "") != "interrupted") continue;
    ++interrupted;
    bool retried = false;
    for (const auto& r : study->trials) {
      const json h = r.system_attrs.value("retry_history", json::array());
      if (h.empty() || h.back() != t.number) continue;
      retried = true;
      EXPECT_EQ(r.state, kiln::optuna::TrialState::kComplete) << "retry of trial " << t.number;
      EXPECT_EQ(r.params, t.params) << "retry of trial " << t.number;
    }
    EXPECT_TRUE(retried) << "trial " << t.number << " was interrupted and never run again";
  }
  EXPECT_GE(interrupted, at_least);
}

TEST(CliSweep, InterruptedSweepResumesWithoutLosingFinishedTrials) {
  TempDir tmp("sweep");
  std::string s = spec(kLrSpace);
  s.replace(s.find("epochs = 2"), 10, "epochs = 30");  // trial 1 is surely still training at the signal
  write_file(tmp / "s.toml", s);
  {
    kiln_test::Child c(kiln({"sweep", "s.toml", "--trials", "3", "--dir", "sw"}), {tmp.path()});
    // Stop it while its second trial runs: after the first result line, once trial 1 trains.
    ASSERT_TRUE(c.wait_for_output(
        [&](const std::string&, const std::string& err) {
          return err.find("COMPLETE") != std::string::npos &&
                 fs::exists(tmp / "sw" / "trials" / "0001" / "run" / "metrics.jsonl");
        },
        120s))
        << c.err_so_far();
    c.signal(SIGINT);
    const RunResult r = c.wait(60s);
    EXPECT_EQ(r.exit_code, 130) << r.describe();
  }
  const RunResult r = kiln_test::run(kiln({"sweep", "s.toml", "--trials", "3", "--dir", "sw", "--json"}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto j = kiln_test::last_json_line(r.out);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["complete"], 3) << "the budget counts finished trials; the interrupted one is run again";
  EXPECT_LE((*j)["failed"].get<int>(), 1);
  expect_interrupted_trials_retried(tmp / "sw" / "study.journal", 1);
}

// The server is killed (SIGKILL) while the first trial trains and restarted a second later on
// the same port and storage: kiln's reports and asks retry with backoff and the sweep ends.
// A trial longer than [budget] trial_timeout_s is stopped and recorded FAIL "timed out".
TEST(CliSweep, TrialTimeoutIsFailWithTheReason) {
  TempDir tmp("sweep");
  std::string s = spec(kLrSpace);
  s.replace(s.find("epochs = 2"), 10, "epochs = 500");
  s += "[budget]\nn_trials = 1\ntrial_timeout_s = 2\n";
  write_file(tmp / "s.toml", s);
  const RunResult r = kiln_test::run(kiln({"sweep", "s.toml", "--dir", "sw", "--json"}), {tmp.path()});
  EXPECT_EQ(r.exit_code, 1) << "no trial completed: " << r.describe();
  EXPECT_NE(r.err.find("timed out after 2 s"), std::string::npos) << r.err;
  const json summary = json::parse(read_file(tmp / "sw" / "summary.json"));
  EXPECT_EQ(summary["failed"], 1);
}

// SIGKILL leaves no chance to clean up: the trial it ran stops too (parent-death signal),
// and the next run marks it FAIL "interrupted" and runs the budget out.
TEST(CliSweep, SigkilledSweepResumes) {
  TempDir tmp("sweep");
  write_file(tmp / "s.toml", spec(kLrSpace));
  {
    kiln_test::Child c(kiln({"sweep", "s.toml", "--trials", "2", "--dir", "sw"}), {tmp.path()});
    ASSERT_TRUE(c.wait_for_output(
        [&](const std::string&, const std::string&) {
          return fs::exists(tmp / "sw" / "trials" / "0000" / "run" / "metrics.jsonl");
        },
        60s))
        << c.err_so_far();
    c.signal(SIGKILL);
    c.wait(10s);
  }
  const RunResult r = kiln_test::run(kiln({"sweep", "s.toml", "--trials", "2", "--dir", "sw", "--json"}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("marked FAIL (interrupted)"), std::string::npos) << r.err;
  const auto j = kiln_test::last_json_line(r.out);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["complete"], 2);
  EXPECT_EQ((*j)["failed"], 1);
  expect_interrupted_trials_retried(tmp / "sw" / "study.journal", 1);
}

TEST(CliSweep, RemoteModeAgainstOptunaServerThatRestarts) {
  KILN_REQUIRE_OPTUNA();
  TempDir tmp("sweep");
  write_file(tmp / "s.toml", spec(kLrSpace));
  const std::vector<std::string> flags = {"--sampler", "random", "--pruner", "none"};
  auto server = std::make_unique<kiln::sweep::remote_test::OptunaServer>(tmp / "remote.journal", flags);
  const int port = server->port();
  kiln_test::Child c(kiln({"sweep", "s.toml", "--trials", "2", "--dir", "sw", "--optuna-url", server->url(), "--json"}),
                     {tmp.path()});
  // Once the sweep has asked for its first trial, take the server away.
  ASSERT_TRUE(c.wait_for_output(
      [&](const std::string&, const std::string& err) {
        return err.find("trials to run") != std::string::npos && fs::exists(tmp / "sw" / "trials" / "0000");
      },
      60s))
      << c.err_so_far();
  server->kill();
  std::this_thread::sleep_for(1s);
  server = std::make_unique<kiln::sweep::remote_test::OptunaServer>(tmp / "remote.journal", flags, port);
  const RunResult r = c.wait(180s);
  ASSERT_EQ(r.exit_code, 0) << r.describe() << server->log();
  const auto j = kiln_test::last_json_line(r.out);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["complete"], 2);
  EXPECT_FALSE(fs::exists(tmp / "sw" / "study.journal")) << "remote mode keeps the study on the server";
  const json o = optuna_view(tmp / "remote.journal");
  ASSERT_EQ(o["trials"].size(), 2u);
  for (const auto& t : o["trials"]) EXPECT_EQ(t["state"], "COMPLETE");
}

// Remote mode after SIGKILL: the trial the killed sweep left RUNNING on the server is found
// by its kiln_worker (this host, a dead pid), failed as interrupted and queued again.
TEST(CliSweep, RemoteSigkilledSweepResumes) {
  KILN_REQUIRE_OPTUNA();
  TempDir tmp("sweep");
  write_file(tmp / "s.toml", spec(kLrSpace));
  const std::vector<std::string> flags = {"--sampler", "random", "--pruner", "none"};
  kiln::sweep::remote_test::OptunaServer server(tmp / "remote.journal", flags);
  const std::vector<std::string> args = {"sweep", "s.toml",       "--trials",   "2",     "--dir",
                                         "sw",    "--optuna-url", server.url(), "--json"};
  {
    kiln_test::Child c(kiln(args), {tmp.path()});
    ASSERT_TRUE(c.wait_for_output(
        [&](const std::string&, const std::string&) {
          return fs::exists(tmp / "sw" / "trials" / "0000" / "run" / "metrics.jsonl");
        },
        60s))
        << c.err_so_far();
    c.signal(SIGKILL);
    c.wait(10s);
  }
  const RunResult r = kiln_test::run(kiln(args), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe() << server.log();
  EXPECT_NE(r.err.find("marked FAIL (interrupted)"), std::string::npos) << r.err;
  const auto j = kiln_test::last_json_line(r.out);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["complete"], 2);
  expect_interrupted_trials_retried(tmp / "remote.journal", 1);
}

void expect_bad_spec(const std::string& text, const std::string& needle) {
  TempDir tmp("sweep");
  write_file(tmp / "s.toml", text);
  const auto before = tree(tmp.path());
  const RunResult r = kiln_test::run(kiln({"sweep", "s.toml"}), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.describe();
  EXPECT_EQ(tree(tmp.path()), before) << "a refused sweep wrote something";
}

TEST(CliSweepBadSpec, UnknownSampler) { expect_bad_spec(spec(kLrSpace, "none", "annealing"), "annealing"); }
TEST(CliSweepBadSpec, EmptySpace) { expect_bad_spec(spec("[space]\n"), "space"); }
TEST(CliSweepBadSpec, LowAboveHigh) {
  expect_bad_spec(spec("[space.\"optim.lr\"]\ntype = \"float\"\nlow = 0.1\nhigh = 0.01\n"), "optim.lr");
}
TEST(CliSweepBadSpec, UnknownMetric) {
  std::string s = spec(kLrSpace);
  s.replace(s.find("test_accuracy"), 13, "val_auc");
  expect_bad_spec(s, "\"val_auc\", which task 'classification' (train.task) does not report");
}
TEST(CliSweepBadSpec, ParamThatIsNotAConfigKey) {
  expect_bad_spec(spec("[space.\"optim.lrr\"]\ntype = \"float\"\nlow = 0.1\nhigh = 0.2\n"), "optim.lrr");
}
TEST(CliSweepBadSpec, MissingSpecFile) {
  TempDir tmp("sweep");
  const RunResult r = kiln_test::run(kiln({"sweep", "nope.toml"}), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
}

}  // namespace
