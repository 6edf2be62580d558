// The examples are built by the default build; running them here keeps them from rotting.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>

namespace {

namespace fs = std::filesystem;

// Runs `cmd` through popen and returns its stdout's last line and exit status.
std::pair<std::string, int> run(const std::string& cmd) {
  std::string out, last;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {"", -1};
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), p)) out += buf.data();
  const int status = pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const auto nl = out.rfind('\n');
  last = nl == std::string::npos ? out : out.substr(nl + 1);
  return {last, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("kiln-example-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

}  // namespace

TEST(Examples, CustomDatasetTrainsToHighAccuracy) {
  const fs::path exe = fs::path(KILN_EXE).parent_path() / "example_custom_dataset";
  const fs::path dir = fresh_dir("dataset");
  auto [line, rc] = run(exe.string() + " " + dir.string() + " 2>/dev/null");
  ASSERT_EQ(rc, 0) << line;
  const auto j = nlohmann::json::parse(line);
  // Stripe direction is trivially learnable: a working loop reaches near-perfect accuracy,
  // a broken one (labels shuffled against images, no updates) stays near chance (0.25).
  EXPECT_GT(j["test_accuracy"].get<double>(), 0.9);
  EXPECT_TRUE(fs::exists(dir / "summary.json"));
  fs::remove_all(dir);
}

TEST(Examples, CustomModelIsRegisteredAndTrained) {
  const fs::path exe = fs::path(KILN_EXE).parent_path() / "example_custom_model";
  const fs::path dir = fresh_dir("model");
  auto [line, rc] = run(exe.string() + " " + dir.string() + " 2>/dev/null");
  ASSERT_EQ(rc, 0) << line;
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["model"], "tiny_convnet");
  // One epoch on 6000 samples: well above chance (0.1) when the custom model really trains.
  EXPECT_GT(j["test_accuracy"].get<double>(), 0.6);
  // The default knob, channels = 8: conv 8*(5*5+1), linear 8*12*12*10+10.
  EXPECT_EQ(j["parameters"], 8 * 26 + 8 * 144 * 10 + 10);
  fs::remove_all(dir);
}

TEST(Examples, RegressionTaskDatasetAndSinkPlugIn) {
  const fs::path exe = fs::path(KILN_EXE).parent_path() / "example_regression_task";
  const fs::path dir = fresh_dir("regression");
  auto [line, rc] = run(exe.string() + " " + dir.string() + " 2>/dev/null");
  ASSERT_EQ(rc, 0) << line;
  const auto j = nlohmann::json::parse(line);
  // The task's own metrics reach the summary; the classification ones do not.
  EXPECT_EQ(j["task"], "mse");
  EXPECT_FALSE(j.contains("test_accuracy"));
  // The target's variance is about 0.6: predicting its mean scores r2 = 0 and mse ~0.6;
  // an MLP that really learns the smooth function gets most of the variance.
  EXPECT_GT(j["test_r2"].get<double>(), 0.9);
  EXPECT_LT(j["test_loss"].get<double>(), 0.06);
  EXPECT_GT(j["test_mae"].get<double>(), 0.0);
  // The sink saw one evaluation per epoch, and metrics.jsonl holds the task's metric names.
  EXPECT_EQ(j["evals_seen"], 8);
  std::ifstream metrics(dir / "metrics.jsonl");
  std::string l, last_eval;
  while (std::getline(metrics, l)) {
    if (l.find("\"type\":\"eval\"") != std::string::npos) last_eval = l;
  }
  const auto e = nlohmann::json::parse(last_eval);
  EXPECT_DOUBLE_EQ(e["test_r2"].get<double>(), j["test_r2"].get<double>());

  // Same seed, same weights: a second run of the new task and dataset matches bit for bit.
  const fs::path again = fresh_dir("regression-again");
  auto [line2, rc2] = run(exe.string() + " " + again.string() + " 2>/dev/null");
  ASSERT_EQ(rc2, 0) << line2;
  EXPECT_EQ(nlohmann::json::parse(line2)["weights_sha256"], j["weights_sha256"]);
  fs::remove_all(dir);
  fs::remove_all(again);
}

TEST(Examples, CustomModelKnobIsAConfigKey) {
  const fs::path exe = fs::path(KILN_EXE).parent_path() / "example_custom_model";
  const fs::path dir = fresh_dir("model-knob");
  // Its table is known to the config loader: --set reaches the knob, and the range is checked.
  auto [line, rc] =
      run(exe.string() + " " + dir.string() + " model.tiny_convnet.channels=4 train.max_steps=1 2>/dev/null");
  ASSERT_EQ(rc, 0) << line;
  EXPECT_EQ(nlohmann::json::parse(line)["parameters"], 4 * 26 + 4 * 144 * 10 + 10);
  fs::remove_all(dir);
  std::tie(line, rc) = run(exe.string() + " " + dir.string() + " model.tiny_convnet.channels=0 2>&1");
  EXPECT_EQ(rc, 2) << line;
  EXPECT_NE(line.find("'model.tiny_convnet.channels' at --set model.tiny_convnet.channels=0 is out of range"),
            std::string::npos)
      << line;
  EXPECT_FALSE(fs::exists(dir));
}
