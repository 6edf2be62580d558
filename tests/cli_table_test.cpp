// End-to-end tests of tables: configs/tabular_weather.toml (an MLP regressing Seattle's daily
// high on Debian's vega-datasets CSV) trains with small limits to R^2 well above 0, saves its
// standardisation in the run dir and checkpoints, verifies, resumes exactly after SIGKILL and
// gives the same weights for 1 and 3 loader threads; classification on a string column
// keeps its class names; a ragged row, a non-numeric feature and a missing target column
// stop the run naming the file and line (or column), before anything is written.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_helpers.h"

namespace {

using kiln_test::kiln;
using kiln_test::RunResult;
using kiln_test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kConfig = std::string(KILN_SOURCE_DIR) + "/configs/tabular_weather.toml";

std::vector<std::string> args(const fs::path& run, int64_t epochs, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {
      "train",  kConfig,     "--set",     "train.epochs=" + std::to_string(epochs), "--set", "log.progress=off",
      "--json", "--run-dir", run.string()};
  a.insert(a.end(), extra.begin(), extra.end());
  return kiln(a);
}

json train(const std::vector<std::string>& argv, const fs::path& cwd) { return kiln_test::train_summary(argv, cwd); }

TEST(CliTable, ShippedConfigFitsSavesItsStandardisationAndVerifies) {
  TempDir tmp("table");
  const fs::path run = tmp / "run";
  const json s = train(args(run, 10), tmp.path());
  ASSERT_TRUE(s.contains("test_r2")) << s.dump();
  EXPECT_GT(s["test_r2"].get<double>(), 0.7) << "temp_max from temp_min and the weather: a strong linear signal";
  EXPECT_LT(s["test_mae"].get<double>(), 4.0);
  const json pre = json::parse(kiln_test::read_file(run / "preprocessing.json"));
  EXPECT_EQ(pre["target"], "temp_max");
  ASSERT_EQ(pre["features"].size(), 3u + 5u) << "precipitation, temp_min, wind, and five weather kinds";
  EXPECT_EQ(pre["features"][1]["column"], "temp_min");
  EXPECT_GT(pre["features"][1]["std"].get<double>(), 1.0);
  const json manifest = json::parse(kiln_test::read_file(run / "manifest.json"));
  EXPECT_EQ(manifest["dataset"]["preprocessing"], "preprocessing.json");
  EXPECT_EQ(manifest["dataset"]["outputs"], 1);
  // The checkpoint carries the same statistics (LibTorch archives store strings unpacked).
  EXPECT_NE(kiln_test::read_file(run / "checkpoints" / "final.pt").find("\"target_kind\":\"number\""),
            std::string::npos);
  const RunResult v = kiln_test::run(kiln({"verify", run.string()}), {tmp.path(), 300s});
  EXPECT_EQ(v.exit_code, 0) << v.describe();
}

TEST(CliTable, ClassificationOnAStringColumnKeepsTheClassNames) {
  TempDir tmp("table");
  const json s = train(
      args(tmp / "run", 3,
           {"--set", "train.task=classification", "--set", "data.target=weather", "--set", "data.categorical=[]"}),
      tmp.path());
  EXPECT_GT(s.value("test_accuracy", 0.0), 0.4) << "sun is half the days; rain is easy to tell";
  const json manifest = json::parse(kiln_test::read_file(tmp / "run" / "manifest.json"));
  EXPECT_EQ(manifest["dataset"]["classes"], json::array({"drizzle", "fog", "rain", "snow", "sun"}));
}

TEST(CliTable, SigkillThenResumeAndOtherLoaderThreadsGiveTheSameWeights) {
  TempDir tmp("table");
  const std::vector<std::string> common = {"--set", "checkpoint.every=50", "--set", "model.dropout=0.1"};
  auto with = [&](const std::string& threads, std::vector<std::string> more = {}) {
    std::vector<std::string> a = common;
    a.insert(a.end(), {"--set", "loader.threads=" + threads});
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  const json one = train(args(tmp / "one", 20, with("1")), tmp.path());
  const json three = train(args(tmp / "three", 20, with("3")), tmp.path());
  ASSERT_TRUE(one.contains("weights_sha256")) << one.dump();
  EXPECT_EQ(one["weights_sha256"], three["weights_sha256"]);
  const fs::path run = tmp / "killed";
  kiln_test::kill_after_steps(args(run, 20, with("2")), tmp.path(), run, 300);
  const json resumed = train(args(run, 20, with("2", {"--resume", "auto"})), tmp.path());
  EXPECT_EQ(resumed.value("weights_sha256", "resumed"), one.value("weights_sha256", "one"));
}

TEST(CliTable, BadTablesStopTheRunNamingFileAndLineAndWriteNothing) {
  TempDir tmp("table");
  kiln_test::write_file(tmp / "ragged.csv", "a,b,y\n1,2,3\n4,5\n");
  kiln_test::write_file(tmp / "text.csv", "a,b,y\n1,2,3\n4,five,6\n");
  kiln_test::write_file(tmp / "notarget.csv", "a,b,z\n1,2,3\n4,5,6\n");
  struct Case {
    std::string file, extra, want;
  } cases[] = {{"ragged.csv", "data.features=[]", "ragged.csv:3: 2 fields, but the header has 3"},
               {"text.csv", "data.features=[\"a\", \"b\"]", "text.csv:3, column 'b': 'five' is not a number"},
               {"notarget.csv", "data.features=[]", "notarget.csv has no column 'y' (data.target)"}};
  for (const Case& c : cases) {
    const RunResult r = kiln_test::run(
        kiln({"train", kConfig, "--set", "data.train=" + (tmp / c.file).string(), "--set", "data.target=y", "--set",
              "data.categorical=[]", "--set", c.extra, "--run-dir", (tmp / "run").string()}),
        {tmp.path()});
    EXPECT_EQ(r.exit_code, 2) << r.describe();
    EXPECT_NE(r.err.find(c.want), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(tmp / "run")) << "nothing written";
  }
}

}  // namespace
