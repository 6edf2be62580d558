// End-to-end tests of `kiln verify`: a fresh run verifies (exit 0), a run whose recorded loss
// was altered does not (exit 3, naming the first divergent step), and --steps N compares the
// first N steps only.
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

fs::path tiny_run(const TempDir& tmp) {
  const fs::path dir = tmp / "run";
  const RunResult r = kiln_test::run(
      kiln({"train", "--set", "data.limit_train=512", "--set", "data.limit_test=256", "--set", "loader.batch_size=64",
            "--set", "train.epochs=1", "--set", "log.progress=off", "--seed", "4", "--run-dir", dir.string()}),
      {tmp.path()});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  return dir;
}

json verify(const std::vector<std::string>& args, int expected_exit, const fs::path& cwd) {
  std::vector<std::string> a = {"verify"};
  a.insert(a.end(), args.begin(), args.end());
  a.push_back("--json");
  const RunResult r = kiln_test::run(kiln(a), {cwd});
  EXPECT_EQ(r.exit_code, expected_exit) << r.describe();
  return kiln_test::last_json_line(r.out).value_or(json::object());
}

TEST(CliVerify, FreshRunMatches) {
  TempDir tmp("cli-verify");
  const fs::path dir = tiny_run(tmp);
  const json j = verify({dir.string()}, 0, tmp.path());
  EXPECT_EQ(j.value("match", false), true) << j.dump();
  EXPECT_EQ(j.value("steps_compared", 0), 8);
  EXPECT_EQ(j.value("weights_match", false), true);
  EXPECT_TRUE(j.contains("first_divergent_step") && j.at("first_divergent_step").is_null()) << j.dump();
  EXPECT_FALSE(fs::exists(tmp / "runs"));  // the replay leaves nothing behind
}

TEST(CliVerify, AlteredLossIsAMismatchAtThatStep) {
  TempDir tmp("cli-verify-bad");
  const fs::path dir = tiny_run(tmp);
  std::string text;
  for (const auto& line : kiln_test::split_lines(kiln_test::read_file(dir / "metrics.jsonl"))) {
    json r = json::parse(line);
    if (r.value("type", "") == "step" && r["step"] == 5) r["loss"] = r["loss"].get<double>() + 1e-6;
    text += r.dump() + "\n";
  }
  kiln_test::write_file(dir / "metrics.jsonl", text);
  const json j = verify({dir.string()}, 3, tmp.path());
  EXPECT_EQ(j.value("match", true), false);
  EXPECT_EQ(j.value("first_divergent_step", -1), 5);
  EXPECT_EQ(j.value("weights_match", false), true);  // the weights themselves were not touched
}

TEST(CliVerify, FirstStepsOnly) {
  TempDir tmp("cli-verify-steps");
  const fs::path dir = tiny_run(tmp);
  const json j = verify({dir.string(), "--steps", "3"}, 0, tmp.path());
  EXPECT_EQ(j.value("match", false), true) << j.dump();
  EXPECT_EQ(j.value("steps_compared", 0), 3);
  EXPECT_TRUE(j.contains("weights_match") && j.at("weights_match").is_null()) << j.dump();
}

}  // namespace
