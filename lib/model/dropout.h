// Dropout: LibTorch's Dropout (same options, no parameters or buffers, so checkpoints and
// exports are unchanged) with kiln's own CPU kernel in training. LibTorch's CPU dropout is
// three passes (bernoulli_ into a float noise tensor, divide it by 1 - p, multiply) and, on
// a CPU other than Intel's, draws the bernoulli serially from one Mersenne Twister: 7.2 ms a
// step (2.5 %) for the small CNN's [128, 3136] activation on the 2-core EPYC (a trace). kiln's is one
// pass that writes the output and a byte mask, its draws counter-based (repro::philox4x32 of
// the element's index, keyed by one seed taken from LibTorch's default CPU generator per call), so the
// mask is the same for any intra-op thread count and resume stays exact (the generator's
// state is in the checkpoint). CUDA tensors take LibTorch's fused dropout (graph-safe Philox).
#pragma once
#include <torch/nn/modules/dropout.h>

#include <cstdint>

namespace kiln::model {

class DropoutImpl : public torch::nn::DropoutImpl {
 public:
  using torch::nn::DropoutImpl::DropoutImpl;
  // x: any shape. Training: x * mask / (1 - p), each element kept with probability 1 - p;
  // evaluation or p = 0: x itself. Hides the base's forward (held by its own type).
  at::Tensor forward(const at::Tensor& x);
};
TORCH_MODULE(Dropout);

// The CPU kernel with an explicit seed (for tests): returns {x * mask / (1 - p), mask}, the
// mask uint8 (1 = kept) of x's shape, contiguous. Element i (row-major) is kept when word
// i % 4 of Philox4x32-10(counter i / 4, key seed) is at least p * 2^32.
std::pair<at::Tensor, at::Tensor> dropout_cpu(const at::Tensor& x, double p, uint64_t seed);

}  // namespace kiln::model
