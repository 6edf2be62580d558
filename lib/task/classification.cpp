// The classification task: today's (and the first) behaviour of kiln, bit for bit.
#include "task/classification.h"

#include <torch/nn/functional/loss.h>

#include "config/config.h"
#include "util/error.h"

namespace kiln::task {
namespace {

namespace F = torch::nn::functional;

class ClassificationEval : public Evaluation {
 public:
  void add(const at::Tensor& logits, const at::Tensor& labels) override {
    auto l = F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().reduction(torch::kSum));
    auto c = logits.argmax(1).eq(labels).sum();
    loss_sum_ = loss_sum_.defined() ? loss_sum_ + l : l;
    correct_ = correct_.defined() ? correct_ + c : c;
    n_ += labels.size(0);
  }
  std::vector<double> result() override {
    if (n_ == 0) return {0.0, 0.0};
    return {loss_sum_.item<double>() / double(n_), correct_.item<double>() / double(n_)};
  }
  bool reduce(const std::function<void(std::vector<at::Tensor>&)>& sum_over_ranks) override {
    const auto opts = loss_sum_.options().dtype(at::kDouble);
    std::vector<at::Tensor> t = {loss_sum_.to(at::kDouble).reshape({1}), correct_.to(at::kDouble).reshape({1}),
                                 at::full({1}, double(n_), opts)};
    sum_over_ranks(t);
    loss_sum_ = t[0][0];
    correct_ = t[1][0];
    n_ = int64_t(t[2].item<double>());
    return true;
  }

 private:
  at::Tensor loss_sum_, correct_;
  int64_t n_ = 0;
};

class Classification : public Task {
 public:
  explicit Classification(double label_smoothing) : smoothing_(label_smoothing) {}

  void check(const data::SampleSpec& spec, const std::string& dataset) const override {
    if (spec.target.dtype != c10::ScalarType::Long || !spec.target.shape.empty() || spec.num_classes < 1) {
      throw Error::usage("dataset '" + dataset + "' has " + data::describe(spec.target) +
                             " targets; train.task = \"classification\" needs one int64 class label per sample",
                         "pick a task for this dataset's targets with train.task");
    }
  }
  int64_t outputs(const data::SampleSpec& spec) const override { return spec.num_classes; }
  at::Tensor loss(const at::Tensor& logits, const at::Tensor& labels) const override {
    return F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().label_smoothing(smoothing_));
  }
  std::vector<Metric> metrics() const override { return {{"loss", false}, {"accuracy", true}}; }
  bool sharded_evaluation() const override { return true; }
  std::unique_ptr<Evaluation> evaluation() const override { return std::make_unique<ClassificationEval>(); }

 private:
  double smoothing_;
};

}  // namespace

TaskPtr make_classification(const config::RunConfig& cfg) {
  return std::make_shared<Classification>(cfg.train.label_smoothing);
}

}  // namespace kiln::task
