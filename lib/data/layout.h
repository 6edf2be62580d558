// Channels-last memory format for 4-D tensors ([N, C, H, W] with NHWC strides).
#pragma once
#include <ATen/core/Tensor.h>

namespace kiln::data {

// `t` with the canonical channels-last strides (C*H*W, 1, W*C, C), a copy unless it has them
// already; other ranks come back unchanged. Why not t.contiguous(ChannelsLast): where a
// size is 1 (C = 1 images and their first conv's weight [out, 1, kh, kw], or 1x1 kernels) a
// plain contiguous tensor already counts as channels-last-contiguous, so that call keeps its
// NCHW strides, suggest_memory_format() reads them as NCHW, and oneDNN / cuDNN pick the NCHW
// kernel: the first conv's output leaves channels-last and the next layer pays a transpose
// in forward and backward.
at::Tensor channels_last(const at::Tensor& t);

// True where suggest_memory_format() reads `t` as channels-last (what the conv kernels go by).
bool is_channels_last(const at::Tensor& t);

}  // namespace kiln::data
