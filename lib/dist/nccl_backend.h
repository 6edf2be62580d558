// The NCCL backend of a process group, for ranks on CUDA devices: the one translation unit
// that includes ProcessGroupNCCL.hpp (it needs nccl.h, from the wheel's nvidia-nccl package,
// and USE_C10D_NCCL, set for that file alone; the NCCL that runs is the one libtorch_cuda
// loads). A build without nccl.h still links: make_nccl_backend then refuses with a reason.
#pragma once
#include <c10/util/intrusive_ptr.h>

#include <chrono>

namespace c10d {
class Backend;
class Store;
}  // namespace c10d

namespace kiln::dist {

// Whether this kiln was built with NCCL's header (so make_nccl_backend works on a GPU).
bool nccl_built_in();

// An NCCL backend over `store` for `rank` of `size`, bound to CUDA device `device_index`
// (made the current device first: NCCL's communicator is per device), with `timeout` for the
// watchdog that aborts a collective a peer never joins. Throws Error::usage when this build
// has no NCCL.
c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                    int device_index, std::chrono::milliseconds timeout);

}  // namespace kiln::dist
