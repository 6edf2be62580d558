// make_nccl_backend (see nccl_backend.h).
#include "dist/nccl_backend.h"

#include "util/error.h"

#if defined(KILN_HAVE_NCCL_H)
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace kiln::dist {

#if defined(KILN_HAVE_NCCL_H)

bool nccl_built_in() { return true; }

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                    int device_index, std::chrono::milliseconds timeout) {
  c10::cuda::set_device(c10::DeviceIndex(device_index));
  auto opts = c10d::ProcessGroupNCCL::Options::create();
  opts->timeout = timeout;
  auto nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
  // As Python's init_process_group does: the backend's sequence numbers start agreed, and the
  // communicator is created now for this one device (not lazily at the first collective,
  // which would then also have to guess the device).
  nccl->setSequenceNumberForGroup();
  nccl->eagerConnectSingleDevice(at::Device(at::kCUDA, c10::DeviceIndex(device_index)));
  return nccl;
}

#else

bool nccl_built_in() { return false; }

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>&, int, int, int,
                                                    std::chrono::milliseconds) {
  throw Error::usage("this kiln was built without NCCL's header (nccl.h), so it cannot train on CUDA in a job",
                     "rebuild after tools/bootstrap.sh (the torch wheel's nvidia-nccl package has it), or train "
                     "the job on the CPU (train.device = \"cpu\", Gloo)");
}

#endif

}  // namespace kiln::dist
