// Adaptive average pooling that stays deterministic on CUDA.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace kiln::model {

// [B, C, H, W] -> [B, C, h, w] with adaptive_avg_pool2d's windows (window i of n over a length-L
// axis covers [floor(i*L/n), ceil((i+1)*L/n))), but not through adaptive_avg_pool2d: its CUDA
// backward scatters with atomics and has no deterministic variant, and kiln trains under
// torch.use_deterministic_algorithms. Maps that divide evenly go through avg_pool2d; others
// through two averaging matrices, [h, H] @ x @ [W, w], whose backward is matmuls as well.
at::Tensor average_pool(const at::Tensor& x, int64_t h, int64_t w);

}  // namespace kiln::model
