// Remote mode end to end: kiln's C++ client against tools/optuna_server.py on real Optuna
// (a journal file in a temp dir), read back with Optuna itself. Skips without KILN_TEST_PYTHON
// or without optuna in it.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <future>
#include <thread>

#include "cli_helpers.h"
#include "remote_test_util.h"
#include "sweep/remote.h"
#include "util/error.h"

namespace kiln::sweep {
namespace {

using kiln_test::TempDir;
using nlohmann::json;
using remote_test::dump_study;
using remote_test::OptunaServer;
namespace fs = std::filesystem;

optuna::Space demo_space() {
  optuna::Distribution lr{optuna::Distribution::Kind::kFloat, 1e-5, 0.1, true, std::nullopt, {}};
  optuna::Distribution layers{optuna::Distribution::Kind::kInt, 1, 4, false, 1.0, {}};
  optuna::Distribution opt{optuna::Distribution::Kind::kCategorical, 0, 0, false, std::nullopt, {"adam", "sgd"}};
  return {{"lr", lr}, {"layers", layers}, {"opt", opt}};
}

RemoteOptions options(const OptunaServer& server, const TempDir& dir,
                      optuna::Direction d = optuna::Direction::kMinimize) {
  RemoteOptions o;
  o.url = server.url();
  o.study_name = "remote-test";
  o.direction = d;
  o.metric = "loss";
  o.pending_file = dir / "pending.jsonl";
  o.request_timeout_s = 5;
  o.give_up_after_s = 20;
  return o;
}

TEST(SweepRemote, AskReportTellEndToEnd) {
  KILN_REQUIRE_OPTUNA();
  TempDir dir("remote");
  OptunaServer server(dir / "study.journal", {"--sampler", "random", "--seed", "3", "--pruner", "none"});
  RemoteOptions o = options(server, dir, optuna::Direction::kMaximize);
  o.metric = "accuracy";
  auto backend = make_remote_backend(o);
  const optuna::Space space = demo_space();
  std::vector<optuna::Asked> asked;
  for (int i = 0; i < 4; ++i) {
    optuna::Asked a = backend->ask(space);
    EXPECT_EQ(a.number, i);
    ASSERT_EQ(a.params.size(), 3u);
    EXPECT_GE(a.params["lr"], 1e-5);
    EXPECT_LE(a.params["lr"], 0.1);
    EXPECT_EQ(a.params["layers"], std::round(a.params["layers"]));  // ints travel as doubles
    EXPECT_GE(a.params["layers"], 1);
    EXPECT_LE(a.params["layers"], 4);
    EXPECT_TRUE(a.params["opt"] == 0 || a.params["opt"] == 1);  // categorical: the index
    for (int step = 0; step < 3; ++step) {
      EXPECT_FALSE(backend->report(a, step, 0.1 * (i + 1) + 0.01 * step));
    }
    asked.push_back(a);
  }
  backend->tell(asked[0], optuna::TrialState::kComplete, 0.9);
  backend->tell(asked[1], optuna::TrialState::kPruned, std::nullopt);
  backend->tell(asked[2], optuna::TrialState::kFail, std::nullopt, "loss diverged");
  backend->tell(asked[3], optuna::TrialState::kComplete, 0.75);
  EXPECT_FALSE(std::filesystem::exists(o.pending_file)) << "acknowledged records are removed";

  // Optuna itself reads the journal the server wrote.
  const json py = dump_study(dir / "study.journal", o.study_name);
  EXPECT_EQ(py["direction"], "MAXIMIZE");
  EXPECT_EQ(py["metric_names"], json::array({"accuracy"}));
  ASSERT_EQ(py["trials"].size(), 4u);
  const char* states[] = {"COMPLETE", "PRUNED", "FAIL", "COMPLETE"};
  for (int i = 0; i < 4; ++i) {
    const json& t = py["trials"][i];
    SCOPED_TRACE("trial " + std::to_string(i));
    EXPECT_EQ(t["number"], i);
    EXPECT_EQ(t["trial_id"], asked[i].trial_id);
    EXPECT_EQ(t["state"], states[i]);
    for (const auto& [name, v] : asked[i].params) EXPECT_EQ(t["params"][name].get<double>(), v) << name;
    EXPECT_EQ(t["intermediate"].size(), 3u);
    EXPECT_DOUBLE_EQ(t["intermediate"]["2"].get<double>(), 0.1 * (i + 1) + 0.02);
  }
  EXPECT_DOUBLE_EQ(py["trials"][0]["value"].get<double>(), 0.9);
  // Optuna keeps the last reported value as a pruned trial's value.
  EXPECT_DOUBLE_EQ(py["trials"][1]["value"].get<double>(), 0.2 + 0.02);
  EXPECT_TRUE(py["trials"][2]["value"].is_null());
  EXPECT_EQ(py["trials"][2]["user_attrs"]["fail_reason"], "loss diverged");
  EXPECT_EQ(py["trials"][0]["external"]["opt"], asked[0].params["opt"] == 0 ? "adam" : "sgd");

  // The client's own snapshot agrees with Optuna.
  const optuna::Study s = backend->snapshot();
  EXPECT_EQ(s.name, o.study_name);
  EXPECT_EQ(s.direction, optuna::Direction::kMaximize);
  ASSERT_EQ(s.trials.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    const optuna::Trial& t = s.trials[i];
    EXPECT_EQ(t.id, asked[i].trial_id);
    EXPECT_EQ(t.params, asked[i].params);
    EXPECT_EQ(t.distributions.size(), 3u);
    EXPECT_EQ(t.intermediate.size(), 3u);
    EXPECT_FALSE(t.datetime_start.empty());
    EXPECT_FALSE(t.datetime_complete.empty());
  }
  EXPECT_EQ(s.trials[0].state, optuna::TrialState::kComplete);
  EXPECT_EQ(s.trials[1].state, optuna::TrialState::kPruned);
  EXPECT_EQ(s.trials[2].state, optuna::TrialState::kFail);
  EXPECT_TRUE(s.trials[2].distributions.at("opt").kind == optuna::Distribution::Kind::kCategorical);
  EXPECT_DOUBLE_EQ(*s.trials[3].value, 0.75);
  EXPECT_EQ(s.trials[2].user_attrs["fail_reason"], "loss diverged");

  // A second client on the same study loads it (no duplicate) and numbering continues.
  auto again = make_remote_backend(o);
  EXPECT_EQ(again->ask(space).number, 4);
  // SIGTERM is a clean exit.
  EXPECT_EQ(server.stop(), 0) << server.log();
}

// An interrupted trial queued again through the server: once (a second request returns the
// same retry), with RetryFailedTrialCallback's attrs, and the next ask gets its params.
TEST(SweepRemote, RequeuedTrialIsAskedNextWithTheSameParams) {
  KILN_REQUIRE_OPTUNA();
  TempDir dir("remote");
  OptunaServer server(dir / "study.journal", {"--sampler", "random", "--seed", "5", "--pruner", "none"});
  auto backend = make_remote_backend(options(server, dir));
  const optuna::Space space = demo_space();
  const optuna::Asked a = backend->ask(space);
  backend->tell(a, optuna::TrialState::kFail, std::nullopt, "interrupted");
  const int n = backend->requeue(a.number);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(backend->requeue(a.number), n) << "a retry is queued once";
  const optuna::Asked b = backend->ask(space);
  EXPECT_EQ(b.number, n);
  EXPECT_EQ(b.params, a.params);
  const optuna::Study s = backend->snapshot();
  ASSERT_EQ(s.trials.size(), 2u);
  EXPECT_EQ(s.trials[1].system_attrs.value("failed_trial", -1), a.number);
  EXPECT_EQ(s.trials[1].system_attrs.value("retry_history", json()), json::array({a.number}));
  EXPECT_EQ(backend->requeue(b.number), -1) << "a RUNNING trial is not queued (409)";
  EXPECT_EQ(server.stop(), 0) << server.log();
}

TEST(SweepRemote, MedianPrunerPrunesABadCurveAfterStartupTrials) {
  KILN_REQUIRE_OPTUNA();
  TempDir dir("remote");
  OptunaServer server(dir / "study.journal",
                      {"--sampler", "random", "--seed", "1", "--pruner", "median", "--n-startup-trials", "3"});
  auto backend = make_remote_backend(options(server, dir));
  const optuna::Space space = demo_space();
  const auto curve = [](double scale, int step) { return scale / (step + 1); };  // minimised
  for (int i = 0; i < 3; ++i) {
    // Before 3 trials have completed nothing is pruned, however bad: n_startup_trials.
    optuna::Asked bad = backend->ask(space);
    EXPECT_FALSE(backend->report(bad, 0, 100.0)) << "pruned with only " << i << " complete trials";
    backend->tell(bad, optuna::TrialState::kFail, std::nullopt, "test");
    optuna::Asked a = backend->ask(space);
    for (int step = 0; step < 5; ++step) EXPECT_FALSE(backend->report(a, step, curve(1.0 + 0.1 * i, step)));
    backend->tell(a, optuna::TrialState::kComplete, curve(1.0 + 0.1 * i, 4));
  }
  optuna::Asked bad = backend->ask(space);
  EXPECT_TRUE(backend->report(bad, 0, 10.0)) << "10 is far above the median 1.1 at step 0";
  EXPECT_TRUE(backend->report(bad, 0, 10.0)) << "a repeated step gets the same decision";
  backend->tell(bad, optuna::TrialState::kPruned, std::nullopt);
  optuna::Asked good = backend->ask(space);
  for (int step = 0; step < 5; ++step) EXPECT_FALSE(backend->report(good, step, curve(0.5, step)));
  backend->tell(good, optuna::TrialState::kComplete, curve(0.5, 4));
  const optuna::Study s = backend->snapshot();
  ASSERT_EQ(s.trials.size(), 8u);
  EXPECT_EQ(s.trials[6].state, optuna::TrialState::kPruned);
  EXPECT_DOUBLE_EQ(*s.trials[6].value, 10.0);
  EXPECT_EQ(s.trials[7].state, optuna::TrialState::kComplete);
}

TEST(SweepRemote, ParallelTrialsShareOneClient) {
  KILN_REQUIRE_OPTUNA();
  TempDir dir("remote");
  OptunaServer server(dir / "study.journal", {"--sampler", "random", "--pruner", "none"});
  RemoteOptions o = options(server, dir);
  auto backend = make_remote_backend(o);
  std::vector<std::thread> workers;
  std::vector<int> trial_ids(4, -1);
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {  // as `kiln sweep --parallel 4` drives it
      optuna::Asked a = backend->ask(demo_space());
      for (int step = 0; step < 3; ++step) backend->report(a, step, w + 0.1 * step);
      backend->tell(a, optuna::TrialState::kComplete, w + 0.5);
      trial_ids[w] = a.trial_id;
    });
  }
  for (auto& t : workers) t.join();
  const optuna::Study s = backend->snapshot();
  ASSERT_EQ(s.trials.size(), 4u);
  for (int w = 0; w < 4; ++w) {
    const auto it =
        std::find_if(s.trials.begin(), s.trials.end(), [&](const optuna::Trial& t) { return t.id == trial_ids[w]; });
    ASSERT_NE(it, s.trials.end());
    EXPECT_EQ(it->state, optuna::TrialState::kComplete);
    EXPECT_DOUBLE_EQ(*it->value, w + 0.5);
    EXPECT_EQ(it->intermediate.size(), 3u);
  }
  EXPECT_FALSE(fs::exists(o.pending_file));
}

TEST(SweepRemote, ServerRestartMidSweepLosesNothing) {
  KILN_REQUIRE_OPTUNA();
  TempDir dir("remote");
  const std::vector<std::string> flags{"--sampler", "random", "--seed", "5", "--pruner", "none"};
  auto server = std::make_unique<OptunaServer>(dir / "study.journal", flags);
  const int port = server->port();
  auto backend = make_remote_backend(options(*server, dir));
  const optuna::Space space = demo_space();
  optuna::Asked first = backend->ask(space);
  EXPECT_FALSE(backend->report(first, 0, 3.0));
  server->kill();  // SIGKILL: no goodbye

  // The rest of the sweep runs while the server is down; it is back half a second later.
  std::promise<void> started;
  auto rest = std::async(std::launch::async, [&] {
    started.set_value();
    EXPECT_FALSE(backend->report(first, 1, 2.0));
    backend->tell(first, optuna::TrialState::kComplete, 2.0);
    optuna::Asked second = backend->ask(space);
    EXPECT_FALSE(backend->report(second, 0, 1.5));
    backend->tell(second, optuna::TrialState::kComplete, 1.5);
    return second;
  });
  started.get_future().wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  server = std::make_unique<OptunaServer>(dir / "study.journal", flags, port);
  const optuna::Asked second = rest.get();

  const json py = dump_study(dir / "study.journal", "remote-test");
  ASSERT_EQ(py["trials"].size(), 2u) << py.dump();
  EXPECT_EQ(py["trials"][0]["state"], "COMPLETE");
  EXPECT_EQ(py["trials"][0]["intermediate"], (json{{"0", 3.0}, {"1", 2.0}}));
  EXPECT_EQ(py["trials"][0]["value"], 2.0);
  EXPECT_EQ(py["trials"][1]["trial_id"], second.trial_id);
  EXPECT_EQ(py["trials"][1]["state"], "COMPLETE");
  EXPECT_EQ(py["trials"][1]["value"], 1.5);
  EXPECT_FALSE(std::filesystem::exists(dir / "pending.jsonl"));
}

TEST(SweepRemote, ServerThatStaysDownGivesUpAndTheTellIsSentByTheNextClient) {
  KILN_REQUIRE_OPTUNA();
  TempDir dir("remote");
  const std::vector<std::string> flags{"--pruner", "none"};
  auto server = std::make_unique<OptunaServer>(dir / "study.journal", flags);
  RemoteOptions o = options(*server, dir);
  o.request_timeout_s = 1;
  o.give_up_after_s = 1.5;
  auto backend = make_remote_backend(o);
  optuna::Asked a = backend->ask(demo_space());
  server->kill();
  try {
    backend->tell(a, optuna::TrialState::kComplete, 0.25);
    FAIL() << "tell succeeded with the server down";
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kRuntime);
    EXPECT_NE(std::string(e.what()).find(o.url), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("did not answer"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find(o.pending_file.string()), std::string::npos) << e.hint();
  }
  const auto lines = kiln_test::split_lines(kiln_test::read_file(o.pending_file));
  ASSERT_EQ(lines.size(), 1u);
  const json rec = json::parse(lines[0]);
  EXPECT_EQ(rec["op"], "tell");
  EXPECT_EQ(rec["trial_id"], a.trial_id);

  // Back up (on any port): a new client sends the pending tell before anything else.
  server = std::make_unique<OptunaServer>(dir / "study.journal", flags);
  o.url = server->url();
  {  // plus a record no server can take (an unknown trial id): set aside, not retried forever
    std::ofstream out(o.pending_file, std::ios::app);
    out << R"({"id": "x-1", "op": "report", "trial_id": 999, "number": 9, "step": 0, "value": 1})"
        << "\n";
  }
  auto next = make_remote_backend(o);
  EXPECT_FALSE(std::filesystem::exists(o.pending_file));
  const auto rejected = kiln_test::split_lines(kiln_test::read_file(o.pending_file.string() + ".rejected"));
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(json::parse(rejected[0])["trial_id"], 999);
  EXPECT_NE(json::parse(rejected[0])["rejected_because"].get<std::string>().find("404"), std::string::npos);
  const optuna::Study s = next->snapshot();
  ASSERT_EQ(s.trials.size(), 1u);
  EXPECT_EQ(s.trials[0].state, optuna::TrialState::kComplete);
  EXPECT_DOUBLE_EQ(*s.trials[0].value, 0.25);
}

TEST(SweepRemote, TokenRequiredGivesAClearError) {
  KILN_REQUIRE_OPTUNA();
  TempDir dir("remote");
  OptunaServer server(dir / "study.journal", {"--token", "s3cret"});
  RemoteOptions o = options(server, dir);
  for (const std::string token : {"", "wrong"}) {
    o.token = token;
    try {
      make_remote_backend(o);
      FAIL() << "connected with token '" << token << "'";
    } catch (const kiln::Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage);
      EXPECT_NE(std::string(e.what()).find("401"), std::string::npos) << e.what();
      EXPECT_NE(e.hint().find("token"), std::string::npos) << e.hint();
    }
  }
  o.token = "s3cret";
  EXPECT_EQ(make_remote_backend(o)->ask(demo_space()).number, 0);
}

TEST(SweepRemote, BadSearchSpaceSurfacesTheServersReason) {
  KILN_REQUIRE_OPTUNA();
  TempDir dir("remote");
  OptunaServer server(dir / "study.journal", {});
  auto backend = make_remote_backend(options(server, dir));
  const auto expect_refused = [&](const optuna::Space& space, const std::string& needle) {
    try {
      backend->ask(space);
      FAIL() << "ask accepted a bad search space";
    } catch (const kiln::Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage);
      EXPECT_NE(std::string(e.what()).find("400"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(e.hint().find("search space"), std::string::npos) << e.hint();
    }
  };
  // low > high: Optuna's own FloatDistribution check, passed through.
  expect_refused({{"x", optuna::Distribution{optuna::Distribution::Kind::kFloat, 1.0, 0.0, false, std::nullopt, {}}}},
                 "low");
  // log with low <= 0.
  expect_refused({{"x", optuna::Distribution{optuna::Distribution::Kind::kFloat, 0.0, 1.0, true, std::nullopt, {}}}},
                 "x");
  // A name that changes kind between trials (Optuna's compatibility rule).
  backend->ask(demo_space());
  expect_refused(
      {{"layers", optuna::Distribution{optuna::Distribution::Kind::kFloat, 1.0, 4.0, false, std::nullopt, {}}}},
      "layers");
  EXPECT_EQ(backend->snapshot().trials.size(), 1u) << "refused asks create no trial";
}

}  // namespace
}  // namespace kiln::sweep
