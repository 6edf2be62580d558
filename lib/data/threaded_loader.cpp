// The threaded loader. Worker threads claim batches in order, fill a ring slot each (host
// buffers, pinned on CUDA) and mark it ready; next() hands the slots out in order, starts the
// copy to the device and frees the slot. Which batch lands in which slot, and what it holds,
// depends only on (seed, epoch, batch index), never on the thread count or on timing.
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "data/copy_ring.h"
#include "data/loader.h"
#include "instrument/scope.h"
#include "util/aligned.h"
#include "util/error.h"

namespace kiln::data {
namespace {

// CPU slot memory, owned by kiln rather than by a torch tensor: the batches lent to the caller
// are from_blob views that share it through this shared_ptr, so all cross-thread ownership is
// plain std::shared_ptr (visible to ThreadSanitizer, unlike LibTorch's internal refcounts).
struct CpuBuffer {
  CpuBuffer(size_t input_bytes, size_t target_bytes) : input(input_bytes), target(target_bytes) {}
  // 64-byte aligned: the input is the first layer's GEMM input (util/aligned.h says why).
  std::vector<uint8_t, util::AlignedAllocator<uint8_t>> input, target;
  std::atomic<int> lent{0};  // views still held by the caller; the slot is refilled at 0
};

struct Slot {
  enum State { kFree, kFilling, kReady };
  State state = kFree;
  int64_t batch = -1;              // batch index of the epoch it holds (or is being filled with)
  int64_t count = 0;               // samples in it (the last batch may be short)
  at::Tensor input, target;        // full-batch host buffers (pinned on CUDA), reused across batches
  std::shared_ptr<CpuBuffer> cpu;  // CPU: the memory behind input/target
  std::exception_ptr error;
};

class ThreadedLoader : public Loader {
 public:
  ThreadedLoader(DatasetPtr ds, LoaderOptions opts)
      : ds_(std::move(ds)),
        opts_(std::move(opts)),
        spec_(ds_->spec()),
        lut_(normalize_lut(opts_.mean, opts_.std)),
        slots_(static_cast<size_t>(opts_.prefetch)),
        ring_(opts_.device, opts_.prefetch) {
    check_options(spec_, opts_);
    gpu_normalize_ = ring_.cuda() && opts_.gpu_normalize && spec_.is_image();
    input_dtype_ = host_input_dtype(spec_, gpu_normalize_);
    if (gpu_normalize_) {
      lut_device_ = at::from_blob(lut_.data(), {int64_t(lut_.size())}, at::kFloat).to(opts_.device);
      const int64_t C = spec_.image().channels;
      // Index offsets c * 256 per channel, so one index_select covers every channel's table.
      channel_offset_ = (at::arange(C, at::kInt) * 256).view({1, C, 1, 1}).to(opts_.device);
    }
    int64_t n = opts_.threads > 0 ? opts_.threads : std::max<int64_t>(1, std::thread::hardware_concurrency());
    for (int64_t i = 0; i < n; ++i) {
      workers_.emplace_back([this, i] {
        // Named for nsys and trace.json: "kiln loader 0", ...
        instrument::name_this_thread(("kiln loader " + std::to_string(i)).c_str());
        work();
      });
    }
  }

  ~ThreadedLoader() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  int64_t batches_per_epoch() const override { return data::batches_per_epoch(ds_->size(), opts_); }

  void start(int64_t epoch, int64_t first_batch) override {
    std::unique_lock<std::mutex> lock(mu_);
    // No new claims; batches being filled for the old epoch finish first (they read order_).
    ++generation_;
    next_claim_ = end_ = 0;
    idle_cv_.wait(lock, [this] { return filling_ == 0; });
    for (auto& s : slots_) {
      s.state = Slot::kFree;
      s.error = nullptr;
    }
    order_ = loader_order(*ds_, opts_.seed, epoch, opts_.shuffle);
    epoch_ = epoch;
    end_ = batches_per_epoch();
    next_claim_ = next_take_ = std::min(first_batch, end_);
    lock.unlock();
    work_cv_.notify_all();
  }

  CopyTotals copy_totals() override { return ring_.totals(); }

  std::optional<Batch> next() override {
    std::unique_lock<std::mutex> lock(mu_);
    if (next_take_ >= end_) return std::nullopt;
    const int64_t k = next_take_;
    const size_t si = static_cast<size_t>(k % opts_.prefetch);
    Slot& s = slots_[si];
    const auto t0 = std::chrono::steady_clock::now();
    ready_cv_.wait(lock, [&] { return s.state == Slot::kReady && s.batch == k; });
    const double wait_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (s.error) {
      // The epoch stops here; the worker's exception reaches the caller with its message.
      end_ = k;
      std::rethrow_exception(s.error);
    }
    at::Tensor input, target;
    if (ring_.cuda()) {
      input = s.input.narrow(0, 0, s.count);
      target = s.target.narrow(0, 0, s.count);
    } else {
      s.cpu->lent.store(2, std::memory_order_relaxed);
      input = lend(s.cpu->input.data(), s.input.sizes().vec(), input_dtype_, s.count, s.cpu);
      target = lend(s.cpu->target.data(), s.target.sizes().vec(), spec_.target.dtype, s.count, s.cpu);
    }
    Batch b;
    b.epoch = epoch_;
    b.index = k;
    b.wait_ms = wait_ms;
    // The slot stays kReady (no worker touches it) while the copy is issued without the lock.
    lock.unlock();
    std::tie(b.input, b.target) = ring_.copy(static_cast<int64_t>(si), input, target);
    b.input = in_layout(gpu_normalize_ ? normalize_on_device(b.input) : b.input, opts_);
    b.copy_ms = ring_.last_copy_ms();
    lock.lock();
    s.state = Slot::kFree;
    ++next_take_;
    lock.unlock();
    work_cv_.notify_all();
    return b;
  }

 private:
  // uint8 [B, C, H, W] on the device -> float32 through the same table as the host path.
  at::Tensor normalize_on_device(const at::Tensor& u8) const {
    auto index = (u8.to(at::kInt) + channel_offset_).flatten();
    return lut_device_.index_select(0, index).view(u8.sizes());
  }

  void work() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      work_cv_.wait(lock, [this] {
        return stop_ || (next_claim_ < end_ && slots_[size_t(next_claim_ % opts_.prefetch)].state == Slot::kFree);
      });
      if (stop_) return;
      const int64_t k = next_claim_++;
      const int64_t si = k % opts_.prefetch;
      Slot& s = slots_[size_t(si)];
      s.state = Slot::kFilling;
      s.batch = k;
      ++filling_;
      const uint64_t gen = generation_;
      lock.unlock();
      std::exception_ptr error;
      try {
        fill(s, si, k);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      --filling_;
      if (gen == generation_) {
        s.error = error;
        s.state = Slot::kReady;
        ready_cv_.notify_all();
      }
      idle_cv_.notify_all();
    }
  }

  // The first `rows` rows of `data` (shape `sizes`) as a tensor for the caller. Its deleter
  // counts buf->lent down with release, paired with the acquire in fill(): the caller's last
  // reads happen before a worker refills the memory. The deleter also keeps the memory alive
  // if the caller holds the batch longer than the loader lives.
  static at::Tensor lend(void* data, std::vector<int64_t> sizes, at::ScalarType dtype, int64_t rows,
                         const std::shared_ptr<CpuBuffer>& buf) {
    sizes[0] = rows;
    return at::from_blob(
        data, sizes, [buf](void*) { buf->lent.fetch_sub(1, std::memory_order_release); }, at::TensorOptions(dtype));
  }

  // Fills slot `s` (index si) with batch k, outside the lock: only this worker touches it now.
  void fill(Slot& s, int64_t si, int64_t k) {
    instrument::set_current_step(k);  // the range's payload is the batch index
    KILN_SCOPE(instrument::Phase::kLoadBatch);
    const BatchSpan span = batch_span(k, ds_->size(), opts_);
    const int64_t first = span.first;
    s.count = span.count;
    ring_.wait_reusable(si);
    // On the CPU the caller's batch is a view of the slot's buffers: reuse them once the caller
    // has dropped it (the usual case), else give the slot new ones and leave the old to it.
    const auto input_sizes = batch_shape(opts_.batch_size, spec_.input);
    const auto target_sizes = batch_shape(opts_.batch_size, spec_.target);
    if (ring_.cuda()) {
      if (!s.input.defined()) {
        s.input = ring_.host_empty(input_sizes, input_dtype_);
        s.target = ring_.host_empty(target_sizes, spec_.target.dtype);
      }
    } else if (!s.cpu || s.cpu->lent.load(std::memory_order_acquire) != 0) {
      const size_t rows = size_t(opts_.batch_size);
      s.cpu = std::make_shared<CpuBuffer>(rows * size_t(spec_.input.numel()) * c10::elementSize(input_dtype_),
                                          rows * spec_.target.bytes());
      s.input = at::from_blob(s.cpu->input.data(), input_sizes, input_dtype_);
      s.target = at::from_blob(s.cpu->target.data(), target_sizes, spec_.target.dtype);
    }
    fill_batch(*ds_, order_, first, s.count, epoch_, opts_, lut_, s.input, s.target);
  }

  DatasetPtr ds_;
  LoaderOptions opts_;
  SampleSpec spec_;
  at::ScalarType input_dtype_ = at::kFloat;  // of the host buffers (host_input_dtype)
  std::vector<float> lut_;
  at::Tensor lut_device_, channel_offset_;
  bool gpu_normalize_ = false;

  std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_, idle_cv_;
  std::vector<Slot> slots_;  // the ring: batch k lives in slot k % prefetch
  CopyRing ring_;
  std::vector<std::thread> workers_;
  // Epoch state, under mu_ (order_ and epoch_ change only while no slot is being filled).
  std::vector<int64_t> order_;
  int64_t epoch_ = 0, end_ = 0, next_claim_ = 0, next_take_ = 0, filling_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace

std::unique_ptr<Loader> make_loader(DatasetPtr ds, const LoaderOptions& opts) {
  return std::make_unique<ThreadedLoader>(std::move(ds), opts);
}

}  // namespace kiln::data
