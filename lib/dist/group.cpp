// Group (see group.h): TCPStore rendezvous, the Gloo backend, collectives with errors that
// say what failed.
#include "dist/group.h"

#include <torch/autograd.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>

#include <ATen/ops/cat.h>

#include "dist/gloo_backend.h"
#include "dist/nccl_backend.h"

namespace kiln::dist {
namespace {

std::string endpoint(const World& w) { return w.master_addr + ":" + std::to_string(w.master_port); }

bool loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }

GlooDevice gloo_device(const World& w) {
  GlooDevice d;
  if (const auto ifname = process_env()("GLOO_SOCKET_IFNAME"); ifname && !ifname->empty()) {
    d.interface = *ifname;
  } else if (loopback(w.master_addr)) {
    d.hostname = "127.0.0.1";  // one machine: peers reach each other on loopback
  }
  return d;
}

void wait_all(const c10::intrusive_ptr<c10d::Work>& work) { work->wait(); }

// A c10d collective takes a list of same-shaped tensors (one per local device), so several
// tensors travel as one flat buffer per dtype: one collective each, copied back after.
void flat_allreduce(c10d::ProcessGroup& pg, std::vector<at::Tensor>& tensors, const c10d::AllreduceOptions& o) {
  std::vector<bool> done(tensors.size(), false);
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (done[i]) continue;
    std::vector<size_t> same;
    std::vector<at::Tensor> flat;
    for (size_t j = i; j < tensors.size(); ++j) {
      if (!done[j] && tensors[j].scalar_type() == tensors[i].scalar_type() &&
          tensors[j].device() == tensors[i].device()) {
        same.push_back(j);
        flat.push_back(tensors[j].reshape({-1}));
        done[j] = true;
      }
    }
    std::vector<at::Tensor> buffer = {same.size() == 1 ? flat[0].clone() : at::cat(flat)};
    wait_all(pg.allreduce(buffer, o));
    int64_t at = 0;
    for (size_t j : same) {
      const int64_t n = tensors[j].numel();
      tensors[j].copy_(buffer[0].narrow(0, at, n).view(tensors[j].sizes()));
      at += n;
    }
  }
}

}  // namespace

struct Group::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
};

void rethrow_as_kiln(const World& w, const std::string& what, const std::exception& e) {
  std::string msg = e.what();
  // c10's messages carry a C++ backtrace after the first line: the first line says it.
  if (const size_t nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
  throw Error::runtime("distributed " + what + " failed on " + describe(w) + ": " + msg,
                       "every rank must run the same command; check that rank 0 can be reached at " + endpoint(w) +
                           " and that no rank died (its own error comes first in its log)");
}

Group::Group(const World& world, c10::Device device, std::chrono::milliseconds timeout)
    : world_(world), impl_(std::make_unique<Impl>()) {
  if (device.is_cuda() && !nccl_built_in()) make_nccl_backend({}, 0, 1, 0, timeout);  // throws, saying why
  guarded(world_, "rendezvous at " + endpoint(world_), [&] {
    c10d::TCPStoreOptions so;
    so.port = uint16_t(world_.master_port);
    // Under torchrun the agent already serves the store there; rank 0 serving it too would
    // fail to bind. The agent's store counts no workers, so nobody waits for them at connect:
    // the first collective (the parameter broadcast) is the meeting point.
    so.isServer = world_.rank == 0 && !world_.agent_store;
    so.numWorkers = world_.agent_store ? std::nullopt : std::optional<size_t>(size_t(world_.size));
    so.waitWorkers = !world_.agent_store;
    so.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(world_.master_addr, so);
    // A restarted job (torchrun --max-restarts) meets in the same agent store: its keys go
    // under its attempt so that no rank reads the last attempt's Gloo addresses.
    impl_->store = c10::make_intrusive<c10d::PrefixStore>("kiln/attempt_" + std::to_string(world_.attempt), tcp);
  });
  guarded(world_, "process group setup", [&] {
    const int rank = int(world_.rank), size = int(world_.size);
    // Gloo for CPU tensors always (the evaluation's sums, small exchanges); on a GPU, NCCL for
    // CUDA tensors (gradients, parameters, the step's loss), as Python's "cpu:gloo,cuda:nccl".
    // Each backend gets its own key space in the store.
    auto gloo = make_gloo_backend(c10::make_intrusive<c10d::PrefixStore>("gloo", impl_->store), rank, size,
                                  gloo_device(world_), timeout);
    impl_->pg = c10::make_intrusive<c10d::ProcessGroup>(impl_->store, rank, size);
    impl_->pg->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, gloo);
    if (device.is_cuda()) {
      auto nccl = make_nccl_backend(c10::make_intrusive<c10d::PrefixStore>("nccl", impl_->store), rank, size,
                                    int(device.index()), timeout);
      impl_->pg->setBackend(c10::DeviceType::CUDA, c10d::ProcessGroup::BackendType::NCCL, nccl);
      impl_->pg->setDefaultBackend(c10d::ProcessGroup::BackendType::NCCL);
    } else {
      impl_->pg->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
    }
  });
}

Group::~Group() = default;

const c10::intrusive_ptr<c10d::ProcessGroup>& Group::process_group() const { return impl_->pg; }

void Group::broadcast(std::vector<at::Tensor>& tensors, int64_t root) {
  if (tensors.empty()) return;
  guarded(world_, "broadcast", [&] {
    torch::NoGradGuard no_grad;  // in place into leaves that require grad
    // Coalesced into buffers of up to 256 MiB: one collective per buffer, not per tensor.
    c10d::broadcast_coalesced(impl_->pg, tensors, size_t(256) << 20, int(root));
  });
}

void Group::allreduce_sum(std::vector<at::Tensor>& tensors) {
  guarded(world_, "all-reduce", [&] { flat_allreduce(*impl_->pg, tensors, c10d::AllreduceOptions{}); });
}

void Group::allreduce_max(std::vector<at::Tensor>& tensors) {
  guarded(world_, "all-reduce", [&] {
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::MAX;
    flat_allreduce(*impl_->pg, tensors, o);
  });
}

void Group::broadcast_bytes(std::string& bytes, int64_t root) {
  guarded(world_, "broadcast", [&] {
    c10d::BroadcastOptions o;
    o.rootRank = root;
    std::vector<at::Tensor> size = {at::full({1}, int64_t(bytes.size()), at::kLong)};
    wait_all(impl_->pg->broadcast(size, o));
    const int64_t n = size[0].item<int64_t>();
    if (world_.rank != root) bytes.assign(size_t(n), '\0');
    if (n == 0) return;
    std::vector<at::Tensor> data = {at::from_blob(bytes.data(), {n}, at::kByte)};
    wait_all(impl_->pg->broadcast(data, o));
  });
}

void Group::barrier() {
  guarded(world_, "barrier", [&] { wait_all(impl_->pg->barrier()); });
}

std::vector<std::string> Group::allgather(const std::string& key, const std::string& mine) {
  return guarded(world_, "exchange of " + key, [&] {
    impl_->store->set(key + "/" + std::to_string(world_.rank), mine);
    std::vector<std::string> all;
    for (int64_t r = 0; r < world_.size; ++r) all.push_back(impl_->store->get_to_str(key + "/" + std::to_string(r)));
    return all;
  });
}

}  // namespace kiln::dist
