// kiln::report without a browser: what a run dir's data holds (columns, throughput from
// consecutive records, a cut-short last line left out), garbled input refused with the file
// and line, the kinds of dir, the output checks, and the JSON escaping of the page.
#include <gtest/gtest.h>

#include <fstream>

#include "report/page.h"
#include "report/report.h"
#include "report/run_data.h"
#include "report/sweep_data.h"
#include "util/error.h"
#include "util/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void write(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string step_line(int step, double time_s, int samples = 64) {
  return json({{"type", "step"},
               {"step", step},
               {"epoch", 0},
               {"loss", 1.0 / step},
               {"lr", 0.01},
               {"samples", samples},
               {"data_wait_ms", 0.25 * step},
               {"time_s", time_s}})
             .dump() +
         "\n";
}

// The Error::usage that f throws, or a test failure.
template <class F>
kiln::Error usage_error(F f) {
  try {
    f();
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), kiln::ExitCode::kUsage) << e.what();
    return e;
  }
  ADD_FAILURE() << "no kiln::Error thrown";
  return kiln::Error::runtime("none");
}

TEST(ReportRunData, StepsBecomeColumnsWithThroughputFromConsecutiveRecords) {
  kiln::util::TempDir tmp("report");
  write(tmp.path() / "metrics.jsonl",
        step_line(1, 0.5) + step_line(2, 1.0) + step_line(3, 1.25, 32) +
            "{\"type\":\"eval\",\"step\":3,\"epoch\":0,\"time_s\":1.3,\"test_loss\":0.5}\n");
  const json d = kiln::report::run_data({tmp.path()});
  EXPECT_EQ(d["kind"], "run");
  EXPECT_EQ(d["steps"]["step"], json({1, 2, 3}));
  EXPECT_EQ(d["steps"]["data_wait_ms"], json({0.25, 0.5, 0.75}));
  // 64 samples in the first 0.5 s since the start, 64 in the next 0.5 s, then 32 in 0.25 s.
  EXPECT_EQ(d["steps"]["throughput"], json({128.0, 128.0, 128.0}));
  EXPECT_EQ(d["evals"]["metrics"]["test_loss"], json({0.5}));
  EXPECT_EQ(d["evals"]["main"], "test_loss");
  EXPECT_TRUE(d["summary"].is_null());
  EXPECT_EQ(d["status"], "not finished (no summary.json)");
}

// Records flushed together share one time_s: the rate is per run of them, on its last one.
TEST(ReportRunData, ThroughputIsPerRunOfRecordsSharingATime) {
  kiln::util::TempDir tmp("report");
  write(tmp.path() / "metrics.jsonl",
        step_line(1, 1.0) + step_line(2, 1.0) + step_line(3, 2.0) + step_line(4, 2.0) + step_line(5, 2.0));
  const json d = kiln::report::run_data({tmp.path()});
  EXPECT_EQ(d["steps"]["throughput"], json({nullptr, 128.0, nullptr, nullptr, 192.0}));
}

// Under 40 intervals there is no rolling line (a window under 2); at 40, 2 intervals: the
// samples of the last two over their time, so a slow and a fast interval read as their mean
// rate weighted by time, and the first point's window is the one interval since the start.
TEST(ReportRunData, RollingThroughputIsARateOverTheLastTwentiethOfTheIntervals) {
  kiln::util::TempDir tmp("report");
  std::string lines;
  double t = 0;
  for (int i = 1; i <= 39; ++i) lines += step_line(i, t += (i % 2 ? 0.5 : 1.5));
  write(tmp.path() / "metrics.jsonl", lines);
  json d = kiln::report::run_data({tmp.path()});
  EXPECT_EQ(d["steps"]["throughput_window"], 1);
  for (const auto& v : d["steps"]["throughput_rolling"]) EXPECT_TRUE(v.is_null()) << v;

  lines += step_line(40, t += 1.5);
  write(tmp.path() / "metrics.jsonl", lines);
  d = kiln::report::run_data({tmp.path()});
  EXPECT_EQ(d["steps"]["throughput_window"], 2);
  const json& raw = d["steps"]["throughput"];
  const json& roll = d["steps"]["throughput_rolling"];
  ASSERT_EQ(roll.size(), 40u);
  EXPECT_EQ(raw[0], 128.0);  // 64 samples in 0.5 s
  EXPECT_DOUBLE_EQ(raw[1].get<double>(), 64 / 1.5);
  EXPECT_EQ(roll[0], 128.0);                                      // the window so far: one interval
  for (size_t i = 1; i < 40; ++i) EXPECT_EQ(roll[i], 64.0) << i;  // 128 samples in 2 s
}

TEST(ReportRunData, ALastLineCutShortIsLeftOutWithANote) {
  kiln::util::TempDir tmp("report");
  write(tmp.path() / "metrics.jsonl", step_line(1, 0.5) + step_line(2, 1.0) + "{\"type\":\"step\",\"ste");
  const json d = kiln::report::run_data({tmp.path()});
  EXPECT_EQ(d["steps"]["step"].size(), 2u);
  // Its notes: no config.toml in this hand-written dir, and the line left out.
  EXPECT_NE(d["notes"].dump().find("metrics.jsonl line 3 is cut short"), std::string::npos) << d["notes"];
}

TEST(ReportRunData, AGarbledLineIsUsageErrorNamingFileAndLine) {
  kiln::util::TempDir tmp("report");
  const fs::path m = tmp.path() / "metrics.jsonl";
  write(m, step_line(1, 0.5) + "not json at all\n" + step_line(2, 1.0));
  const kiln::Error e = usage_error([&] { kiln::report::run_data({tmp.path()}); });
  EXPECT_NE(std::string(e.what()).find(m.string() + ": line 2"), std::string::npos) << e.what();
  // A file of nothing but one bad line is garbled too, not a log cut short.
  write(m, "\x01\x02 binary garbage");
  usage_error([&] { kiln::report::run_data({tmp.path()}); });
}

TEST(ReportRunData, AGarbledSummaryIsUsageError) {
  kiln::util::TempDir tmp("report");
  write(tmp.path() / "metrics.jsonl", step_line(1, 0.5));
  write(tmp.path() / "summary.json", "{\"steps\": 1,");
  const kiln::Error e = usage_error([&] { kiln::report::run_data({tmp.path()}); });
  EXPECT_NE(std::string(e.what()).find("summary.json"), std::string::npos) << e.what();
}

TEST(ReportRunData, MainMetricPrefersAccuracyThenANonLoss) {
  EXPECT_EQ(kiln::report::main_metric({"test_accuracy", "test_loss"}), "test_accuracy");
  EXPECT_EQ(kiln::report::main_metric({"test_loss", "test_mae", "test_mse"}), "test_mae");
  EXPECT_EQ(kiln::report::main_metric({"test_loss"}), "test_loss");
  EXPECT_EQ(kiln::report::main_metric({}), "");
}

TEST(ReportSweepData, SecondsBetweenJournalDatetimes) {
  EXPECT_DOUBLE_EQ(kiln::report::seconds_between("2026-12-03T10:00:00.250000", "2026-12-03T10:01:02.750000"), 62.5);
  EXPECT_LT(kiln::report::seconds_between("", "2026-12-03T10:00:00.000000"), 0);
  EXPECT_LT(kiln::report::seconds_between("2026-12-03T10:00:01.000000", "2026-12-03T10:00:00.000000"), 0);
}

TEST(ReportSweepData, AGarbledStudyFileIsUsageErrorNamingFileAndLine) {
  kiln::util::TempDir tmp("report");
  const fs::path journal = tmp.path() / "study.journal";
  write(journal,
        "{\"op_code\": 0, \"worker_id\": \"w\", \"study_name\": \"t\", \"directions\": [2]}\n"
        "garbage\n{\"op_code\": 4}\n");
  const kiln::Error e = usage_error([&] { kiln::report::sweep_data(tmp.path()); });
  EXPECT_NE(std::string(e.what()).find(journal.string() + " line 2"), std::string::npos) << e.what();
  // A journal without any study says so.
  write(journal, "");
  const kiln::Error none = usage_error([&] { kiln::report::sweep_data(tmp.path()); });
  EXPECT_NE(std::string(none.what()).find("holds no study"), std::string::npos) << none.what();
}

TEST(ReportInput, KindsOfDirAndTheirErrors) {
  kiln::util::TempDir tmp("report");
  const fs::path empty = tmp.path() / "empty";
  fs::create_directories(empty);
  const kiln::Error e = usage_error([&] { kiln::report::input_kind(empty); });
  EXPECT_NE(std::string(e.what()).find("neither a run dir"), std::string::npos) << e.what();
  usage_error([&] { kiln::report::input_kind(tmp.path() / "missing"); });
  write(tmp.path() / "file", "x");
  usage_error([&] { kiln::report::input_kind(tmp.path() / "file"); });
  write(empty / "config.toml", "");
  EXPECT_EQ(kiln::report::input_kind(empty), kiln::report::InputKind::kRun);
  write(empty / "study.journal", "");
  EXPECT_EQ(kiln::report::input_kind(empty), kiln::report::InputKind::kSweep);
}

TEST(ReportWrite, AnOutputThatCannotBeWrittenIsUsageErrorAndWritesNothing) {
  kiln::util::TempDir tmp("report");
  write(tmp.path() / "metrics.jsonl", step_line(1, 0.5));
  for (const fs::path& out :
       {tmp.path() / "no" / "such" / "dir.html", tmp.path() / "metrics.jsonl" / "r.html", tmp.path()}) {
    const kiln::Error e = usage_error([&] { kiln::report::write_report({tmp.path(), out}); });
    EXPECT_NE(std::string(e.what()).find(out.string()), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(tmp.path() / "report.html"));
  EXPECT_EQ(kiln::report::write_report({tmp.path(), {}}), tmp.path() / "report.html");
  EXPECT_TRUE(fs::exists(tmp.path() / "report.html"));
}

TEST(ReportPage, DataBlockEscapesEveryLessThanAndParsesBack) {
  const json data = {{"kind", "run"}, {"name", "a</script><!-- b"}, {"config_toml", "x = \"</SCRIPT>\"\n"}};
  const std::string text = kiln::report::script_safe_json(data);
  EXPECT_EQ(text.find('<'), std::string::npos) << text;
  EXPECT_EQ(json::parse(text), data);
  const std::string page = kiln::report::render_page(data);
  // Only the page's own three scripts close: the error hook, the data block and the script.
  size_t closes = 0;
  for (size_t at = page.find("</script>"); at != std::string::npos; at = page.find("</script>", at + 1)) ++closes;
  EXPECT_EQ(closes, 3u);
  EXPECT_NE(page.find("<title>kiln run report: a&lt;/script&gt;&lt;!-- b</title>"), std::string::npos);
  // Nothing is fetched: no external script, style sheet, font or image.
  for (const char* fetch : {" src=", "<link", "@import", "url(", "https://"})
    EXPECT_EQ(page.find(fetch), std::string::npos) << fetch;
}

}  // namespace
