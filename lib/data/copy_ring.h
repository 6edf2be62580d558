// CopyRing: the host-to-device half of the loader. On CUDA, each ring slot's pinned host
// buffers are copied on a dedicated stream; a CUDA event per slot marks the end of the slot's
// last copy. The compute stream waits on that event (no device-wide sync), and a worker
// refilling the slot waits on it too, so a pinned buffer is never overwritten mid-copy.
// On the CPU there is nothing to copy and every call is a no-op.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <utility>

namespace kiln::data {

// Host-to-device copies of batches (input + target) that have finished: how many, their
// summed device time (CUDA events around each copy) and bytes. The loader's own H2D
// bandwidth is bytes / ms (kiln bench loader).
struct CopyTotals {
  int64_t copies = 0;
  double ms = 0, bytes = 0;
};

class CopyRing {
 public:
  CopyRing(c10::Device device, int64_t slots);
  ~CopyRing();
  CopyRing(const CopyRing&) = delete;
  CopyRing& operator=(const CopyRing&) = delete;

  // True when batches go to a CUDA device through pinned buffers.
  bool cuda() const;
  // Host tensor for a slot buffer: pinned on CUDA, plain memory on the CPU.
  at::Tensor host_empty(at::IntArrayRef sizes, at::ScalarType dtype) const;
  // Blocks the calling thread until `slot`'s previous copy has finished reading its buffers.
  void wait_reusable(int64_t slot);
  // Starts copying `input` and `target` (host, pinned) to the device on the copy stream and
  // makes the caller's current stream wait for the copy. Returns the device tensors.
  std::pair<at::Tensor, at::Tensor> copy(int64_t slot, const at::Tensor& input, const at::Tensor& target);
  // Device milliseconds of the newest copy known to have finished; -1 when none has (or CPU).
  double last_copy_ms();

  // Every finished copy's device time and bytes, each copy counted once. Zeros on the CPU.
  CopyTotals totals();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Bytes the CUDA pinned-host allocator holds (blocks in use and cached), for checking that
// the loader allocates nothing in steady state; -1 without CUDA.
int64_t pinned_pool_bytes();

}  // namespace kiln::data
