// The language-model task.
#include "task/language_model.h"

#include <torch/nn/functional/loss.h>

#include <cmath>

#include "config/config.h"
#include "util/error.h"

namespace kiln::task {
namespace {

namespace F = torch::nn::functional;

// [B, T, V] logits and [B, T] targets flattened to the [N, V] and [N] cross_entropy takes.
at::Tensor token_cross_entropy(const at::Tensor& logits, const at::Tensor& targets, at::Reduction::Reduction r,
                               double smoothing = 0.0) {
  const int64_t vocab = logits.size(-1);
  auto opts = F::CrossEntropyFuncOptions().label_smoothing(smoothing);
  if (r == at::Reduction::Sum) opts = opts.reduction(torch::kSum);
  return F::cross_entropy(logits.reshape({-1, vocab}), targets.reshape({-1}), opts);
}

class LanguageModelEval : public Evaluation {
 public:
  void add(const at::Tensor& logits, const at::Tensor& targets) override {
    auto l = token_cross_entropy(logits, targets, at::Reduction::Sum);
    loss_sum_ = loss_sum_.defined() ? loss_sum_ + l : l;
    n_ += targets.numel();
  }
  std::vector<double> result() override {
    if (n_ == 0) return {0.0, 0.0};
    const double loss = loss_sum_.item<double>() / double(n_);
    return {loss, std::exp(loss)};
  }
  bool reduce(const std::function<void(std::vector<at::Tensor>&)>& sum_over_ranks) override {
    std::vector<at::Tensor> t = {loss_sum_.to(at::kDouble).reshape({1}),
                                 at::full({1}, double(n_), loss_sum_.options().dtype(at::kDouble))};
    sum_over_ranks(t);
    loss_sum_ = t[0][0];
    n_ = int64_t(t[1].item<double>());
    return true;
  }

 private:
  at::Tensor loss_sum_;
  int64_t n_ = 0;
};

class LanguageModel : public Task {
 public:
  explicit LanguageModel(double label_smoothing) : smoothing_(label_smoothing) {}

  void check(const data::SampleSpec& spec, const std::string& dataset) const override {
    const bool tokens = spec.input.dtype == c10::ScalarType::Long && spec.input.shape.size() == 1 &&
                        spec.target.dtype == c10::ScalarType::Long && spec.target.shape == spec.input.shape;
    if (!tokens || spec.num_classes < 1) {
      throw Error::usage("dataset '" + dataset + "' has " + data::describe(spec.input) + " -> " +
                             data::describe(spec.target) +
                             " samples; train.task = \"language-model\" needs int64 [T] token windows and their "
                             "next tokens",
                         "use data.dataset = \"tokens\", or train.task = \"classification\" / \"regression\"");
    }
  }
  int64_t outputs(const data::SampleSpec& spec) const override { return spec.num_classes; }
  at::Tensor loss(const at::Tensor& logits, const at::Tensor& targets) const override {
    return token_cross_entropy(logits, targets, at::Reduction::Mean, smoothing_);
  }
  std::vector<Metric> metrics() const override { return {{"loss", false}, {"perplexity", false}}; }
  bool sharded_evaluation() const override { return true; }
  std::unique_ptr<Evaluation> evaluation() const override { return std::make_unique<LanguageModelEval>(); }
  int64_t tokens_per_sample(const data::SampleSpec& spec) const override { return spec.target.numel(); }

 private:
  double smoothing_;
};

}  // namespace

TaskPtr make_language_model(const config::RunConfig& cfg) {
  return std::make_shared<LanguageModel>(cfg.train.label_smoothing);
}

}  // namespace kiln::task
