#include "train/precision.h"

#include <ATen/autocast_mode.h>

#include <fstream>

#include "util/error.h"
#include "util/log.h"

namespace kiln::train {
namespace {

// The "flags" line of /proc/cpuinfo as words with spaces around ("" where there is none).
std::string cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0 && line.find(':') != std::string::npos)
      return line.substr(line.find(':') + 1) + " ";
  }
  return "";
}

bool has_flag(const std::string& flags, const std::string& f) { return flags.find(" " + f + " ") != std::string::npos; }

}  // namespace

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  if (name == "fp16") return Precision::kFp16;
  throw Error::usage("unknown train.precision \"" + name + "\"", "use fp32, bf16 or fp16");
}

std::string precision_name(Precision p) {
  switch (p) {
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp16:
      return "fp16";
    case Precision::kFp32:
      break;
  }
  return "fp32";
}

c10::ScalarType low_dtype(Precision p) {
  switch (p) {
    case Precision::kBf16:
      return at::kBFloat16;
    case Precision::kFp16:
      return at::kHalf;
    case Precision::kFp32:
      break;
  }
  return at::kFloat;
}

void check_precision(Precision p, const std::string& device) {
  if (p == Precision::kFp32) return;
  const c10::DeviceType type = device.rfind("cuda", 0) == 0 ? c10::DeviceType::CUDA : c10::DeviceType::CPU;
  if (!at::autocast::is_autocast_available(type)) {
    throw Error::usage(
        "train.precision = \"" + precision_name(p) + "\" needs autocast, which LibTorch has not for " + device,
        "use train.precision = \"fp32\"");
  }
  if (type != c10::DeviceType::CPU) return;
  const std::string flags = cpu_flags();
  if (flags.empty()) return;  // not Linux/x86: nothing to say
  const bool native = p == Precision::kBf16 ? has_flag(flags, "avx512_bf16") || has_flag(flags, "amx_bf16")
                                            : has_flag(flags, "avx512_fp16") || has_flag(flags, "amx_fp16");
  if (!native) {
    log::warn("train.precision = \"" + precision_name(p) + "\" on a CPU without " +
              (p == Precision::kBf16 ? "AVX512-BF16 or AMX-BF16" : "AVX512-FP16 or AMX-FP16") +
              ": LibTorch emulates it, expect it slower than fp32");
  }
}

Autocast::Autocast(Precision p, c10::DeviceType device) : on_(p != Precision::kFp32), device_(device) {
  if (!on_) return;
  was_enabled_ = at::autocast::is_autocast_enabled(device_);
  was_dtype_ = at::autocast::get_autocast_dtype(device_);
  at::autocast::set_autocast_dtype(device_, low_dtype(p));
  at::autocast::set_autocast_enabled(device_, true);
  at::autocast::increment_nesting();
}

Autocast::~Autocast() {
  if (!on_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_, was_enabled_);
  at::autocast::set_autocast_dtype(device_, was_dtype_);
}

}  // namespace kiln::train
