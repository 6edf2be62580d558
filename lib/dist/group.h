// Group: this process's membership of a data-parallel job on PyTorch's c10d: the TCPStore
// rendezvous (rank 0 serves it at MASTER_ADDR:MASTER_PORT), a ProcessGroup with the Gloo
// backend on the CPU and NCCL on CUDA, and the few collectives training needs. Every failure (a peer that
// never arrives, one that dies, a timeout) is a kiln::Error naming the address and the rank.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dist/world.h"

#include <c10/util/intrusive_ptr.h>

#include "util/error.h"

namespace c10d {
class ProcessGroup;
}  // namespace c10d

namespace kiln::dist {

class Group {
 public:
  // Joins the job: waits up to `timeout` for every rank at the store, then builds the
  // backends: Gloo for CPU tensors, and on a CUDA `device` (cuda:LOCAL_RANK) NCCL for CUDA
  // tensors.
  Group(const World& world, c10::Device device, std::chrono::milliseconds timeout);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  const World& world() const { return world_; }
  int64_t rank() const { return world_.rank; }
  int64_t size() const { return world_.size; }

  // In place, from `root` to every rank (no autograd: parameters are leaves).
  void broadcast(std::vector<at::Tensor>& tensors, int64_t root = 0);
  // In place: the sum over ranks.
  void allreduce_sum(std::vector<at::Tensor>& tensors);
  // In place: the maximum over ranks.
  void allreduce_max(std::vector<at::Tensor>& tensors);
  void barrier();
  // In place, from `root` to every rank: bytes of any size (a checkpoint file), as one CPU
  // tensor through the group (Gloo), after its size.
  void broadcast_bytes(std::string& bytes, int64_t root = 0);
  // Every rank's `mine` (small: a host name, an RNG state), in rank order, through the store
  // under `key` (unique per call site and use).
  std::vector<std::string> allgather(const std::string& key, const std::string& mine);

  // The c10d process group (for c10d::Reducer).
  const c10::intrusive_ptr<c10d::ProcessGroup>& process_group() const;

 private:
  struct Impl;
  World world_;
  std::unique_ptr<Impl> impl_;
};

// Runs `f`, turning c10d's exceptions (DistStoreError, timeouts, a peer's reset connection)
// into a kiln::Error naming what was being done, this rank and the master address.
template <class F>
auto guarded(const World& w, const std::string& what, F&& f) -> decltype(f());

// What guarded() throws for a c10d error: Error::runtime with the context.
[[noreturn]] void rethrow_as_kiln(const World& w, const std::string& what, const std::exception& e);

template <class F>
auto guarded(const World& w, const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    rethrow_as_kiln(w, what, e);
  }
}

}  // namespace kiln::dist
