// Tests that real Optuna (the venv's Python) and kiln share study files: Optuna opens and
// continues what kiln wrote, kiln reads what Optuna wrote (and pops its enqueued trials),
// both agree on a hand-written file, and both append to one file at the same time.
// Each test skips with a reason when that Python cannot import optuna.
#include <chrono>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "journal_test_util.h"
#include "optuna/distribution_json.h"
#include "optuna/journal.h"
#include "optuna/python_json.h"

namespace kiln::optuna {
namespace {

using journal_test::run_python;
using journal_test::same_double;
using nlohmann::json;
using test_support::shell_quote;
using test_support::TempDir;

// The same JSON kind: Python's int/float/bool/None/str survive the trip as themselves.
bool same_kind(const json& a, const json& b) {
  if (a.is_number_integer() || b.is_number_integer()) return a.is_number_integer() && b.is_number_integer();
  return a.type() == b.type();
}

json read_with_optuna(const std::filesystem::path& path, const std::string& study) {
  return python_json_loads(run_python("journal_read.py", shell_quote(path.string()) + " " + shell_quote(study)));
}

// Every field journal_read.py prints must agree with kiln's replay of the same file.
void expect_matches_python(const json& py, const Study& s) {
  EXPECT_EQ(py.at("study_name"), s.name);
  EXPECT_EQ(py.at("study_id"), s.id);
  EXPECT_EQ(py.at("directions"), json::array({static_cast<int>(s.direction)}));
  EXPECT_EQ(py.at("user_attrs"), s.user_attrs);
  EXPECT_EQ(py.at("system_attrs"), s.system_attrs);
  const json& trials = py.at("trials");
  ASSERT_EQ(trials.size(), s.trials.size());
  for (size_t i = 0; i < trials.size(); ++i) {
    const json& p = trials[i];
    const Trial& t = s.trials[i];
    SCOPED_TRACE("trial number " + std::to_string(i));
    EXPECT_EQ(p.at("trial_id"), t.id);
    EXPECT_EQ(p.at("number"), t.number);
    EXPECT_EQ(p.at("state"), journal_test::state_name(t.state));
    EXPECT_EQ(p.at("params").size(), t.params.size());
    for (auto it = p.at("params").begin(); it != p.at("params").end(); ++it) {
      ASSERT_TRUE(t.params.count(it.key())) << it.key();
      const json ours = to_external(t.distributions.at(it.key()), t.params.at(it.key()));
      EXPECT_TRUE(ours == it.value() && same_kind(ours, it.value()))
          << it.key() << ": " << ours << " vs " << it.value();
    }
    EXPECT_EQ(p.at("distributions").size(), t.distributions.size());
    for (auto it = p.at("distributions").begin(); it != p.at("distributions").end(); ++it) {
      EXPECT_EQ(it.value(), distribution_to_json(t.distributions.at(it.key()))) << it.key();  // byte-equal
    }
    const json& values = p.at("values");
    EXPECT_EQ(!values.is_null(), t.value.has_value());
    if (!values.is_null() && t.value) {
      ASSERT_EQ(values.size(), 1u);
      EXPECT_TRUE(same_double(values[0].get<double>(), *t.value));
    }
    EXPECT_EQ(p.at("intermediate_values").size(), t.intermediate.size());
    for (auto it = p.at("intermediate_values").begin(); it != p.at("intermediate_values").end(); ++it) {
      const int step = std::stoi(it.key());
      ASSERT_TRUE(t.intermediate.count(step)) << step;
      EXPECT_TRUE(same_double(it.value().get<double>(), t.intermediate.at(step))) << step;
    }
    EXPECT_EQ(p.at("user_attrs"), t.user_attrs);
    EXPECT_EQ(p.at("system_attrs"), t.system_attrs);
    EXPECT_EQ(p.at("datetime_start").is_null() ? "" : p.at("datetime_start").get<std::string>(), t.datetime_start);
    EXPECT_EQ(p.at("datetime_complete").is_null() ? "" : p.at("datetime_complete").get<std::string>(),
              t.datetime_complete);
  }
}

// Starts journal_worker.py (N ask/tell trials) and waits until it has opened the study.
FILE* start_python_worker(const std::filesystem::path& path, const std::string& study, int n,
                          const std::filesystem::path& ready) {
  const std::string cmd = test_support::interop_command("journal_worker.py") + " " + shell_quote(path.string()) + " " +
                          shell_quote(study) + " " + std::to_string(n) + " " + shell_quote(ready.string());
  FILE* worker = ::popen(cmd.c_str(), "r");
  if (worker == nullptr) return nullptr;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!std::filesystem::exists(ready) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return worker;
}

TEST(SweepJournalInterop, OptunaOpensAndContinuesWhatKilnWrote) {
  KILN_REQUIRE_OPTUNA();
  TempDir dir;
  const auto path = dir / "study.journal";
  Journal j(path);
  const Study created =
      j.open_or_create("demo", Direction::kMaximize, "val_acc", {{"owner", "kiln"}, {"config", {{"epochs", 3}}}});
  const auto plan = journal_test::planned_trials();
  journal_test::write_plan(j, created.id, plan);
  const json py = read_with_optuna(path, "demo");
  // What kiln was asked to write, as Optuna sees it.
  EXPECT_EQ(py.at("directions"), json::array({2}));
  EXPECT_EQ(py.at("user_attrs"), json({{"owner", "kiln"}, {"config", {{"epochs", 3}}}}));
  EXPECT_EQ(py.at("system_attrs"), json({{"study:metric_names", {"val_acc"}}}));
  ASSERT_EQ(py.at("trials").size(), plan.size());
  const Space space = journal_test::full_space();
  for (size_t i = 0; i < plan.size(); ++i) {
    const json& p = py.at("trials")[i];
    SCOPED_TRACE("trial " + std::to_string(i));
    EXPECT_EQ(p.at("number"), i);
    EXPECT_EQ(p.at("state"), journal_test::state_name(plan[i].state));
    for (const auto& [name, dist] : space) {
      const json expected = to_external(dist, plan[i].params.at(name));
      EXPECT_TRUE(p.at("params").at(name) == expected && same_kind(p.at("params").at(name), expected)) << name;
      EXPECT_EQ(p.at("distributions").at(name), distribution_to_json(dist));
    }
    EXPECT_EQ(p.at("values").is_null(), !plan[i].value.has_value());
    if (plan[i].value) {
      EXPECT_EQ(p.at("values"), json::array({*plan[i].value}));
    }
    EXPECT_EQ(p.at("intermediate_values").size(), plan[i].intermediate.size());
    for (const auto& [step, v] : plan[i].intermediate) {
      EXPECT_TRUE(same_double(p.at("intermediate_values").at(std::to_string(step)).get<double>(), v)) << step;
    }
    EXPECT_EQ(p.at("user_attrs"), plan[i].user_attrs);
    EXPECT_EQ(p.at("system_attrs"), plan[i].system_attrs);
  }
  expect_matches_python(py, *Journal(path).load("demo"));  // ids and datetimes too
  // Optuna can continue the study: two more trials by a Python worker, seen by kiln.
  FILE* worker = start_python_worker(path, "demo", 2, dir / "ready");
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(::pclose(worker), 0);
  const Study after = *j.load("demo");
  ASSERT_EQ(after.trials.size(), plan.size() + 2);
  EXPECT_EQ(after.trials.back().state, TrialState::kComplete);
  EXPECT_EQ(after.trials.back().user_attrs.value("owner", ""), "python");
}

// A retry kiln queues (an interrupted trial's params) is an enqueued trial to Optuna: WAITING,
// fixed_params, and RetryFailedTrialCallback's failed_trial / retry_history attrs.
TEST(SweepJournalInterop, OptunaSeesKilnsRetryAsAnEnqueuedTrial) {
  KILN_REQUIRE_OPTUNA();
  TempDir dir;
  const auto path = dir / "study.journal";
  Journal j(path);
  const Study created = j.open_or_create("demo", Direction::kMaximize, "val_acc", json::object());
  const auto plan = journal_test::planned_trials();
  journal_test::write_plan(j, created.id, plan);
  const json fixed = {{"lr", 0.001}, {"act", "relu"}};
  j.enqueue(created.id, fixed, {{"failed_trial", 1}, {"retry_history", {1}}});
  const json py = read_with_optuna(path, "demo");
  const json& last = py.at("trials").back();
  EXPECT_EQ(last.at("state"), "WAITING");
  EXPECT_EQ(last.at("system_attrs"), json({{"fixed_params", fixed}, {"failed_trial", 1}, {"retry_history", {1}}}));
  expect_matches_python(py, *Journal(path).load("demo"));
}

TEST(SweepJournalInterop, KilnReadsWhatOptunaWroteAndPopsItsQueue) {
  KILN_REQUIRE_OPTUNA();
  TempDir dir;
  const auto path = dir / "study.journal";
  const json py = python_json_loads(run_python("journal_write.py", shell_quote(path.string()) + " pystudy"));
  Journal j(path);
  const std::optional<Study> s = j.load("pystudy");
  ASSERT_TRUE(s);
  expect_matches_python(py, *s);
  EXPECT_FALSE(j.load("other"));  // deleted by the script
  // What the script did, independently of the replay: states in order, the pruned value.
  std::vector<std::string> states;
  for (const Trial& t : s->trials) states.push_back(journal_test::state_name(t.state));
  EXPECT_EQ(states,
            (std::vector<std::string>{"COMPLETE", "PRUNED", "FAIL", "RUNNING", "COMPLETE", "COMPLETE", "WAITING"}));
  EXPECT_EQ(s->trials[1].value, 0.2);
  // kiln's next trial is the one still WAITING; its fixed params beat the sampler.
  Space space = journal_test::full_space();
  space.push_back({"x", distribution_from_json(std::string(R"({"type": "float", "low": -1, "high": 1})"))});
  const Asked a = j.create_trial(s->id, space, [](const Study&, int) {
    return std::map<std::string, double>{{"lr", 0.05},  {"dropout", 0.3}, {"layers", 7},
                                         {"width", 32}, {"opt", 0},       {"x", 0.0}};
  });
  EXPECT_EQ(a.number, 6);
  EXPECT_EQ(a.trial_id, s->trials[6].id);
  EXPECT_EQ(a.params, (std::map<std::string, double>{
                          {"lr", 0.001}, {"dropout", 0.3}, {"layers", 2}, {"width", 32}, {"opt", 2}, {"x", 0.0}}));
  const json py2 = read_with_optuna(path, "pystudy");
  const json& popped = py2.at("trials").at(6);
  EXPECT_EQ(popped.at("state"), "RUNNING");
  EXPECT_EQ(popped.at("params"),
            json({{"lr", 0.001}, {"dropout", 0.3}, {"layers", 2}, {"width", 32}, {"opt", nullptr}, {"x", 0.0}}));
  expect_matches_python(py2, *Journal(path).load("pystudy"));
}

TEST(SweepJournalInterop, HandWrittenFileReadsTheSameInOptuna) {
  KILN_REQUIRE_OPTUNA();
  TempDir dir;
  const auto path = dir / "study.journal";
  journal_test::write_text(path, journal_test::hand_written_journal());
  Journal j(path);
  expect_matches_python(read_with_optuna(path, "s"), *j.load("s"));
  expect_matches_python(read_with_optuna(path, "gone"), *j.load("gone"));
}

TEST(SweepJournalInterop, KilnAndAPythonWorkerAppendAtTheSameTime) {
  KILN_REQUIRE_OPTUNA();
  TempDir dir;
  const auto path = dir / "study.journal";
  constexpr int kTrials = 12;  // per writer
  Journal j(path);
  const int study = j.open_or_create("shared", Direction::kMinimize, "loss", json::object()).id;
  // The same params and objective as journal_worker.py.
  const Space space = {{"x", distribution_from_json(std::string(R"({"type": "float", "low": 0, "high": 1})"))},
                       {"k", distribution_from_json(std::string(R"({"type": "int", "low": 1, "high": 8})"))},
                       {"c", distribution_from_json(std::string(R"({"type": "categorical", "choices": ["a", "b"]})"))}};
  auto objective = [](double x, double k, double c) { return x + k + (c == 1 ? 0.5 : 0.0); };
  FILE* worker = start_python_worker(path, "shared", kTrials, dir / "ready");
  ASSERT_NE(worker, nullptr);
  std::map<int, Asked> ours;  // by trial id
  for (int i = 0; i < kTrials; ++i) {
    const Asked a = j.create_trial(study, space, [](const Study&, int number) {
      return std::map<std::string, double>{{"x", (number + 0.25) / 64.0}, {"k", 1 + number % 8}, {"c", number % 2}};
    });
    j.set_user_attr(a.trial_id, "owner", "kiln");
    j.report(a.trial_id, 0, 2 * a.params.at("x"));
    j.finish(a.trial_id, TrialState::kComplete, objective(a.params.at("x"), a.params.at("k"), a.params.at("c")));
    ours[a.trial_id] = a;
    // Python's trials take longer (an append per call); a pause lets them interleave with ours.
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
  EXPECT_EQ(::pclose(worker), 0);
  const Study s = *Journal(path).load("shared");
  ASSERT_EQ(s.trials.size(), 2u * kTrials);
  expect_matches_python(read_with_optuna(path, "shared"), s);  // Python sees the same 2N trials
  std::set<int> ids;
  int by_kiln = 0, by_python = 0;
  for (const Trial& t : s.trials) {
    SCOPED_TRACE("trial " + std::to_string(t.number));
    ids.insert(t.id);
    EXPECT_EQ(t.state, TrialState::kComplete);
    ASSERT_EQ(t.params.size(), 3u);
    const double x = t.params.at("x"), k = t.params.at("k"), c = t.params.at("c");
    EXPECT_EQ(t.value, objective(x, k, c));
    EXPECT_EQ(t.intermediate, (std::map<int, double>{{0, 2 * x}}));
    const std::string owner = t.user_attrs.value("owner", "");
    if (owner == "kiln") {
      ++by_kiln;
      ASSERT_TRUE(ours.count(t.id));
      EXPECT_EQ(ours[t.id].number, t.number);
      EXPECT_EQ(ours[t.id].params, t.params);
    } else {
      EXPECT_EQ(owner, "python");
      ++by_python;
    }
  }
  EXPECT_EQ(ids.size(), 2u * kTrials);
  EXPECT_EQ(by_kiln, kTrials);
  EXPECT_EQ(by_python, kTrials);
}

}  // namespace
}  // namespace kiln::optuna
