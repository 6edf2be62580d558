// train.precision: fp32, or mixed bf16/fp16 through LibTorch's autocast. Weights, gradients and
// optimizer state stay fp32 ("master weights"); inside the autocast region the ops on
// LibTorch's lower-precision list (convolutions, matmuls, linear, attention) run in the low
// dtype and those on its fp32 list (losses, norms) in fp32. No hand-made cast list.
#pragma once
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace kiln::train {

enum class Precision { kFp32, kBf16, kFp16 };

// "fp32" | "bf16" | "fp16" (the config has checked the value); Error::usage otherwise.
Precision parse_precision(const std::string& name);
std::string precision_name(Precision p);
// The autocast dtype: bf16 -> at::kBFloat16, fp16 -> at::kHalf, fp32 -> at::kFloat.
c10::ScalarType low_dtype(Precision p);

// Error::usage (exit 2) when `device` ("cpu", "cuda:0") cannot run `p` through autocast; a
// warning when it runs but without native support (a CPU with neither AVX512-BF16 nor AMX
// emulates bf16 and is slower than in fp32).
void check_precision(Precision p, const std::string& device);

// Autocast on `device` for its lifetime (nothing for fp32). Restores the previous state and,
// leaving the outermost region, frees LibTorch's cache of low-precision weight copies (kept
// only within one forward: the weights change every step).
class Autocast {
 public:
  Autocast(Precision p, c10::DeviceType device);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool on_ = false;
  c10::DeviceType device_ = c10::DeviceType::CPU;
  bool was_enabled_ = false;
  c10::ScalarType was_dtype_ = c10::ScalarType::Float;
};

}  // namespace kiln::train
