// Unit tests for sweep/objective: the default metric and direction come from the base
// config's task, an explicit direction wins, and a metric the task does not report is a
// usage error naming the spec's file:line and the task's metrics.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "config/config.h"
#include "sweep/objective.h"
#include "task/task.h"
#include "util/error.h"

namespace kiln::sweep {
namespace {

// A task whose metrics are all lower-is-better (as language modelling's loss and perplexity
// are), and one whose only higher-is-better metric is not the first after the loss.
class FixedMetrics : public task::Task {
 public:
  explicit FixedMetrics(std::vector<task::Metric> m) : metrics_(std::move(m)) {}
  void check(const data::SampleSpec&, const std::string&) const override {}
  int64_t outputs(const data::SampleSpec&) const override { return 1; }
  at::Tensor loss(const at::Tensor& out, const at::Tensor&) const override { return out; }
  std::vector<task::Metric> metrics() const override { return metrics_; }
  std::unique_ptr<task::Evaluation> evaluation() const override { return nullptr; }

 private:
  std::vector<task::Metric> metrics_;
};

const bool kRegistered =
    task::register_task(
        "objective_test_lm",
        [](const config::RunConfig&) {
          return std::make_shared<FixedMetrics>(std::vector<task::Metric>{{"loss", false}, {"perplexity", false}});
        }) &&
    task::register_task("objective_test_reg", [](const config::RunConfig&) {
      return std::make_shared<FixedMetrics>(std::vector<task::Metric>{{"loss", false}, {"mae", false}, {"r2", true}});
    });

config::RunConfig with_task(const std::string& name) {
  config::RunConfig c;
  c.train.task = name;
  return c;
}

SweepSpec spec_with(const std::string& metric) {
  SweepSpec s;
  s.metric = metric;
  s.metric_at = "s.toml:3";
  return s;
}

TEST(SweepObjective, ClassificationDefaultsToMaximisingTestAccuracy) {
  SweepSpec s = spec_with("");
  resolve_objective(s, config::RunConfig{});
  EXPECT_EQ(s.metric, "test_accuracy");
  EXPECT_EQ(s.direction, optuna::Direction::kMaximize);
}

TEST(SweepObjective, TheMetricsOwnDirectionUnlessTheSpecGaveOne) {
  SweepSpec loss = spec_with("test_loss");
  resolve_objective(loss, config::RunConfig{});
  EXPECT_EQ(loss.direction, optuna::Direction::kMinimize);

  SweepSpec given = spec_with("test_loss");
  given.direction = optuna::Direction::kMaximize;
  given.direction_given = true;
  resolve_objective(given, config::RunConfig{});
  EXPECT_EQ(given.direction, optuna::Direction::kMaximize);
}

TEST(SweepObjective, DefaultIsTheTasksFirstHigherIsBetterMetricElseItsLoss) {
  ASSERT_TRUE(kRegistered);
  SweepSpec reg = spec_with("");
  resolve_objective(reg, with_task("objective_test_reg"));
  EXPECT_EQ(reg.metric, "test_r2");
  EXPECT_EQ(reg.direction, optuna::Direction::kMaximize);

  SweepSpec lm = spec_with("");
  resolve_objective(lm, with_task("objective_test_lm"));
  EXPECT_EQ(lm.metric, "test_loss");
  EXPECT_EQ(lm.direction, optuna::Direction::kMinimize);

  SweepSpec ppl = spec_with("test_perplexity");
  resolve_objective(ppl, with_task("objective_test_lm"));
  EXPECT_EQ(ppl.direction, optuna::Direction::kMinimize);
}

TEST(SweepObjective, AMetricTheTaskDoesNotReportNamesTheLineAndTheTasksMetrics) {
  SweepSpec s = spec_with("test_acuracy");
  try {
    resolve_objective(s, config::RunConfig{});
    FAIL() << "resolved an unknown metric";
  } catch (const Error& e) {
    const std::string text = std::string(e.what()) + " | " + e.hint();
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    for (const char* part : {"'objective.metric'", "s.toml:3", "'classification'", "did you mean 'test_accuracy'",
                             "test_loss, test_accuracy"}) {
      EXPECT_NE(text.find(part), std::string::npos) << text << " lacks " << part;
    }
  }
  // A metric of another task is not one of this task's.
  SweepSpec r2 = spec_with("test_r2");
  EXPECT_THROW(resolve_objective(r2, config::RunConfig{}), Error);
}

}  // namespace
}  // namespace kiln::sweep
