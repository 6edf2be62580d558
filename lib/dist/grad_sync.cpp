// GradSync (see grad_sync.h).
#include "dist/grad_sync.h"

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>

#include <algorithm>

#include "dist/group.h"

namespace kiln::dist {

GradSync::GradSync(Group& group, std::vector<at::Tensor> params, std::vector<at::Tensor> buffers,
                   int64_t bucket_bytes) {
  std::vector<at::Tensor> state = params;
  state.insert(state.end(), buffers.begin(), buffers.end());
  group.broadcast(state, 0);
  guarded(group.world(), "gradient bucket setup", [&] {
    // The same check DDP makes: every rank has the same parameters (count, shapes, dtypes).
    c10d::verify_params_across_processes(group.process_group(), params, std::nullopt);
    const std::vector<bool> sparse(params.size(), false);
    // DDP's sizes: a small first bucket (1 MiB) so the first all-reduce starts early.
    const size_t first = std::min<size_t>(size_t(1) << 20, size_t(bucket_bytes));
    auto [indices, limits] = c10d::compute_bucket_assignment_by_size(params, {first, size_t(bucket_bytes)}, sparse);
    // Backward produces the last layers' gradients first: their buckets go first.
    std::reverse(indices.begin(), indices.end());
    std::reverse(limits.begin(), limits.end());
    buckets_ = indices.size();
    reducer_ = std::make_unique<c10d::Reducer>(params, indices, group.process_group(), sparse, bucket_bytes,
                                               /*find_unused_parameters=*/false, /*gradient_as_bucket_view=*/false,
                                               std::unordered_map<size_t, std::string>{}, int64_t(first),
                                               /*skip_all_reduce_unused_params=*/false, /*use_python_reducer=*/false,
                                               std::vector<int64_t>(limits.begin(), limits.end()));
  });
}

GradSync::~GradSync() = default;

void GradSync::before_forward(bool sync) {
  if (sync) reducer_->prepare_for_forward();
}

void GradSync::before_backward(bool sync) {
  // Without this call the Reducer's hooks stand aside and gradients accumulate locally;
  // with it, the next backward all-reduces what has accumulated (DDP's no_sync works so).
  if (sync) reducer_->prepare_for_backward({});
}

}  // namespace kiln::dist
