// `kiln runs`, `kiln runs diff` and `kiln train --metrics-port`, end to end: runs in every
// state (finished, interrupted by SIGTERM, killed with SIGKILL, running), sorted by their
// metric, diffed; the live metrics scraped over HTTP while a run trains and checked by
// Prometheus' own promtool.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <regex>
#include <set>

#include "cli_helpers.h"

namespace {

using kiln_test::Child;
using kiln_test::kiln;
using kiln_test::RunResult;
using kiln_test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::vector<std::string> tiny(const fs::path& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"train",
                                "--set",
                                "data.limit_train=512",
                                "--set",
                                "data.limit_test=128",
                                "--set",
                                "loader.batch_size=64",
                                "--set",
                                "train.epochs=1",
                                "--set",
                                "log.progress=off",
                                "--set",
                                "log.every=1",
                                "--run-dir",
                                dir.string(),
                                "--json"};
  a.insert(a.end(), extra.begin(), extra.end());
  return kiln(a);
}

// A run long enough to be looked at while it trains (stopped by the test).
std::vector<std::string> long_run(const fs::path& dir, std::vector<std::string> extra = {}) {
  extra.insert(extra.end(), {"--set", "train.epochs=1000", "--set", "checkpoint.every=5"});
  return tiny(dir, extra);
}

size_t steps_logged(const fs::path& run) { return kiln_test::metrics_records(run, "step").size(); }

json runs_json(const fs::path& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"runs", dir.string(), "--json"};
  a.insert(a.end(), extra.begin(), extra.end());
  const RunResult r = kiln_test::run(kiln(a));
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  return kiln_test::last_json_line(r.out).value_or(json::array());
}

std::map<std::string, json> by_name(const json& runs) {
  std::map<std::string, json> m;
  for (const auto& r : runs) m[r["name"].get<std::string>()] = r;
  return m;
}

std::string fetch(const std::string& url) {
  const RunResult r = kiln_test::run(
      {KILN_TEST_PYTHON, "-c",
       "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=30).read().decode())",
       url});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  return r.out;
}

// The value of an unlabelled sample `name` in exposition text; NaN when absent.
double sample(const std::string& text, const std::string& name) {
  std::smatch m;
  if (std::regex_search(text, m, std::regex("(^|\n)" + name + " ([^\n]+)"))) return std::stod(m[2]);
  return std::nan("");
}

TEST(CliRuns, ListsEveryStateSortsByTheMetricAndDiffs) {
  TempDir tmp("runs");
  const fs::path root = tmp / "runs";
  ASSERT_EQ(kiln_test::run(tiny(root / "a", {"--set", "optim.lr=1e-3"})).exit_code, 0);
  ASSERT_EQ(kiln_test::run(tiny(root / "b", {"--set", "optim.lr=1e-4", "--set", "model.dropout=0.1"})).exit_code, 0);
  {  // interrupted: SIGTERM checkpoints and records it
    Child c(long_run(root / "term"));
    ASSERT_TRUE(c.wait_for_output(
        [&](const std::string&, const std::string&) { return steps_logged(root / "term") >= 3; }, 120s));
    c.signal(SIGTERM);
    EXPECT_EQ(c.wait(120s).exit_code, 143);
  }
  kiln_test::kill_after_steps(long_run(root / "nested" / "killed"), tmp.path(), root / "nested" / "killed", 3);
  fs::create_directories(root / "not-a-run");

  Child live(long_run(root / "live"));
  ASSERT_TRUE(live.wait_for_output(
      [&](const std::string&, const std::string&) { return steps_logged(root / "live") >= 2; }, 120s));
  const auto m = by_name(runs_json(root));
  live.signal(SIGKILL);
  live.wait(60s);

  ASSERT_EQ(m.size(), 5u) << json(m).dump(1);
  EXPECT_EQ(m.at("a")["status"], "finished");
  EXPECT_EQ(m.at("b")["status"], "finished");
  EXPECT_EQ(m.at("term")["status"], "interrupted");
  EXPECT_NE(m.at("term").value("error", "").find("SIGTERM"), std::string::npos);
  EXPECT_EQ(m.at("nested/killed")["status"], "failed");
  EXPECT_EQ(m.at("live")["status"], "running");
  const auto summary_a = json::parse(kiln_test::read_file(root / "a" / "summary.json"));
  EXPECT_EQ(m.at("a")["steps"], summary_a["steps"]);
  EXPECT_EQ(m.at("a")["metric"], "test_accuracy");
  EXPECT_EQ(m.at("a")["metric_value"], summary_a["test_accuracy"]);
  EXPECT_EQ(m.at("a")["weights_sha256"], summary_a["weights_sha256"]);
  EXPECT_EQ(m.at("a")["task"], "classification");
  EXPECT_GE(m.at("term")["steps"].get<int64_t>(), 3);

  // --sort test_accuracy: best first, runs without an evaluation last.
  const json sorted = runs_json(root, {"--sort", "test_accuracy"});
  std::vector<double> acc;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i]["metrics"].contains("test_accuracy")) {
      EXPECT_EQ(acc.size(), i) << "a run without the metric sorted before one with it: " << sorted.dump();
      acc.push_back(sorted[i]["metrics"]["test_accuracy"].get<double>());
    }
  }
  ASSERT_GE(acc.size(), 2u);
  EXPECT_TRUE(std::is_sorted(acc.rbegin(), acc.rend())) << sorted.dump();
  // --sort test_loss: lower is better.
  const json by_loss = runs_json(root, {"--sort", "test_loss"});
  EXPECT_LE(by_loss[0]["metrics"]["test_loss"].get<double>(), by_loss[1]["metrics"]["test_loss"].get<double>());
  const RunResult bad = kiln_test::run(kiln({"runs", root.string(), "--sort", "test_acuracy"}));
  EXPECT_EQ(bad.exit_code, 2) << bad.describe();
  EXPECT_NE(bad.err.find("test_accuracy"), std::string::npos) << bad.err;  // did you mean

  // The table names every run once.
  const RunResult table = kiln_test::run(kiln({"runs", root.string()}));
  ASSERT_EQ(table.exit_code, 0) << table.describe();
  for (const std::string n : {"a ", "b ", "term ", "nested/killed ", "live "}) {
    EXPECT_NE(table.out.find("\n" + n), std::string::npos) << n << "\n" << table.out;
  }

  // diff: exactly the keys set differently, with both values; the metrics side by side.
  const RunResult d = kiln_test::run(kiln({"runs", "diff", (root / "a").string(), (root / "b").string(), "--json"}));
  ASSERT_EQ(d.exit_code, 0) << d.describe();
  const json dj = kiln_test::last_json_line(d.out).value();
  std::map<std::string, std::pair<std::string, std::string>> keys;
  for (const auto& k : dj["config"]) keys[k["key"]] = {k["a"], k["b"]};
  ASSERT_EQ(keys.size(), 2u) << dj.dump();
  EXPECT_EQ(std::stod(keys.at("optim.lr").first), 1e-3);
  EXPECT_EQ(std::stod(keys.at("optim.lr").second), 1e-4);
  EXPECT_EQ(std::stod(keys.at("model.dropout").second), 0.1);
  std::set<std::string> metric_names;
  for (const auto& k : dj["metrics"]) metric_names.insert(k["key"]);
  EXPECT_TRUE(metric_names.count("test_accuracy") && metric_names.count("weights_sha256")) << dj.dump();
  const RunResult text = kiln_test::run(kiln({"runs", "diff", (root / "a").string(), (root / "b").string()}));
  EXPECT_NE(text.out.find("optim.lr"), std::string::npos) << text.out;

  const RunResult not_run =
      kiln_test::run(kiln({"runs", "diff", (root / "a").string(), (root / "not-a-run").string()}));
  EXPECT_EQ(not_run.exit_code, 2) << not_run.describe();
  EXPECT_NE(not_run.err.find("not-a-run"), std::string::npos) << not_run.err;
  const RunResult missing = kiln_test::run(kiln({"runs", (tmp / "nowhere").string()}));
  EXPECT_EQ(missing.exit_code, 2) << missing.describe();
}

TEST(CliMetricsPort, ServesLiveMetricsThatPromtoolAccepts) {
  TempDir tmp("metrics-port");
  const fs::path run = tmp / "run";
  Child c(long_run(run, {"--metrics-port", "0"}));
  std::smatch m;
  std::string url;
  ASSERT_TRUE(c.wait_for_output(
      [&](const std::string&, const std::string& err) {
        if (!std::regex_search(err, m, std::regex("live metrics at (http://127\\.0\\.0\\.1:[0-9]+/metrics)"))) {
          return false;
        }
        url = m[1];
        return steps_logged(run) >= 3;
      },
      120s))
      << c.err_so_far();
  const auto steps = kiln_test::metrics_records(run, "step");  // before the scrape: it trains on meanwhile
  const std::string text = fetch(url);
  const double step = sample(text, "kiln_step");
  EXPECT_GE(step, double(steps.size())) << text;
  EXPECT_GT(sample(text, "kiln_total_steps"), step);
  EXPECT_GT(sample(text, "kiln_samples_per_second"), 0) << text;
  EXPECT_GE(sample(text, "kiln_samples_total"), 64.0 * double(steps.size())) << text;
  const double lr = sample(text, "kiln_learning_rate");  // cosine over 1000 epochs: just below the first step's
  EXPECT_GT(lr, 0) << text;
  EXPECT_LE(lr, steps[0]["lr"].get<double>()) << text;
  const double loss = sample(text, "kiln_loss");
  EXPECT_TRUE(std::isfinite(loss) && loss > 0) << text;
  EXPECT_NE(text.find("# TYPE kiln_samples_total counter"), std::string::npos) << text;
  if (fs::exists("/usr/bin/promtool")) {
    kiln_test::write_file(tmp / "scrape.txt", text);
    const RunResult p =
        kiln_test::run({"/bin/sh", "-c", "/usr/bin/promtool check metrics < " + (tmp / "scrape.txt").string()});
    EXPECT_EQ(p.exit_code, 0) << p.describe() << "\n" << text;
  }
  // A second run on the same port: exit 2 before anything is written.
  const std::string port = url.substr(url.rfind(':') + 1, url.rfind('/') - url.rfind(':') - 1);
  const RunResult busy = kiln_test::run(tiny(tmp / "second", {"--metrics-port", port}));
  EXPECT_EQ(busy.exit_code, 2) << busy.describe();
  EXPECT_NE(busy.err.find("cannot listen on 127.0.0.1:" + port), std::string::npos) << busy.err;
  EXPECT_FALSE(fs::exists(tmp / "second"));
  c.signal(SIGTERM);
  EXPECT_EQ(c.wait(120s).exit_code, 143);
}

}  // namespace
