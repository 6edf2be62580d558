// The state of every LibTorch random generator kiln's training draws from (dropout and any
// other op): the CPU generator and each CUDA device's. Checkpoints store it so that a
// resumed run draws exactly the numbers the uninterrupted run would have drawn.
#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace kiln::repro {

struct RngState {
  at::Tensor cpu;                // uint8 state of the default CPU generator
  std::vector<at::Tensor> cuda;  // one per visible CUDA device (empty without CUDA)
};

RngState capture_rng();
// Restores what capture_rng() saw. A state with fewer CUDA entries than devices leaves the
// other devices as they are.
void restore_rng(const RngState& s);

// The states as bytes and back (each a uint8 tensor: its length, then its bytes; CPU first),
// for sending another rank's states to the one that writes the checkpoint. decode() throws
// std::invalid_argument on bytes encode() did not write.
std::string encode(const RngState& s);
RngState decode(const std::string& bytes);

}  // namespace kiln::repro
