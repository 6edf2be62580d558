// BatchNorm2d: LibTorch's BatchNorm2d (same parameters and buffers, so checkpoints, exports
// and the per-rank default are unchanged) that can normalise over a data-parallel job's whole
// batch instead of this rank's part (model.sync_bn, as PyTorch's SyncBatchNorm): in training,
// with a group set, the per-channel mean and variance are the job's, and so are the running
// statistics, which then stay equal on every rank. The conv nets build theirs from this.
#pragma once
#include <torch/nn/modules/batchnorm.h>

namespace kiln::dist {
class Group;
}  // namespace kiln::dist

namespace kiln::model {

class BatchNorm2dImpl : public torch::nn::BatchNorm2dImpl {
 public:
  using torch::nn::BatchNorm2dImpl::BatchNorm2dImpl;
  // x: [N, C, H, W]. Hides the base's forward (the module is always held by its own type).
  at::Tensor forward(const at::Tensor& x);
  // Normalise over every rank of `group` in training (nullptr: this rank's batch only). Every
  // rank must then run the same forward and backward: each call is two all-reduces forward
  // and two backward.
  void set_sync(dist::Group* group) { sync_ = group; }
  dist::Group* sync() const { return sync_; }

 private:
  dist::Group* sync_ = nullptr;
};
TORCH_MODULE(BatchNorm2d);

// Sets `group` on every model::BatchNorm2d inside `net`; returns how many there are.
int64_t sync_batch_norms(torch::nn::Module& net, dist::Group* group);

}  // namespace kiln::model
