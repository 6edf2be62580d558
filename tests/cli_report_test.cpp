// End-to-end tests of `kiln report`: a tiny real run (profiled over a few steps) and a tiny
// sweep, each reported by the built kiln and loaded in headless Chromium; the page must run
// without a JavaScript error and every plot that has data in the run dir must draw it (the
// counts are compared with the run dir's own files). Bad input exits 2 writing nothing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_helpers.h"
#include "optuna/journal.h"
#include "report_page_check.h"

namespace {

using kiln_test::kiln;
using kiln_test::read_file;
using kiln_test::RunResult;
using kiln_test::TempDir;
using kiln_test::tree;
using kiln_test::write_file;
using nlohmann::json;
namespace fs = std::filesystem;

#define KILN_REQUIRE_CHROMIUM()             \
  if (kiln_test::chromium_binary().empty()) \
  GTEST_SKIP() << "headless Chromium is not installed (chromium-headless-shell)"

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += "\n  " + x;
  return s;
}

size_t count_of(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

// 512 train samples in batches of 64: 8 steps an epoch, 2 epochs, each with an evaluation;
// the profiling window covers steps 3..6; every step record written (and timed) on its own.
fs::path train_profiled_run(const TempDir& tmp) {
  const fs::path run_dir = tmp / "run";
  const RunResult r =
      kiln_test::run(kiln({"train", "--set", "data.limit_train=512", "--set", "data.limit_test=256", "--set",
                           "train.epochs=2", "--set", "loader.batch_size=64", "--set", "log.progress=off", "--set",
                           "log.every=1", "--profile-steps", "3:6", "--run-dir", run_dir.string()}));
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  return run_dir;
}

// The throughput points a page must draw: one per run of step records that share a time_s
// (written together), when time went on since the previous run.
long throughput_intervals(const std::vector<json>& steps) {
  long n = 0;
  double prev = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    const double t = steps[i]["time_s"];
    if (i + 1 < steps.size() && steps[i + 1]["time_s"].get<double>() == t) continue;
    n += t > prev;
    prev = t;
  }
  return n;
}

// The complete spans ("ph": "X") of a trace.json: what the timeline must draw.
size_t trace_spans(const fs::path& trace) {
  const json t = json::parse(read_file(trace));
  size_t n = 0;
  for (const auto& e : t.is_array() ? t : t["traceEvents"]) n += e.value("ph", "") == "X";
  return n;
}

TEST(CliReport, RunReportDrawsEveryPlotProfiledOrNot) {
  KILN_REQUIRE_CHROMIUM();
  TempDir tmp("report");
  const fs::path run_dir = train_profiled_run(tmp);
  ASSERT_TRUE(fs::exists(run_dir / "profile" / "trace.json"));
  const RunResult r = kiln_test::run(kiln({"report", run_dir.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, (run_dir / "report.html").string() + "\n") << "prints the path it wrote";
  const auto steps = kiln_test::metrics_records(run_dir, "step");
  const auto evals = kiln_test::metrics_records(run_dir, "eval");
  ASSERT_FALSE(evals.empty());

  const auto c = kiln_test::load_page(run_dir / "report.html");
  const auto problems = kiln_test::page_problems(
      c, {"loss", "lr", "eval-test_accuracy", "eval-test_loss", "throughput", "data-wait", "timeline"});
  EXPECT_TRUE(problems.empty()) << joined(problems);
  // One point per record; throughput one per logged interval.
  EXPECT_EQ(c.plots.at("loss"), long(steps.size()));
  EXPECT_EQ(c.plots.at("lr"), long(steps.size()));
  EXPECT_EQ(c.plots.at("data-wait"), long(steps.size()));
  EXPECT_GT(throughput_intervals(steps), 1) << "log.every=1: records are timed one by one";
  EXPECT_EQ(c.plots.at("throughput"), throughput_intervals(steps));
  EXPECT_EQ(c.plots.at("eval-test_accuracy"), long(evals.size()));
  EXPECT_EQ(c.plots.at("timeline"), long(trace_spans(run_dir / "profile" / "trace.json")));
  // The phase table, the config and the summary are on the page.
  EXPECT_NE(c.dom.find(">forward<"), std::string::npos);
  EXPECT_NE(c.dom.find("limit_train = 512"), std::string::npos);
  const json summary = json::parse(read_file(run_dir / "summary.json"));
  EXPECT_NE(c.dom.find(summary["weights_sha256"].get<std::string>()), std::string::npos);
  const fs::path png = tmp / "run.png";
  EXPECT_TRUE(kiln_test::screenshot(run_dir / "report.html", png));

  // The same run dir without its profile/ (what a run without --profile-steps leaves: the
  // window changes nothing else) says it was not profiled, and has no timeline.
  const fs::path plain = tmp / "plain";
  fs::copy(run_dir, plain, fs::copy_options::recursive);
  fs::remove_all(plain / "profile");
  const fs::path out = tmp / "plain.html";
  const RunResult p = kiln_test::run(kiln({"report", plain.string(), "-o", out.string(), "--json"}));
  ASSERT_EQ(p.exit_code, 0) << p.describe();
  EXPECT_EQ(kiln_test::last_json_line(p.out), json({{"report", out.string()}}));
  const auto pc = kiln_test::load_page(out);
  const auto pp = kiln_test::page_problems(pc, {"loss", "lr", "eval-test_accuracy", "throughput", "data-wait"});
  EXPECT_TRUE(pp.empty()) << joined(pp);
  EXPECT_EQ(pc.plots.count("timeline"), 0u);
  EXPECT_NE(pc.dom.find("Not profiled"), std::string::npos);
}

// A regression run: the header's metric is the task's own headline (r2, its first
// higher-is-better metric, as `kiln runs` shows it), not the first non-loss key (mse); with
// 74 logged intervals the throughput plot adds a rolling line, a point for each interval.
TEST(CliReport, TableRunHeadlinesTheTasksMetricAndARollingThroughput) {
  KILN_REQUIRE_CHROMIUM();
  const std::string csv = "/usr/lib/python3/dist-packages/vega_datasets/_data/seattle-weather.csv";
  if (!fs::exists(csv)) GTEST_SKIP() << "no " << csv << " (Debian's python3-vega-datasets; tools/bootstrap.sh)";
  TempDir tmp("report-table");
  const fs::path run_dir = tmp / "run";
  const RunResult t = kiln_test::run(
      kiln({"train", std::string(KILN_SOURCE_DIR) + "/configs/tabular_weather.toml", "--set", "train.epochs=2", "--set",
            "log.every=1", "--set", "log.progress=off", "--run-dir", run_dir.string()}));
  ASSERT_EQ(t.exit_code, 0) << t.describe();
  const RunResult r = kiln_test::run(kiln({"report", run_dir.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto c = kiln_test::load_page(run_dir / "report.html");
  const auto problems = kiln_test::page_problems(c, {"loss", "eval-test_r2", "eval-test_mse", "throughput"});
  EXPECT_TRUE(problems.empty()) << joined(problems);
  EXPECT_NE(c.dom.find("test_r2 (last eval)"), std::string::npos);
  EXPECT_EQ(c.dom.find("test_mse (last eval)"), std::string::npos);
  const auto steps = kiln_test::metrics_records(run_dir, "step");
  const long n = throughput_intervals(steps);
  ASSERT_GE(n, 40) << "fewer than 40 intervals: no rolling line to check";
  EXPECT_EQ(c.plots.at("throughput"), 2 * n) << "per interval and rolling, one point each per interval";
  EXPECT_NE(c.dom.find("rolling, " + std::to_string(n / 20) + " intervals"), std::string::npos);
  EXPECT_TRUE(kiln_test::screenshot(run_dir / "report.html", tmp / "table.png"));
}

// Random search over lr (log float) and dropout (categorical), 3 trials of 1 epoch.
TEST(CliReport, SweepReportDrawsHistoryScatterAndParallelCoordinates) {
  KILN_REQUIRE_CHROMIUM();
  TempDir tmp("report-sweep");
  write_file(tmp / "s.toml",
             "name = \"t\"\n[objective]\nmetric = \"test_accuracy\"\n[sampler]\nname = \"random\"\nseed = 1\n"
             "[pruner]\nname = \"none\"\n"
             "[base.data]\nlimit_train = 256\nlimit_test = 128\n[base.loader]\nbatch_size = 64\n"
             "[base.train]\nepochs = 1\n[base.log]\nprogress = \"off\"\n"
             "[space.\"optim.lr\"]\ntype = \"float\"\nlow = 1e-4\nhigh = 1e-2\nlog = true\n"
             "[space.\"model.dropout\"]\ntype = \"categorical\"\nchoices = [0.0, 0.2]\n");
  const RunResult s = kiln_test::run(kiln({"sweep", "s.toml", "--trials", "3", "--dir", "sw"}), {tmp.path()});
  ASSERT_EQ(s.exit_code, 0) << s.describe();
  const RunResult r = kiln_test::run(kiln({"report", "sw"}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "sw/report.html\n");

  const auto study = kiln::optuna::Journal(tmp / "sw" / "study.journal").load("t");
  ASSERT_TRUE(study);
  long valued = 0, complete = 0;
  for (const auto& t : study->trials) {
    valued += t.value.has_value();
    complete += t.state == kiln::optuna::TrialState::kComplete;
  }
  ASSERT_GT(complete, 0);
  const auto c = kiln_test::load_page(tmp / "sw" / "report.html");
  const auto problems =
      kiln_test::page_problems(c, {"history", "durations", "param-optim.lr", "param-model.dropout", "parallel"});
  EXPECT_TRUE(problems.empty()) << joined(problems);
  // History: a dot per trial with a value and a best-so-far point per complete trial.
  EXPECT_EQ(c.plots.at("history"), valued + complete);
  EXPECT_EQ(c.plots.at("param-optim.lr"), valued);
  EXPECT_EQ(c.plots.at("parallel"), valued);
  // The leaderboard has a row per trial, the best one marked.
  EXPECT_EQ(count_of(c.dom, "class=\"state-"), study->trials.size());
  EXPECT_EQ(count_of(c.dom, "<tr class=\"best\">"), 1u);
  const fs::path png = tmp / "sweep.png";
  EXPECT_TRUE(kiln_test::screenshot(tmp / "sw" / "report.html", png));
}

TEST(CliReport, NotARunOrSweepDirIsUsageErrorWritingNothing) {
  TempDir tmp("report-bad");
  fs::create_directories(tmp / "empty");
  const auto before = tree(tmp.path());
  const RunResult r = kiln_test::run(kiln({"report", (tmp / "empty").string()}));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find((tmp / "empty").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("neither a run dir"), std::string::npos) << r.err;
  const RunResult m = kiln_test::run(kiln({"report", (tmp / "missing").string()}));
  EXPECT_EQ(m.exit_code, 2) << m.describe();
  EXPECT_NE(m.err.find("no such directory"), std::string::npos) << m.err;
  EXPECT_EQ(tree(tmp.path()), before);
}

TEST(CliReport, GarbledMetricsIsUsageErrorWritingNothing) {
  TempDir tmp("report-bad");
  const fs::path run_dir = tmp / "run";
  fs::create_directories(run_dir);
  write_file(run_dir / "config.toml", "[train]\nname = \"x\"\n");
  write_file(run_dir / "metrics.jsonl",
             "{\"type\":\"step\",\"step\":1,\"loss\":1.0,\"lr\":0.1,\"samples\":8,\"time_s\":0.1}\n"
             "\x89PNG garbage \x01\n"
             "{\"type\":\"step\",\"step\":2,\"loss\":0.9,\"lr\":0.1,\"samples\":8,\"time_s\":0.2}\n");
  const auto before = tree(tmp.path());
  const RunResult r = kiln_test::run(kiln({"report", run_dir.string()}));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find((run_dir / "metrics.jsonl").string() + ": line 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hint:"), std::string::npos) << r.err;
  EXPECT_EQ(tree(tmp.path()), before);
}

TEST(CliReport, UnwritableOutputIsUsageErrorWritingNothing) {
  TempDir tmp("report-bad");
  const fs::path run_dir = tmp / "run";
  fs::create_directories(run_dir);
  write_file(run_dir / "metrics.jsonl",
             "{\"type\":\"step\",\"step\":1,\"loss\":1.0,\"lr\":0.1,\"samples\":8,\"time_s\":0.1}\n");
  const auto before = tree(tmp.path());
  for (const fs::path& out : {tmp / "no-such-dir" / "r.html", run_dir / "metrics.jsonl" / "r.html", tmp.path()}) {
    const RunResult r = kiln_test::run(kiln({"report", run_dir.string(), "-o", out.string()}));
    EXPECT_EQ(r.exit_code, 2) << r.describe();
    EXPECT_NE(r.err.find(out.string()), std::string::npos) << r.err;
  }
  EXPECT_EQ(tree(tmp.path()), before);
}

}  // namespace
