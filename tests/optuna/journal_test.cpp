// Tests of the study file on kiln's side alone: round trip through kiln's replay, the exact
// record shapes, Optuna's replay rules on a hand-written file, resume, corrupt and truncated
// lines, concurrent kiln writers, and the lock. (Python interop: journal_interop_test.cpp.)
#include "optuna/journal.h"

#include <atomic>
#include <cmath>
#include <ctime>
#include <thread>

#include <gtest/gtest.h>

#include "journal_test_util.h"
#include "util/error.h"

namespace kiln::optuna {
namespace {

using journal_test::planned_trials;
using journal_test::read_text;
using journal_test::same_double;
using journal_test::write_text;
using nlohmann::json;
using test_support::TempDir;

Study open_demo(Journal& j) {
  return j.open_or_create("demo", Direction::kMinimize, "val_loss",
                          {{"spec", "sweep.toml"}, {"kiln.config", {{"epochs", 10}}}});
}

void expect_trial_matches_plan(const Trial& t, const journal_test::PlannedTrial& p) {
  const Space space = journal_test::full_space();
  EXPECT_EQ(t.state, p.state);
  ASSERT_EQ(t.params.size(), space.size());
  for (const auto& [name, dist] : space) {
    EXPECT_EQ(t.params.at(name), p.params.at(name)) << name;
    EXPECT_EQ(distribution_to_json(t.distributions.at(name)), distribution_to_json(dist)) << name;
  }
  EXPECT_EQ(t.value.has_value(), p.value.has_value());
  if (t.value && p.value) {
    EXPECT_TRUE(same_double(*t.value, *p.value));
  }
  ASSERT_EQ(t.intermediate.size(), p.intermediate.size());
  for (const auto& [step, v] : p.intermediate) EXPECT_TRUE(same_double(t.intermediate.at(step), v)) << step;
  EXPECT_EQ(t.user_attrs, p.user_attrs);
  EXPECT_EQ(t.system_attrs, p.system_attrs);
  EXPECT_TRUE(journal_test::is_journal_datetime(t.datetime_start)) << t.datetime_start;
  if (is_finished(p.state))
    EXPECT_TRUE(journal_test::is_journal_datetime(t.datetime_complete)) << t.datetime_complete;
  else
    EXPECT_EQ(t.datetime_complete, "");
}

std::string error_of(const std::function<void()>& f, ExitCode* code = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (code) *code = e.code();
    return e.what();
  }
  return "";
}

TEST(SweepJournal, RoundTripThroughKilnReplay) {
  TempDir dir;
  const auto path = dir / "study.journal";
  Journal writer(path);
  EXPECT_FALSE(writer.load("demo"));  // no file yet
  const Study created = open_demo(writer);
  const auto plan = planned_trials();
  const std::vector<Asked> asked = journal_test::write_plan(writer, created.id, plan);
  for (size_t i = 0; i < plan.size(); ++i) {
    EXPECT_EQ(asked[i].number, static_cast<int>(i));
    EXPECT_EQ(asked[i].params, plan[i].params);
  }
  // A fresh instance replays the file from the start; the writer's own cache must agree.
  for (const Journal* j : {static_cast<const Journal*>(&writer), static_cast<const Journal*>(nullptr)}) {
    Journal fresh(path);
    const std::optional<Study> s = j ? j->load("demo") : fresh.load("demo");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->id, 0);
    EXPECT_EQ(s->direction, Direction::kMinimize);
    EXPECT_EQ(s->user_attrs, json({{"spec", "sweep.toml"}, {"kiln.config", {{"epochs", 10}}}}));
    EXPECT_EQ(s->system_attrs, json({{"study:metric_names", {"val_loss"}}}));
    ASSERT_EQ(s->trials.size(), plan.size());
    for (size_t i = 0; i < plan.size(); ++i) {
      SCOPED_TRACE("trial " + std::to_string(i));
      EXPECT_EQ(s->trials[i].number, static_cast<int>(i));
      EXPECT_EQ(s->trials[i].id, asked[i].trial_id);
      expect_trial_matches_plan(s->trials[i], plan[i]);
    }
  }
}

TEST(SweepJournal, RecordsHaveOptunasExactShape) {
  TempDir dir;
  const auto path = dir / "study.journal";
  Journal j(path);
  const int study = j.open_or_create("s", Direction::kMinimize, "val_loss", json::object()).id;
  const Asked a = j.create_trial(study, journal_test::full_space(), [](const Study&, int) {
    return std::map<std::string, double>{{"lr", 0.001}, {"dropout", 0.2}, {"layers", 3}, {"width", 64}, {"opt", 1}};
  });
  j.report(a.trial_id, 1, std::nan(""));
  j.finish(a.trial_id, TrialState::kComplete, 0.5);
  const std::string text = read_text(path);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\r'), std::string::npos);
  const auto lines = journal_test::lines_of(text);
  ASSERT_EQ(lines.size(), 10u);
  const std::string w = "\"worker_id\":\"" + j.worker_id() + "\"";
  // Shapes as Optuna 4.x writes them (optuna.md §2.3): compact separators, this key order.
  EXPECT_EQ(lines[0], "{\"op_code\":0," + w + ",\"study_name\":\"s\",\"directions\":[1]}");
  EXPECT_EQ(lines[1],
            "{\"op_code\":3," + w + ",\"study_id\":0,\"system_attr\":{\"study:metric_names\":[\"val_loss\"]}}");
  const std::string create_prefix = "{\"op_code\":4," + w + ",\"study_id\":0,\"datetime_start\":\"";
  ASSERT_EQ(lines[2].compare(0, create_prefix.size(), create_prefix), 0) << lines[2];
  EXPECT_TRUE(journal_test::is_journal_datetime(lines[2].substr(create_prefix.size(), 26))) << lines[2];
  EXPECT_EQ(lines[2].substr(create_prefix.size() + 26), "\"}");
  EXPECT_EQ(lines[3],
            "{\"op_code\":5," + w +
                ",\"trial_id\":0,\"param_name\":\"lr\",\"param_value_internal\":0.001,"
                "\"distribution\":\"{\\\"name\\\": \\\"FloatDistribution\\\", \\\"attributes\\\": {\\\"step\\\": null, "
                "\\\"low\\\": 1e-05, \\\"high\\\": 0.1, \\\"log\\\": true}}\"}");
  EXPECT_NE(lines[5].find("\"param_name\":\"layers\",\"param_value_internal\":3.0,"), std::string::npos) << lines[5];
  EXPECT_NE(lines[7].find("\"param_name\":\"opt\",\"param_value_internal\":1,"), std::string::npos) << lines[7];
  EXPECT_EQ(lines[8], "{\"op_code\":7," + w + ",\"trial_id\":0,\"step\":1,\"intermediate_value\":NaN}");
  const std::string finish_prefix =
      "{\"op_code\":6," + w + ",\"trial_id\":0,\"state\":1,\"values\":[0.5],\"datetime_complete\":\"";
  ASSERT_EQ(lines[9].compare(0, finish_prefix.size(), finish_prefix), 0) << lines[9];
  EXPECT_TRUE(journal_test::is_journal_datetime(lines[9].substr(finish_prefix.size(), 26))) << lines[9];
  EXPECT_NE(Journal(path).worker_id(), j.worker_id());  // a fresh worker id per instance
}

TEST(SweepJournal, OpenOrCreateNeverWritesADuplicateStudy) {
  TempDir dir;
  const auto path = dir / "study.journal";
  Journal a(path), b(path);
  const Study s1 = open_demo(a);
  const Study s2 = open_demo(b);
  const Study s3 = open_demo(a);
  EXPECT_EQ(s1.id, 0);
  EXPECT_EQ(s2.id, 0);
  EXPECT_EQ(s3.id, 0);
  const std::string text = read_text(path);
  size_t creates = 0, user_attrs = 0;
  for (const auto& line : journal_test::lines_of(text)) {
    creates += line.rfind("{\"op_code\":0,", 0) == 0;
    user_attrs += line.rfind("{\"op_code\":2,", 0) == 0;
  }
  EXPECT_EQ(creates, 1u);
  EXPECT_EQ(user_attrs, 2u);  // one per key, only when creating
  ExitCode code = ExitCode::kOk;
  const std::string msg =
      error_of([&] { b.open_or_create("demo", Direction::kMaximize, "acc", json::object()); }, &code);
  EXPECT_EQ(code, ExitCode::kUsage);
  EXPECT_NE(msg.find("demo"), std::string::npos) << msg;
  EXPECT_EQ(read_text(path), text);  // nothing written
  EXPECT_EQ(b.open_or_create("other", Direction::kMaximize, "acc", json::object()).id, 1);
}

TEST(SweepJournal, IncompatibleParamIsAUsageErrorBeforeWriting) {
  TempDir dir;
  const auto path = dir / "study.journal";
  Journal j(path);
  const int study = open_demo(j).id;
  journal_test::write_plan(j, study, {planned_trials()[0]});
  const std::string before = read_text(path);
  Space changed = journal_test::full_space();
  changed[0].second.log = false;  // lr was log-scaled in the study
  ExitCode code = ExitCode::kOk;
  const std::string msg = error_of(
      [&] {
        j.create_trial(study, changed, [](const Study&, int) {
          return std::map<std::string, double>{
              {"lr", 0.01}, {"dropout", 0.2}, {"layers", 3}, {"width", 64}, {"opt", 1}};
        });
      },
      &code);
  EXPECT_EQ(code, ExitCode::kUsage);
  EXPECT_NE(msg.find("'lr'"), std::string::npos) << msg;
  EXPECT_EQ(read_text(path), before);
  // A different range for the same kind is fine in Optuna (dynamic search spaces).
  Space wider = journal_test::full_space();
  wider[0].second.high = 0.5;
  const Asked a = j.create_trial(study, wider, [](const Study&, int) {
    return std::map<std::string, double>{{"lr", 0.3}, {"dropout", 0.2}, {"layers", 3}, {"width", 64}, {"opt", 1}};
  });
  EXPECT_EQ(j.load("demo")->trials.at(1).params.at("lr"), 0.3);
  EXPECT_EQ(j.load("demo")->trials.at(1).distributions.at("lr").high, 0.5);
  EXPECT_EQ(a.number, 1);
}

TEST(SweepJournal, FinishedTrialIsNeverUpdated) {
  TempDir dir;
  const auto path = dir / "study.journal";
  Journal j(path);
  const int study = open_demo(j).id;
  const Asked a = journal_test::write_plan(j, study, {planned_trials()[3]})[0];  // running, step 0 reported
  const std::string running = read_text(path);
  j.report(a.trial_id, 0, 5.0);  // a step already reported: ignored, as Optuna does
  EXPECT_EQ(read_text(path), running);
  EXPECT_TRUE(j.finish(a.trial_id, TrialState::kComplete, 1.25));
  const std::string finished = read_text(path);
  EXPECT_FALSE(j.finish(a.trial_id, TrialState::kFail, std::nullopt));
  j.report(a.trial_id, 7, 1.0);
  j.set_user_attr(a.trial_id, "late", 1);
  j.set_system_attr(a.trial_id, "late", 1);
  EXPECT_EQ(read_text(path), finished);
  const Trial t = j.load("demo")->trials[0];
  EXPECT_EQ(t.state, TrialState::kComplete);
  EXPECT_EQ(t.value, 1.25);
  ExitCode code = ExitCode::kOk;
  error_of([&] { j.report(99, 0, 1.0); }, &code);
  EXPECT_EQ(code, ExitCode::kRuntime);
  error_of([&] { j.finish(a.trial_id, TrialState::kComplete, std::nullopt); }, &code);
  EXPECT_EQ(code, ExitCode::kUsage);
}

TEST(SweepJournal, FailRunningMarksOnlyRunningTrials) {
  TempDir dir;
  const auto path = dir / "study.journal";
  Journal j(path);
  const int study = open_demo(j).id;
  auto plan = planned_trials();
  plan.push_back(plan[3]);  // a second running trial (#5)
  journal_test::write_plan(j, study, plan);
  const Study before = *j.load("demo");
  const std::vector<int> failed = Journal(path).fail_running(study, "killed: sweep resumed");
  EXPECT_EQ(failed, (std::vector<int>{3, 5}));
  const Study after = *Journal(path).load("demo");
  ASSERT_EQ(after.trials.size(), before.trials.size());
  for (size_t i = 0; i < after.trials.size(); ++i) {
    const Trial& a = after.trials[i];
    const Trial& b = before.trials[i];
    if (i == 3 || i == 5) {
      EXPECT_EQ(a.state, TrialState::kFail);
      EXPECT_EQ(a.user_attrs.value("fail_reason", ""), "killed: sweep resumed");
      EXPECT_TRUE(journal_test::is_journal_datetime(a.datetime_complete));
      EXPECT_FALSE(a.value);
      EXPECT_EQ(a.params, b.params);
    } else {
      EXPECT_EQ(a.state, b.state) << i;
      EXPECT_EQ(a.user_attrs, b.user_attrs) << i;
      EXPECT_EQ(a.datetime_complete, b.datetime_complete) << i;
    }
  }
  EXPECT_TRUE(j.fail_running(study, "again").empty());
}

TEST(SweepJournal, CorruptMiddleLineIsAnErrorNamingTheLine) {
  TempDir dir;
  const auto path = dir / "study.journal";
  {
    Journal j(path);
    journal_test::write_plan(j, open_demo(j).id, {planned_trials()[0]});
  }
  auto lines = journal_test::lines_of(read_text(path));
  for (const std::string bad :
       {"{\"op_code\":4,\"worker_id\":\"x\",\"study_id\":0,", "{\"op_code\":5,\"worker_id\":\"x\",\"trial_id\":0}"}) {
    auto corrupt = lines;
    corrupt.insert(corrupt.begin() + 4, bad);  // becomes line 5
    std::string text;
    for (const auto& l : corrupt) text += l + "\n";
    write_text(path, text);
    ExitCode code = ExitCode::kOk;
    const std::string msg = error_of([&] { Journal(path).load("demo"); }, &code);
    EXPECT_EQ(code, ExitCode::kUsage) << bad;
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("line 5"), std::string::npos) << msg;
  }
}

TEST(SweepJournal, TruncatedFinalLineIsNotYetWritten) {
  TempDir dir;
  const auto path = dir / "study.journal";
  Journal j(path);
  const int study = open_demo(j).id;
  journal_test::write_plan(j, study, {planned_trials()[0]});
  const std::string whole = "{\"op_code\":4,\"worker_id\":\"py\",\"study_id\":0,\"datetime_start\":null}\n";
  write_text(path, whole.substr(0, 30), /*append=*/true);  // a writer mid-append
  EXPECT_EQ(Journal(path).load("demo")->trials.size(), 1u);
  EXPECT_EQ(j.load("demo")->trials.size(), 1u);
  // kiln refuses to glue its record onto an unfinished one (it holds the lock: the writer
  // must have died).
  ExitCode code = ExitCode::kOk;
  error_of([&] { journal_test::write_plan(j, study, {planned_trials()[3]}); }, &code);
  EXPECT_EQ(code, ExitCode::kRuntime);
  write_text(path, whole.substr(30), /*append=*/true);  // the writer finishes the line
  EXPECT_EQ(j.load("demo")->trials.size(), 2u);
  EXPECT_EQ(Journal(path).load("demo")->trials.size(), 2u);
  // A bad last line that ends in "\n" is also deferred until something follows it.
  write_text(path, "{\"op_code\":7,\"worker_id\n", /*append=*/true);
  EXPECT_EQ(Journal(path).load("demo")->trials.size(), 2u);
  write_text(path, whole, /*append=*/true);
  EXPECT_THROW(Journal(path).load("demo"), Error);
}

}  // namespace
}  // namespace kiln::optuna
