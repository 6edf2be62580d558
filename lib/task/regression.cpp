// The regression task.
#include "task/regression.h"

#include <ATen/ops/abs.h>
#include <ATen/ops/huber_loss.h>
#include <ATen/ops/mse_loss.h>

#include "config/config.h"
#include "util/error.h"

namespace kiln::task {
namespace {

// Targets as the output's [B, K]: a scalar target per sample is one column.
at::Tensor as_output(const at::Tensor& target, const at::Tensor& output) { return target.reshape(output.sizes()); }

struct LossFn {
  bool huber = false;
  double delta = 1.0;
  at::Tensor operator()(const at::Tensor& out, const at::Tensor& y, at::Reduction::Reduction r) const {
    return huber ? at::huber_loss(out, y, r, delta) : at::mse_loss(out, y, r);
  }
};

class RegressionEval : public Evaluation {
 public:
  explicit RegressionEval(LossFn loss) : loss_(loss) {}
  void add(const at::Tensor& output, const at::Tensor& target) override {
    const at::Tensor out = output.to(at::kDouble), y = as_output(target, output).to(at::kDouble);
    const at::Tensor err = out - y;
    add_to(loss_sum_, loss_(out, y, at::Reduction::Sum));
    add_to(sse_, err.pow(2).sum(0));  // [K]
    add_to(sae_, err.abs().sum());
    add_to(sy_, y.sum(0));
    add_to(syy_, y.pow(2).sum(0));
    rows_ += y.size(0);
    n_ += y.numel();
  }
  std::vector<double> result() override {
    if (n_ == 0) return {0.0, 0.0, 0.0, 0.0};
    const double n = double(n_), rows = double(rows_);
    const at::Tensor sse = sse_.cpu(), sy = sy_.cpu(), syy = syy_.cpu();
    const at::Tensor sst = syy - sy.pow(2) / rows;
    // A column whose targets are all equal has no variance to explain: R^2 0 for it.
    const at::Tensor r2 = at::where(sst > 0, 1.0 - sse / sst.clamp_min(1e-300), at::zeros_like(sst));
    return {loss_sum_.item<double>() / n, sse.sum().item<double>() / n, sae_.item<double>() / n,
            r2.mean().item<double>()};
  }
  bool reduce(const std::function<void(std::vector<at::Tensor>&)>& sum_over_ranks) override {
    const auto opts = sse_.options().dtype(at::kDouble);
    std::vector<at::Tensor> t = {
        loss_sum_.reshape({1}), sse_, sae_.reshape({1}), sy_, syy_, at::tensor({double(rows_), double(n_)}, opts)};
    sum_over_ranks(t);
    loss_sum_ = t[0][0];
    sse_ = t[1];
    sae_ = t[2][0];
    sy_ = t[3];
    syy_ = t[4];
    const at::Tensor counts = t[5].cpu();
    rows_ = int64_t(counts[0].item<double>());
    n_ = int64_t(counts[1].item<double>());
    return true;
  }

 private:
  static void add_to(at::Tensor& sum, const at::Tensor& x) { sum = sum.defined() ? sum + x : x; }
  LossFn loss_;
  at::Tensor loss_sum_, sse_, sae_, sy_, syy_;
  int64_t rows_ = 0, n_ = 0;
};

class Regression : public Task {
 public:
  explicit Regression(LossFn loss) : loss_(loss) {}
  void check(const data::SampleSpec& spec, const std::string& dataset) const override {
    if (spec.target.dtype != c10::ScalarType::Float || spec.target.shape.size() > 1) {
      throw Error::usage("dataset '" + dataset + "' has " + data::describe(spec.target) +
                             " targets; train.task = \"regression\" needs float32 targets, one value or a vector "
                             "[K] per sample",
                         "pick train.task = \"classification\" for class labels");
    }
  }
  int64_t outputs(const data::SampleSpec& spec) const override { return spec.target.numel(); }
  at::Tensor loss(const at::Tensor& output, const at::Tensor& target) const override {
    return loss_(output, as_output(target, output), at::Reduction::Mean);
  }
  std::vector<Metric> metrics() const override {
    return {{"loss", false}, {"mse", false}, {"mae", false}, {"r2", true}};
  }
  bool sharded_evaluation() const override { return true; }
  std::unique_ptr<Evaluation> evaluation() const override { return std::make_unique<RegressionEval>(loss_); }

 private:
  LossFn loss_;
};

}  // namespace

TaskPtr make_regression(const config::RunConfig& cfg) {
  return std::make_shared<Regression>(LossFn{cfg.train.regression_loss == "huber", cfg.train.huber_delta});
}

}  // namespace kiln::task
