// TmpfsMount: mount(2) / umount2(2) of a sized tmpfs for the disk-full tests.
#include "tmpfs_mount.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kiln_test {

TmpfsMount::TmpfsMount(uint64_t size_bytes) : dir_("tmpfs") {
  const std::string opts = "size=" + std::to_string(size_bytes) + ",mode=0755";
  if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0) {
    mounted_ = true;
  } else {
    why_not_ = "cannot mount a tmpfs on " + dir_.path().string() + ": " + std::strerror(errno) +
               " (the disk-full tests need root / CAP_SYS_ADMIN)";
  }
}

TmpfsMount::~TmpfsMount() {
  // MNT_DETACH: a child still holding a file open cannot keep the mount (or the test) stuck.
  if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
}

bool TmpfsMount::resize(uint64_t size_bytes) {
  const std::string opts = "size=" + std::to_string(size_bytes);
  return mounted_ &&
         ::mount("tmpfs", dir_.path().c_str(), "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV, opts.c_str()) == 0;
}

uint64_t tmpfs_pages(uint64_t n) {
  const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}

}  // namespace kiln_test
