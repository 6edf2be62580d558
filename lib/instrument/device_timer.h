// DeviceTimer: CUDA events recorded on the current stream, read once after a profiling
// window (one synchronisation for the whole window, none per step).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace kiln::instrument {

class DeviceTimer {
 public:
  virtual ~DeviceTimer() = default;
  // Records an event on the calling thread's current CUDA stream; returns its handle.
  virtual int record() = 0;
  // Waits for every recorded event.
  virtual void synchronize() = 0;
  // Milliseconds between two recorded events (after synchronize()).
  virtual double elapsed_ms(int from, int to) = 0;
};

// The CUDA device index of a resolved device string: N for "cuda:N" (0 for "cuda"), -1 for
// "cpu". The profiling pieces take this index (-1: the CPU).
int cuda_index(const std::string& device);

// A timer for CUDA device `index`, or null when kiln has no CUDA or the device is the CPU.
std::unique_ptr<DeviceTimer> make_cuda_timer(int index);

// Peak bytes the CUDA caching allocator held on `index` since the last reset; -1 without CUDA.
int64_t cuda_peak_bytes(int index);
void cuda_reset_peak(int index);
void cuda_synchronize(int index);
// "0000:3B:00.0": the PCI bus id of CUDA device `index` ("" without CUDA), to find it in NVML.
std::string cuda_pci_bus_id(int index);
// cudaProfilerStart/Stop: with nsys --capture-range=cudaProfilerApi only the window is captured.
void cuda_profiler_start();
void cuda_profiler_stop();

}  // namespace kiln::instrument
