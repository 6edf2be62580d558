// model::BatchNorm2d (see batch_norm.h): the job-wide statistics by two all-reduces, each with
// an all-reduce as its gradient.
#include "model/batch_norm.h"

#include <torch/autograd.h>

#include "dist/group.h"

namespace kiln::model {
namespace {

// y = sum over ranks of x, on every rank. Every rank's loss depends on y, so the gradient of
// the job's loss with respect to this rank's x is the sum of every rank's dL/dy: an all-reduce
// again. (With DDP's averaging of the parameters' gradients this gives one process's
// gradient for the global batch, as PyTorch's SyncBatchNorm does.)
class AllReduceSum : public torch::autograd::Function<AllReduceSum> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, dist::Group* group) {
    ctx->saved_data["group"] = reinterpret_cast<int64_t>(group);
    std::vector<at::Tensor> t = {x.clone()};
    group->allreduce_sum(t);
    return t[0];
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto* group = reinterpret_cast<dist::Group*>(ctx->saved_data["group"].toInt());
    std::vector<at::Tensor> t = {grads[0].contiguous().clone()};
    group->allreduce_sum(t);
    return {t[0], at::Tensor()};
  }
};

at::Tensor per_channel(const at::Tensor& v) { return v.view({1, -1, 1, 1}); }

}  // namespace

at::Tensor BatchNorm2dImpl::forward(const at::Tensor& x) {
  if (!sync_ || !is_training()) return torch::nn::BatchNorm2dImpl::forward(x);
  TORCH_CHECK(x.dim() == 4, "BatchNorm2d expects [N, C, H, W], got ", x.dim(), " dimensions");
  // The statistics in fp32 at least (under autocast the input may be bf16/fp16).
  const at::Tensor xf = x.scalar_type() == at::kDouble ? x : x.to(at::kFloat);
  // Values per channel in the job's batch: every rank steps with the same batch shape (the
  // loader leaves out a partial global batch), so no count needs exchanging.
  const double n = double(x.size(0) * x.size(2) * x.size(3) * sync_->size());
  // Two passes over the job's batch, as one process's batch norm: the mean, then the mean
  // squared deviation from it (biased, for normalising; the running variance is unbiased).
  const at::Tensor mean = AllReduceSum::apply(xf.sum({0, 2, 3}), sync_) / n;
  const at::Tensor centred = xf - per_channel(mean);
  const at::Tensor var = AllReduceSum::apply(centred.square().sum({0, 2, 3}), sync_) / n;
  at::Tensor y = centred * per_channel((var + options.eps()).rsqrt());
  if (options.affine()) y = y * per_channel(weight) + per_channel(bias);
  if (options.track_running_stats()) {
    torch::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
    const double m = options.momentum() ? *options.momentum() : 1.0 / num_batches_tracked.item<double>();
    running_mean.mul_(1 - m).add_(mean.detach().to(running_mean.scalar_type()), m);
    running_var.mul_(1 - m).add_((var.detach() * (n / std::max(n - 1, 1.0))).to(running_var.scalar_type()), m);
  }
  return y.to(x.scalar_type());
}

int64_t sync_batch_norms(torch::nn::Module& net, dist::Group* group) {
  int64_t n = 0;
  for (const auto& m : net.modules(/*include_self=*/true)) {
    if (auto* bn = dynamic_cast<BatchNorm2dImpl*>(m.get())) {
      bn->set_sync(group);
      ++n;
    }
  }
  return n;
}

}  // namespace kiln::model
