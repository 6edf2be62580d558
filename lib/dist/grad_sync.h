// GradSync: data-parallel gradient averaging with PyTorch's own c10d::Reducer, the engine
// of Python's DistributedDataParallel. Parameters go into buckets of up to 25 MiB in reverse
// order (the order backward produces gradients in); autograd hooks start each bucket's
// all-reduce as soon as its last gradient is ready, so communication overlaps the rest of
// backward, and when backward returns every gradient is the mean over the ranks.
#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

namespace c10d {
class Reducer;
}

namespace kiln::dist {

class Group;

class GradSync {
 public:
  // `params`: the model's trainable parameters in registration order (every one must get a
  // gradient in every step: the Reducer waits for each). Broadcasts parameters and `buffers`
  // (BatchNorm statistics) from rank 0 first, so every rank starts from the same model.
  GradSync(Group& group, std::vector<at::Tensor> params, std::vector<at::Tensor> buffers,
           int64_t bucket_bytes = int64_t(25) << 20);
  ~GradSync();

  // Call before the forward and backward of a micro-batch. `sync`: this backward averages
  // (the step's last micro-batch); false accumulates locally (grad_accum's others).
  void before_forward(bool sync);
  void before_backward(bool sync);

  // Buckets the parameters went into (for the startup log and tests).
  size_t buckets() const { return buckets_; }

 private:
  std::unique_ptr<c10d::Reducer> reducer_;
  size_t buckets_ = 0;
};

}  // namespace kiln::dist
