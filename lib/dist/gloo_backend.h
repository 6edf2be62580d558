// The Gloo backend of a process group: the one translation unit that includes
// ProcessGroupGloo.hpp (which needs gloo's headers: Debian's libgloo-dev, used for their
// declarations only; the gloo code that runs is the copy inside libtorch_cpu).
#pragma once
#include <c10/util/intrusive_ptr.h>

#include <chrono>
#include <string>

namespace c10d {
class Backend;
class Store;
}  // namespace c10d

namespace kiln::dist {

// Where Gloo's TCP device binds: a network interface by name (GLOO_SOCKET_IFNAME, as in
// PyTorch), else a host name's address, else (both empty) the address of this machine's
// host name, as PyTorch's default device picks it.
struct GlooDevice {
  std::string interface, hostname;
};

// A Gloo backend over `store` for `rank` of `size`, with `timeout` for every collective (a
// peer that stops answering).
c10::intrusive_ptr<c10d::Backend> make_gloo_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                    const GlooDevice& device, std::chrono::milliseconds timeout);

}  // namespace kiln::dist
