// Capture and restore of LibTorch's default generators (each under its own mutex, as
// LibTorch's own get_state/set_state callers do).
#include "repro/rng_state.h"

#include <ATen/Context.h>
#include <torch/cuda.h>

#include <mutex>

namespace kiln::repro {
namespace {

at::Tensor get_state(at::Generator g) {  // a handle: copies share the generator
  std::lock_guard<std::mutex> lock(g.mutex());
  return g.get_state();
}

void set_state(at::Generator g, const at::Tensor& state) {
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_state(state);
}

int64_t cuda_devices() { return torch::cuda::is_available() ? int64_t(torch::cuda::device_count()) : 0; }

}  // namespace

RngState capture_rng() {
  RngState s;
  s.cpu = get_state(at::globalContext().defaultGenerator(c10::kCPU));
  for (int64_t i = 0; i < cuda_devices(); ++i) {
    s.cuda.push_back(get_state(at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, c10::DeviceIndex(i)))));
  }
  return s;
}

void restore_rng(const RngState& s) {
  if (s.cpu.defined()) set_state(at::globalContext().defaultGenerator(c10::kCPU), s.cpu);
  const int64_t n = std::min<int64_t>(cuda_devices(), int64_t(s.cuda.size()));
  for (int64_t i = 0; i < n; ++i) {
    set_state(at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, c10::DeviceIndex(i))), s.cuda[size_t(i)]);
  }
}

}  // namespace kiln::repro
