// Capture and restore of LibTorch's default generators (each under its own mutex, as
// LibTorch's own get_state/set_state callers do).
#include "repro/rng_state.h"

#include <ATen/Context.h>
#include <torch/cuda.h>

#include <cstring>
#include <mutex>
#include <stdexcept>

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

namespace {

void put(std::string& out, const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU).contiguous();
  const uint64_t n = uint64_t(c.numel());
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), size_t(n));
}

at::Tensor take(const std::string& in, size_t& at) {
  uint64_t n = 0;
  if (in.size() - at < sizeof n) throw std::invalid_argument("RNG state bytes cut short");
  std::memcpy(&n, in.data() + at, sizeof n);
  at += sizeof n;
  if (in.size() - at < n) throw std::invalid_argument("RNG state bytes cut short");
  at::Tensor t = at::empty({int64_t(n)}, at::kByte);
  std::memcpy(t.data_ptr<uint8_t>(), in.data() + at, size_t(n));
  at += size_t(n);
  return t;
}

}  // namespace

std::string encode(const RngState& s) {
  std::string out;
  put(out, s.cpu);
  for (const auto& t : s.cuda) put(out, t);
  return out;
}

RngState decode(const std::string& bytes) {
  RngState s;
  size_t at = 0;
  s.cpu = take(bytes, at);
  while (at < bytes.size()) s.cuda.push_back(take(bytes, at));
  return s;
}

}  // namespace kiln::repro
