// CopyRing on CUDA (pinned buffers, a copy stream from the pool, events per slot), and its
// no-op CPU form when kiln is built without the CUDA headers or runs on the CPU.
#include "data/copy_ring.h"

#include <ATen/ops/empty.h>

#include <vector>

#include "instrument/scope.h"

#ifdef KILN_HAVE_CUDA
#include <ATen/core/CachingHostAllocator.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace kiln::data {

#ifdef KILN_HAVE_CUDA
struct CopyRing::Impl {
  Impl(c10::Device d, int64_t slots)
      : device(d),
        // A high-priority stream, so that copies are not queued behind the step's kernels.
        stream(c10::cuda::getStreamFromPool(/*isHighPriority=*/true, d.index())),
        start(static_cast<size_t>(slots)),
        done(static_cast<size_t>(slots)),
        pending_bytes(static_cast<size_t>(slots), -1.0) {
    for (size_t i = 0; i < start.size(); ++i) {
      start[i] = at::cuda::CUDAEvent(cudaEventDefault);  // timing on: copy_ms comes from these
      done[i] = at::cuda::CUDAEvent(cudaEventDefault);
    }
  }
  c10::Device device;
  c10::cuda::CUDAStream stream;
  std::vector<at::cuda::CUDAEvent> start, done;
  std::vector<double> pending_bytes;  // per slot: bytes of a copy not yet counted, -1 if none
  int64_t newest = -1;                // slot of the newest copy issued
  double last_ms = -1.0;
  CopyTotals totals;

  // Counts slot `i`'s copy once it has finished (no waiting).
  void harvest(size_t i) {
    if (pending_bytes[i] < 0 || !done[i].query()) return;
    last_ms = start[i].elapsed_time(done[i]);
    totals.ms += last_ms;
    totals.bytes += pending_bytes[i];
    ++totals.copies;
    pending_bytes[i] = -1.0;
  }
};
#else
struct CopyRing::Impl {};
#endif

CopyRing::CopyRing(c10::Device device, int64_t slots) {
#ifdef KILN_HAVE_CUDA
  if (device.is_cuda()) impl_ = std::make_unique<Impl>(device, slots);
#else
  (void)device;
  (void)slots;
#endif
}

CopyRing::~CopyRing() = default;

bool CopyRing::cuda() const { return impl_ != nullptr; }

at::Tensor CopyRing::host_empty(at::IntArrayRef sizes, at::ScalarType dtype) const {
  return at::empty(sizes, at::TensorOptions().dtype(dtype).pinned_memory(cuda()));
}

void CopyRing::wait_reusable(int64_t slot) {
#ifdef KILN_HAVE_CUDA
  // query() first: a finished event costs no driver wait. An event never recorded is complete.
  if (impl_ && !impl_->done[size_t(slot)].query()) impl_->done[size_t(slot)].synchronize();
#else
  (void)slot;
#endif
}

std::pair<at::Tensor, at::Tensor> CopyRing::copy(int64_t slot, const at::Tensor& input, const at::Tensor& target) {
#ifdef KILN_HAVE_CUDA
  if (impl_) {
    KILN_SCOPE(instrument::Phase::kCopy);
    auto& m = *impl_;
    auto compute = c10::cuda::getCurrentCUDAStream(m.device.index());
    at::Tensor dev_input, dev_target;
    {
      c10::cuda::CUDAStreamGuard guard(m.stream);
      // Allocated on the copy stream, so that whatever the allocator queues on the new
      // memory (deterministic mode fills it with NaN / INT_MAX) and the memory's previous
      // users' work on this stream come before the copy. Allocated on the compute stream
      // instead, that fill would race the copy (it runs on the compute stream, behind the
      // step's kernels) and a block freed by the compute stream could be overwritten while
      // the step still reads it.
      dev_input = at::empty(input.sizes(), input.options().device(m.device).pinned_memory(false));
      dev_target = at::empty(target.sizes(), target.options().device(m.device).pinned_memory(false));
      m.harvest(size_t(slot));  // its previous copy has finished: wait_reusable saw to that
      m.start[size_t(slot)].record(m.stream);
      dev_input.copy_(input, /*non_blocking=*/true);
      dev_target.copy_(target, /*non_blocking=*/true);
      m.done[size_t(slot)].record(m.stream);
      m.pending_bytes[size_t(slot)] = double(input.nbytes() + target.nbytes());
    }
    // The step reads them on the compute stream: the allocator must not hand the memory
    // out again before that stream is done with it.
    dev_input.record_stream(compute);
    dev_target.record_stream(compute);
    m.done[size_t(slot)].block(compute);
    m.newest = slot;
    return {dev_input, dev_target};
  }
#else
  (void)slot;
#endif
  return {input, target};
}

double CopyRing::last_copy_ms() {
#ifdef KILN_HAVE_CUDA
  if (impl_ && impl_->newest >= 0) impl_->harvest(size_t(impl_->newest));
  return impl_ ? impl_->last_ms : -1.0;
#else
  return -1.0;
#endif
}

CopyTotals CopyRing::totals() {
#ifdef KILN_HAVE_CUDA
  if (!impl_) return {};
  for (size_t i = 0; i < impl_->done.size(); ++i) impl_->harvest(i);
  return impl_->totals;
#else
  return {};
#endif
}

int64_t pinned_pool_bytes() {
#ifdef KILN_HAVE_CUDA
  if (at::globalContext().hasCUDA() && at::cuda::is_available()) {
    return at::getHostAllocator(at::kCUDA)->get_stats().allocated_bytes.current;
  }
#endif
  return -1;
}

}  // namespace kiln::data
