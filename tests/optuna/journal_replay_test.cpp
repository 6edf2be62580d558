// Tests of Optuna's replay rules (optuna.md §2.4) on journal files written by hand, as other
// workers (Python, Rustuna, Optuna 5) would leave them.
#include "optuna/journal_replay.h"

#include <cmath>
#include <ctime>

#include <gtest/gtest.h>

#include "journal_test_util.h"
#include "optuna/journal.h"
#include "util/error.h"

namespace kiln::optuna {
namespace {

using nlohmann::json;
using test_support::TempDir;

// What Optuna 5 does with an aware datetime: the same instant as naive local time.
std::string local_time_of_utc(int year, int mon, int day, int h, int m, int s, const char* micros) {
  std::tm tm{};
  tm.tm_year = year - 1900, tm.tm_mon = mon - 1, tm.tm_mday = day, tm.tm_hour = h, tm.tm_min = m, tm.tm_sec = s;
  const std::time_t t = timegm(&tm);
  std::tm local{};
  localtime_r(&t, &local);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%s", local.tm_year + 1900, local.tm_mon + 1,
                local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec, micros);
  return buf;
}

TEST(SweepJournalReplay, HandWrittenFileFollowsOptunasRules) {
  TempDir dir;
  const auto path = dir / "study.journal";
  journal_test::write_text(path, journal_test::hand_written_journal());
  Journal j(path);
  // The duplicate CREATE_STUDY (line 2) is ignored; "gone" (id 1) was deleted, and its
  // re-creation gets a new id (2), never a reused one.
  const std::optional<Study> s = j.load("s");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->id, 0);
  EXPECT_EQ(s->direction, Direction::kMinimize);
  EXPECT_EQ(s->user_attrs, json({{"note", "\xc3\xbc"}}));
  const std::optional<Study> gone = j.load("gone");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->id, 2);
  EXPECT_EQ(gone->direction, Direction::kMaximize);
  EXPECT_TRUE(gone->trials.empty());
  EXPECT_FALSE(j.load(1));
  ASSERT_EQ(s->trials.size(), 4u);
  // Trial ids are global: id 0 went to the deleted study; the CREATE_TRIAL for the deleted
  // study (line 7) took none.
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(s->trials[i].number, i);
    EXPECT_EQ(s->trials[i].id, i + 1);
  }
  const Trial& t0 = s->trials[0];
  EXPECT_EQ(t0.state, TrialState::kComplete);
  EXPECT_EQ(t0.params, (std::map<std::string, double>{{"x", 0.5}, {"c", 1}, {"n", 7}}));
  EXPECT_EQ(t0.value, 1.5);
  EXPECT_TRUE(t0.intermediate.empty());  // a report after COMPLETE (line 14) is skipped
  EXPECT_EQ(t0.datetime_start, "2026-01-02T03:04:05.000006");
  EXPECT_EQ(t0.datetime_complete, "2026-01-02T03:04:06.500000");
  const Trial& t1 = s->trials[1];
  EXPECT_EQ(t1.state, TrialState::kRunning);
  // x as an int and c with other choices are incompatible with trial 0 and dropped; x as a
  // float over a wider range is fine.
  EXPECT_EQ(t1.params, (std::map<std::string, double>{{"x", 1.75}}));
  EXPECT_EQ(t1.distributions.at("x").high, 2.0);
  EXPECT_EQ(t1.intermediate, (std::map<int, double>{{3, -HUGE_VAL}}));
  const Trial& t2 = s->trials[2];
  EXPECT_EQ(t2.state, TrialState::kRunning);  // popped from WAITING by A; B's pop (line 23) lost
  EXPECT_EQ(t2.datetime_start, "2026-01-02T03:06:00.000000");
  EXPECT_EQ(t2.system_attrs, json({{"fixed_params", {{"x", 0.25}, {"c", "a"}}}}));
  ASSERT_EQ(t2.intermediate.size(), 1u);
  EXPECT_TRUE(std::isnan(t2.intermediate.at(2)));
  const Trial& t3 = s->trials[3];  // a template record (add_trial)
  EXPECT_EQ(t3.state, TrialState::kComplete);
  EXPECT_EQ(t3.params, (std::map<std::string, double>{{"x", 0.125}}));
  EXPECT_EQ(t3.value, 2.0);
  EXPECT_EQ(t3.user_attrs, json({{"u", {1, 2}}}));
  ASSERT_EQ(t3.intermediate.size(), 2u);
  EXPECT_EQ(t3.intermediate.at(0), 0.5);
  EXPECT_TRUE(std::isnan(t3.intermediate.at(10)));
  EXPECT_EQ(t3.datetime_complete, "2026-01-02T03:08:01.000000");
}

TEST(SweepJournalReplay, AwareDatetimesBecomeLocalAndDiscardOpIsIgnored) {
  TempDir dir;
  const auto path = dir / "study.journal";
  journal_test::write_text(
      path,
      R"({"op_code":0,"worker_id":"W","study_name":"s","directions":[2]})"
      "\n"
      R"({"op_code":4,"worker_id":"W","study_id":0,"datetime_start":"2026-06-01T12:00:00.250000+00:00"})"
      "\n"
      R"({"op_code":6,"worker_id":"W","trial_id":0,"state":2,"values":[0.5],"datetime_complete":"2026-06-01T14:30:01.5+02:00"})"
      "\n"
      R"({"op_code":10,"worker_id":"W","study_id":0,"trial_ids":[0]})"
      "\n");
  const std::optional<Study> s = Journal(path).load("s");
  ASSERT_TRUE(s);
  ASSERT_EQ(s->trials.size(), 1u);
  EXPECT_EQ(s->trials[0].datetime_start, local_time_of_utc(2026, 6, 1, 12, 0, 0, "250000"));
  EXPECT_EQ(s->trials[0].datetime_complete, local_time_of_utc(2026, 6, 1, 12, 30, 1, "500000"));
  EXPECT_EQ(s->trials[0].state, TrialState::kPruned);
  EXPECT_EQ(s->trials[0].value, 0.5);
  EXPECT_EQ(normalize_journal_datetime("not a date"), "not a date");
  EXPECT_EQ(normalize_journal_datetime("2026-01-02T03:04:05"), "2026-01-02T03:04:05.000000");
  // An op code no Optuna knows is an error naming the line, not something to skip.
  journal_test::write_text(path,
                           R"({"op_code":11,"worker_id":"W"})"
                           "\n",
                           /*append=*/true);
  try {
    Journal(path).load("s");
    ADD_FAILURE() << "op_code 11 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 5"), std::string::npos) << e.what();
  }
}

TEST(SweepJournalReplay, KilnPopsAWaitingTrialWithItsFixedParams) {
  TempDir dir;
  const auto path = dir / "study.journal";
  journal_test::write_text(
      path,
      journal_test::hand_written_journal() +
          R"({"op_code":4,"worker_id":"A","study_id":0,"datetime_start":null,"state":4,"value":null,"values":null,"distributions":{},"params":{},"user_attrs":{},"system_attrs":{"fixed_params":{"x":0.75,"c":"b"}},"intermediate_values":{}})"
          "\n");
  Journal j(path);
  const Space space = {{"x", distribution_from_json(std::string(R"({"type": "float", "low": 0, "high": 1})"))},
                       {"c", distribution_from_json(std::string(R"({"type": "categorical", "choices": ["a", "b"]})"))},
                       {"n", distribution_from_json(std::string(R"({"type": "int", "low": 0, "high": 9})"))}};
  int seen_number = -1;
  const Asked a = j.create_trial(0, space, [&](const Study& st, int number) {
    seen_number = number;
    EXPECT_EQ(st.trials.at(number).state, TrialState::kWaiting);
    return std::map<std::string, double>{{"x", 0.1}, {"c", 0}, {"n", 4}};
  });
  EXPECT_EQ(seen_number, 4);
  EXPECT_EQ(a.number, 4);
  EXPECT_EQ(a.trial_id, 5);
  EXPECT_EQ(a.params, (std::map<std::string, double>{{"x", 0.75}, {"c", 1}, {"n", 4}}));
  const Trial t = Journal(path).load("s")->trials.at(4);
  EXPECT_EQ(t.state, TrialState::kRunning);
  EXPECT_EQ(t.params, a.params);
  EXPECT_TRUE(journal_test::is_journal_datetime(t.datetime_start));
  // The next ask creates a new trial: nothing is waiting any more.
  const Asked b = j.create_trial(0, space, [](const Study&, int) {
    return std::map<std::string, double>{{"x", 0.2}, {"c", 0}, {"n", 1}};
  });
  EXPECT_EQ(b.number, 5);
  EXPECT_EQ(b.trial_id, 6);
}

// enqueue writes what Optuna's enqueue_trial writes (a WAITING trial with fixed_params), and
// the next create_trial pops it with those params and the retry attrs beside them.
TEST(SweepJournalReplay, EnqueuedTrialIsPoppedWithItsParams) {
  TempDir dir;
  const auto path = dir / "study.journal";
  journal_test::write_text(path, journal_test::hand_written_journal());
  Journal j(path);
  const int n = j.enqueue(0, {{"x", 0.75}, {"c", "b"}}, {{"failed_trial", 2}, {"retry_history", {2}}});
  EXPECT_EQ(n, 4);
  const Trial w = Journal(path).load("s")->trials.at(4);
  EXPECT_EQ(w.state, TrialState::kWaiting);
  EXPECT_EQ(w.system_attrs,
            json({{"fixed_params", {{"x", 0.75}, {"c", "b"}}}, {"failed_trial", 2}, {"retry_history", {2}}}));
  const Space space = {{"x", distribution_from_json(std::string(R"({"type": "float", "low": 0, "high": 1})"))},
                       {"c", distribution_from_json(std::string(R"({"type": "categorical", "choices": ["a", "b"]})"))}};
  const Asked a = j.create_trial(0, space, [](const Study&, int) {
    return std::map<std::string, double>{{"x", 0.1}, {"c", 0}};
  });
  EXPECT_EQ(a.number, 4);
  EXPECT_EQ(a.params, (std::map<std::string, double>{{"x", 0.75}, {"c", 1}}));
  EXPECT_EQ(Journal(path).load("s")->trials.at(4).state, TrialState::kRunning);
}

// A retry is queued once: asking again for the retry of the same trial writes nothing.
TEST(SweepJournalReplay, SameRetryIsQueuedOnce) {
  TempDir dir;
  const auto path = dir / "study.journal";
  journal_test::write_text(path, journal_test::hand_written_journal());
  Journal j(path);
  EXPECT_EQ(j.enqueue(0, {{"x", 0.5}}, {{"failed_trial", 2}, {"retry_history", {2}}}), 4);
  const auto size = std::filesystem::file_size(path);
  EXPECT_EQ(Journal(path).enqueue(0, {{"x", 0.5}}, {{"failed_trial", 2}, {"retry_history", {2}}}), 4);
  EXPECT_EQ(std::filesystem::file_size(path), size);
  // The retry of that retry is another trial.
  EXPECT_EQ(j.enqueue(0, {{"x", 0.5}}, {{"failed_trial", 2}, {"retry_history", {2, 4}}}), 5);
}

// A queued trial whose fixed value no longer fits the space (a choice was dropped) is failed
// with the reason instead of blocking every later ask; the sampler's trial goes on. (A float
// outside a narrowed range is used as it is, with Optuna's semantics for fixed params.)
TEST(SweepJournalReplay, QueuedTrialOutsideTheSpaceIsFailedNotPopped) {
  TempDir dir;
  const auto path = dir / "study.journal";
  journal_test::write_text(path, journal_test::hand_written_journal());
  Journal j(path);
  j.enqueue(0, {{"c", "z"}}, json::object());
  const Space space = {{"c", distribution_from_json(std::string(R"({"type": "categorical", "choices": ["a", "b"]})"))}};
  const Asked a = j.create_trial(0, space, [](const Study&, int) { return std::map<std::string, double>{{"c", 1}}; });
  EXPECT_EQ(a.number, 5);
  EXPECT_EQ(a.params.at("c"), 1);
  const Study st = *Journal(path).load("s");
  EXPECT_EQ(st.trials.at(4).state, TrialState::kFail);
  EXPECT_NE(st.trials.at(4).user_attrs.value("fail_reason", "").find("outside the search space"), std::string::npos);
  EXPECT_EQ(st.trials.at(5).state, TrialState::kRunning);
}

}  // namespace
}  // namespace kiln::optuna
