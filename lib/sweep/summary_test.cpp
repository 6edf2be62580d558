// Unit tests for the end of a sweep on an in-memory study: the leaderboard's order and
// layout, the best trial and counts in the summary, best.toml and summary.json, and
// require_best's error. (tests/cli_sweep_test.cpp runs the whole of sweep::run.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "optuna/distribution.h"
#include "sweep/leaderboard.h"
#include "sweep/run.h"
#include "sweep/summary.h"
#include "util/error.h"
#include "util/temp_dir.h"

namespace kiln::sweep {
namespace {

namespace fs = std::filesystem;
using optuna::TrialState;

optuna::Trial trial(int number, TrialState state, std::optional<double> value, double lr) {
  optuna::Trial t;
  t.id = t.number = number;
  t.state = state;
  t.value = value;
  t.params["optim.lr"] = lr;
  t.distributions["optim.lr"] = optuna::make_float(1e-4, 1e-1, true, std::nullopt);
  t.datetime_start = "2024-05-01T10:00:00.000000";
  t.datetime_complete = "2024-05-01T10:00:02.500000";
  return t;
}

SweepSpec spec(optuna::Direction direction) {
  SweepSpec s;
  s.name = "t";
  s.metric = "test_accuracy";
  s.direction = direction;
  return s;
}

optuna::Study study() {
  optuna::Study s;
  s.trials = {trial(0, TrialState::kFail, std::nullopt, 0.01), trial(1, TrialState::kComplete, 0.5, 0.001),
              trial(2, TrialState::kPruned, 0.3, 0.002), trial(3, TrialState::kComplete, 0.7, 0.003),
              trial(4, TrialState::kRunning, std::nullopt, 0.004)};
  return s;
}

std::string read(const fs::path& p) {
  std::stringstream s;
  s << std::ifstream(p).rdbuf();
  return s.str();
}

TEST(SweepLeaderboard, CompleteBestFirstThenPrunedThenFailed) {
  const std::string board = leaderboard(study(), spec(optuna::Direction::kMaximize), 20);
  EXPECT_EQ(board,
            "\n  trial  state     test_accuracy  time     params\n"
            "      3  COMPLETE  0.7000            2.5s  optim.lr=0.003\n"
            "      1  COMPLETE  0.5000            2.5s  optim.lr=0.001\n"
            "      2  PRUNED    0.3000            2.5s  optim.lr=0.002\n"
            "      0  FAIL      -                 2.5s  optim.lr=0.01\n");
  // Minimizing turns the COMPLETE rows round; a short table says how many it left out.
  const std::string min = leaderboard(study(), spec(optuna::Direction::kMinimize), 2);
  EXPECT_LT(min.find("      1  COMPLETE"), min.find("      3  COMPLETE")) << min;
  EXPECT_NE(min.find("  ... 2 more\n"), std::string::npos) << min;
}

TEST(SweepSummary, BestTrialCountsAndFiles) {
  const util::TempDir tmp("kiln-summary");
  const nlohmann::json j = write_summary(study(), spec(optuna::Direction::kMaximize), tmp.path(), std::nullopt,
                                         tmp.path() / "study.journal", false);
  EXPECT_EQ(j["trials"], 5);
  EXPECT_EQ(j["complete"], 2);
  EXPECT_EQ(j["pruned"], 1);
  EXPECT_EQ(j["failed"], 1);
  EXPECT_EQ(j["direction"], "maximize");
  EXPECT_EQ(j["study_file"], (tmp.path() / "study.journal").string());
  EXPECT_EQ(j["best"]["number"], 3);
  EXPECT_EQ(j["best"]["params"]["optim.lr"], 0.003);
  EXPECT_EQ(nlohmann::json::parse(read(tmp.path() / "summary.json")), j);
  EXPECT_NE(read(tmp.path() / "best.toml").find("lr = 0.003"), std::string::npos) << "the best lr in a full config";
  EXPECT_NO_THROW(require_best(j));
}

TEST(SweepSummary, NoCompleteTrialMeansNoBestAndRequireBestFails) {
  const util::TempDir tmp("kiln-summary");
  optuna::Study s;
  s.trials = {trial(0, TrialState::kFail, std::nullopt, 0.01)};
  const nlohmann::json j =
      write_summary(s, spec(optuna::Direction::kMinimize), tmp.path(), std::nullopt, std::nullopt, false);
  EXPECT_FALSE(j.contains("best"));
  EXPECT_FALSE(j.contains("study_file")) << "a remote study has no file";
  EXPECT_FALSE(fs::exists(tmp.path() / "best.toml"));
  try {
    require_best(j);
    FAIL() << "require_best accepted a summary without a best trial";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kRuntime);
    EXPECT_EQ(std::string(e.what()), "no trial completed");
    EXPECT_NE(e.hint().find((tmp.path() / "trials").string()), std::string::npos) << e.hint();
  }
}

}  // namespace
}  // namespace kiln::sweep
