// Evaluation loop: sums on the device, one host sync at the end.
#include "train/evaluate.h"

#include <torch/nn/functional/loss.h>

namespace kiln::train {

EvalResult evaluate(model::Net& net, data::Loader& loader) {
  torch::NoGradGuard no_grad;
  net.eval();
  at::Tensor loss_sum, correct;
  int64_t n = 0;
  loader.start(0, 0);
  while (auto b = loader.next()) {
    auto logits = net.forward(b->images);
    auto l = torch::nn::functional::cross_entropy(
        logits, b->labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    auto c = logits.argmax(1).eq(b->labels).sum();
    loss_sum = loss_sum.defined() ? loss_sum + l : l;
    correct = correct.defined() ? correct + c : c;
    n += b->labels.size(0);
  }
  net.train();
  EvalResult r;
  r.samples = n;
  if (n > 0) {
    r.loss = loss_sum.item<double>() / double(n);
    r.accuracy = correct.item<double>() / double(n);
  }
  return r;
}

}  // namespace kiln::train
