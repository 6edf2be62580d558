// Example: a task, a dataset and a metrics sink of your own, each plugged into kiln with one
// registration line (see main), trained by kiln's own loop with the built-in mlp.
//   task "mse":       regression with a mean-squared-error loss; metrics mse, mae and r2
//   dataset "waves":  generated in memory: 4 float32 features in [-1, 1], one float32 target
//                     y = sin(pi x0) + x1 x2 - x3 / 2 (smooth, so an MLP fits it well)
//   sink EvalLog:     keeps every evaluation record; main prints how many it saw
//   usage: example_regression_task [RUN_DIR]
// Prints the run's summary as one JSON line, with "evals_seen" from the sink added.
#include <ATen/ops/abs.h>
#include <ATen/ops/mse_loss.h>

#include <cmath>
#include <iostream>

#include "config/config.h"
#include "data/dataset.h"
#include "metrics/sink.h"
#include "model/mlp.h"
#include "repro/rng.h"
#include "task/task.h"
#include "train/trainer.h"
#include "util/error.h"

namespace {

// ---- the dataset ------------------------------------------------------------------------

class Waves : public kiln::data::Dataset {
 public:
  Waves(int64_t n, uint64_t split_seed) : n_(n), seed_(split_seed) {}
  int64_t size() const override { return n_; }
  kiln::data::SampleSpec spec() const override {
    return {{c10::ScalarType::Float, {4}}, {c10::ScalarType::Float, {1}}, 0};
  }
  void read(int64_t index, void* input, void* target) const override {
    auto* x = static_cast<float*>(input);
    for (uint64_t i = 0; i < 4; ++i) {
      // kiln's counter-based generator keyed on (split seed, index, feature), mapped to [-1, 1).
      const uint64_t h = kiln::repro::philox_u64(seed_, static_cast<uint64_t>(index), i);
      x[i] = static_cast<float>(double(h >> 11) / double(1ull << 53) * 2.0 - 1.0);
    }
    *static_cast<float*>(target) = float(std::sin(M_PI * x[0]) + x[1] * x[2] - 0.5 * x[3]);
  }

 private:
  int64_t n_;
  uint64_t seed_;
};

// ---- the task ---------------------------------------------------------------------------

// Sums over the split on the device: squared and absolute errors, and the targets' first two
// moments for R^2 = 1 - SSE / sum((y - mean y)^2).
class MseEval : public kiln::task::Evaluation {
 public:
  void add(const at::Tensor& out, const at::Tensor& y) override {
    const auto err = out - y;
    accumulate(sse_, err.pow(2).sum());
    accumulate(sae_, err.abs().sum());
    accumulate(sy_, y.sum());
    accumulate(syy_, y.pow(2).sum());
    n_ += y.numel();
  }
  std::vector<double> result() override {
    if (n_ == 0) return {0.0, 0.0, 0.0};
    const double n = double(n_), sse = sse_.item<double>(), sy = sy_.item<double>();
    const double ss_tot = syy_.item<double>() - sy * sy / n;
    return {sse / n, sae_.item<double>() / n, ss_tot > 0 ? 1.0 - sse / ss_tot : 0.0};
  }

 private:
  static void accumulate(at::Tensor& sum, const at::Tensor& x) { sum = sum.defined() ? sum + x : x; }
  at::Tensor sse_, sae_, sy_, syy_;
  int64_t n_ = 0;
};

class MseRegression : public kiln::task::Task {
 public:
  void check(const kiln::data::SampleSpec& spec, const std::string& dataset) const override {
    if (spec.target.dtype != c10::ScalarType::Float || spec.target.shape.size() != 1) {
      throw kiln::Error::usage("dataset '" + dataset + "' has " + kiln::data::describe(spec.target) +
                               " targets; the mse task needs float32 [K]");
    }
  }
  int64_t outputs(const kiln::data::SampleSpec& spec) const override { return spec.target.shape[0]; }
  at::Tensor loss(const at::Tensor& out, const at::Tensor& y) const override { return at::mse_loss(out, y); }
  std::vector<kiln::task::Metric> metrics() const override { return {{"loss", false}, {"mae", false}, {"r2", true}}; }
  std::unique_ptr<kiln::task::Evaluation> evaluation() const override { return std::make_unique<MseEval>(); }
};

// ---- the metrics sink -------------------------------------------------------------------

class EvalLog : public kiln::metrics::Sink {
 public:
  void on_eval(const kiln::metrics::EvalRecord& r) override { records.push_back(r); }
  std::vector<kiln::metrics::EvalRecord> records;
};

}  // namespace

int main(int argc, char** argv) {
  // The registration lines: one per dataset and task (a model: see custom_model.cpp).
  kiln::data::register_dataset("waves", [](const kiln::config::DataConfig&) {
    return kiln::data::Splits{std::make_shared<Waves>(4000, 1), std::make_shared<Waves>(1000, 2)};
  });
  kiln::task::register_task("mse", [](const kiln::config::RunConfig&) { return std::make_shared<MseRegression>(); });

  kiln::config::RunConfig cfg;  // the defaults, then what this example changes
  cfg.data.dataset = "waves";
  cfg.train.task = "mse";
  cfg.model.name = "mlp";
  cfg.model.knobs<kiln::model::MlpKnobs>().hidden = {64, 64};  // [model.mlp] hidden = [64, 64]
  cfg.model.dropout = 0.0;
  cfg.loader.batch_size = 64;
  cfg.optim.lr = 3e-3;
  cfg.train.name = "regression_task";
  cfg.train.epochs = 8;
  cfg.log.progress = "off";
  kiln::train::TrainOptions opts;
  if (argc > 1) opts.run_dir = argv[1];
  auto log = std::make_shared<EvalLog>();
  opts.sinks.push_back(log);  // the sink's registration line
  try {
    auto summary = kiln::train::run(cfg, opts);
    summary["evals_seen"] = log->records.size();
    std::cout << summary.dump() << std::endl;
  } catch (const kiln::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return static_cast<int>(e.code());
  }
  return 0;
}
