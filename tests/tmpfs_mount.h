// TmpfsMount: a small tmpfs mounted on a fresh directory for as long as the object lives,
// so a test can give kiln a disk that fills up at a chosen point. Mounting needs
// CAP_SYS_ADMIN (the suite runs as root); where it is refused, ok() is false and
// why_not() says why, for GTEST_SKIP. The destructor unmounts in every path.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "cli_helpers.h"

namespace kiln_test {

class TmpfsMount {
 public:
  explicit TmpfsMount(uint64_t size_bytes);
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  bool ok() const { return mounted_; }
  const std::string& why_not() const { return why_not_; }
  const fs::path& path() const { return dir_.path(); }
  fs::path operator/(const std::string& rel) const { return dir_.path() / rel; }

  // Grows or shrinks the filesystem in place (remount with a new size); false on failure.
  bool resize(uint64_t size_bytes);

 private:
  TempDir dir_;  // declared first: removed after the unmount
  bool mounted_ = false;
  std::string why_not_;
};

// Bytes a file of `n` bytes takes on a tmpfs (whole pages).
uint64_t tmpfs_pages(uint64_t n);

}  // namespace kiln_test
