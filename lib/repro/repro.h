// Seeding, deterministic mode, weights hashing and the run manifest.
#pragma once
#include <torch/nn/module.h>

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace kiln::repro {

// Seeds LibTorch's generators (CPU and every CUDA device) from a named stream of `seed`,
// e.g. "model_init" before building the model, "torch" before training (dropout).
void seed_torch(uint64_t seed, const std::string& stream);

// Turns LibTorch's deterministic algorithms on or off (with cuDNN determinism and no
// cuDNN benchmarking when on). CUBLAS_WORKSPACE_CONFIG is set by cli/main.cpp before any
// CUDA work. `fill_uninitialized` (repro.fill_uninitialized): with `on`, new tensors are
// filled with NaN, LibTorch's default under deterministic algorithms; kiln's default is off.
void set_deterministic(bool on, bool fill_uninitialized = false);

// train.tf32: fp32 matmuls (cuBLAS) and convolutions (cuDNN) in TF32 on Ampere and later
// GPUs, or in full fp32. Deterministic either way on one kind of GPU; TF32 results differ
// from full fp32 ones (10-bit mantissa products), so repro.deterministic turns it off unless
// the config says on. No effect on the CPU.
void set_cuda_tf32(bool on);

// SHA-256 over every parameter and buffer in name order: name, dtype, shape, then the
// values' bytes (contiguous, on the CPU).
std::string weights_sha256(const torch::nn::Module& m);

// Environment facts for the manifest: kiln version and git revision, LibTorch and CUDA
// versions, device name, hostname.
nlohmann::json environment(const std::string& device);

}  // namespace kiln::repro
