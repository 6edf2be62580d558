// Training-mode batch norm with an optional ReLU after it, in kiln's own CPU kernels for fp32
// (model::BatchNorm2d calls them). LibTorch's batch norm is two passes over the activation
// forward (statistics, then normalise) and two backward, and the ReLU after it one more each
// way (in place forward; threshold_backward writes a new gradient). Here the statistics are
// one pass (sums of x - k and of its square, k a value of the channel, so that they do not
// cancel), normalise and ReLU share a pass, and the backward is two passes that read x and the
// output's gradient (the ReLU's mask recomputed from x, bit for bit as forward computed it).
// The reductions are summed in units whose bounds depend on the shape alone, added in a fixed
// order: the result does not depend on the intra-op thread count. First derivatives only
// (no double backward through it).
#pragma once
#include <ATen/core/Tensor.h>

#include <array>

namespace kiln::model {

// x: [N, C, H, W] fp32 on the CPU, contiguous (NCHW) or channels-last; weight, bias: [C]
// fp32. Returns {y, mean, var}: y = relu?((x - mean) / sqrt(var + eps) * weight + bias) in
// x's layout; mean and var [C] fp32, var biased (over the N * H * W values of a channel). With
// autograd: y's gradient reaches x, weight and bias; mean and var carry none.
std::array<at::Tensor, 3> batch_norm_train_cpu(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                               double eps, bool relu);

// Whether batch_norm_train_cpu takes these tensors.
bool batch_norm_train_cpu_takes(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

}  // namespace kiln::model
