// CUDA events, peak memory and profiler-range calls; stubs when kiln is built without CUDA.
#include "instrument/device_timer.h"

#include <vector>

#ifdef KILN_HAVE_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#if __has_include(<cuda_profiler_api.h>)
#include <cuda_profiler_api.h>
#define KILN_HAVE_CUDA_PROFILER_API 1
#endif
#include <cuda_runtime_api.h>
#endif

#include "util/error.h"

namespace kiln::instrument {

int cuda_index(const std::string& device) {
  if (device.rfind("cuda", 0) != 0) return -1;
  const auto colon = device.find(':');
  return colon == std::string::npos ? 0 : std::stoi(device.substr(colon + 1));
}

#ifdef KILN_HAVE_CUDA
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error::runtime(std::string(what) + ": " + cudaGetErrorString(e));
}

class CudaTimer : public DeviceTimer {
 public:
  explicit CudaTimer(int index) : index_(index) {}
  ~CudaTimer() override {
    for (auto e : events_) cudaEventDestroy(e);
  }
  int record() override {
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(index_));  // the event must live on the stream's device
    if (used_ == events_.size()) {
      cudaEvent_t e;
      check(cudaEventCreate(&e), "cudaEventCreate");
      events_.push_back(e);
    }
    check(cudaEventRecord(events_[used_], c10::cuda::getCurrentCUDAStream(index_).stream()), "cudaEventRecord");
    return static_cast<int>(used_++);
  }
  void synchronize() override {
    if (used_ > 0) check(cudaEventSynchronize(events_[used_ - 1]), "cudaEventSynchronize");
  }
  double elapsed_ms(int from, int to) override {
    float ms = 0;
    check(cudaEventElapsedTime(&ms, events_[size_t(from)], events_[size_t(to)]), "cudaEventElapsedTime");
    return ms;
  }

 private:
  int index_;
  std::vector<cudaEvent_t> events_;
  size_t used_ = 0;
};

}  // namespace

std::unique_ptr<DeviceTimer> make_cuda_timer(int index) {
  if (index < 0) return nullptr;
  return std::make_unique<CudaTimer>(index);
}
int64_t cuda_peak_bytes(int index) {
  if (index < 0) return -1;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
  return stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak;
}
void cuda_reset_peak(int index) {
  if (index >= 0) c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(index));
}
void cuda_synchronize(int index) {
  if (index < 0) return;
  c10::cuda::CUDAGuard g(static_cast<c10::DeviceIndex>(index));
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}
std::string cuda_pci_bus_id(int index) {
  char bus[32] = {0};
  if (index < 0 || cudaDeviceGetPCIBusId(bus, sizeof bus, index) != cudaSuccess) return "";
  return bus;
}
#ifdef KILN_HAVE_CUDA_PROFILER_API
void cuda_profiler_start() { cudaProfilerStart(); }
void cuda_profiler_stop() { cudaProfilerStop(); }
#else
// Built against the wheel's CUDA headers only (no toolkit): no profiler API header.
void cuda_profiler_start() {}
void cuda_profiler_stop() {}
#endif
#else
std::unique_ptr<DeviceTimer> make_cuda_timer(int) { return nullptr; }
int64_t cuda_peak_bytes(int) { return -1; }
void cuda_reset_peak(int) {}
void cuda_synchronize(int) {}
std::string cuda_pci_bus_id(int) { return ""; }
void cuda_profiler_start() {}
void cuda_profiler_stop() {}
#endif

}  // namespace kiln::instrument
