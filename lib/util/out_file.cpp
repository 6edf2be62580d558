// OutFile: checked write(2)/fsync(2)/close(2), and the one message every writer gives when
// the disk is full.
#include "util/out_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/error.h"

namespace kiln::util {

namespace fs = std::filesystem;

namespace {

fs::path dir_of(const fs::path& p) { return p.has_parent_path() ? p.parent_path() : fs::path("."); }

// What the user can do about it: most write errors are one of these three.
std::string hint_for(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return "free some space there (or write elsewhere) and run again; a training run stopped "
             "this way continues from its newest complete checkpoint with: kiln train --resume "
             "auto --run-dir DIR";
    case EIO:
      return "the storage reported an I/O error: check the device (dmesg) before trusting the files on it";
    default:
      return "check that the directory exists and is writable";
  }
}

}  // namespace

std::string format_bytes(uint64_t n) {
  if (n < 10 * 1024) return std::to_string(n) + (n == 1 ? " byte" : " bytes");
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = double(n) / 1024;
  int u = 0;
  while (v >= 1024 && u < 3) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

int64_t free_bytes(const fs::path& path) {
  struct statvfs s {};
  if (::statvfs(path.c_str(), &s) != 0) return -1;
  return int64_t(s.f_bavail) * int64_t(s.f_frsize);
}

OutFile::OutFile(const fs::path& path, Mode mode, fs::path report_as)
    : path_(path), report_as_(report_as.empty() ? path : std::move(report_as)), mode_(mode) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (mode == Mode::kAppend ? O_APPEND : O_TRUNC);
  fd_ = ::open(path.c_str(), flags, 0644);
  if (fd_ < 0) {
    const int err = errno;  // ENOSPC here means no inodes are left
    throw Error::runtime("cannot open " + report_as_.string() + " for writing: " + std::strerror(err), hint_for(err));
  }
}

OutFile::~OutFile() {
  if (fd_ >= 0) ::close(fd_);
}

void OutFile::write(std::string_view bytes) {
  // Where this record starts, for cutting a half-written one off again. Appenders that share
  // a file (the study journal) hold its lock around the append, so no one else's record can
  // lie behind this point.
  struct stat st {};
  const off_t start = mode_ == Mode::kAppend && ::fstat(fd_, &st) == 0 ? st.st_size : -1;
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;  // a regular file takes 0 bytes only when full
      if (start >= 0 && ::ftruncate(fd_, start) == 0) written_ -= done;
      fail(mode_ == Mode::kAppend ? "append to" : "write", err,
           mode_ == Mode::kAppend ? bytes.size() : written_ + (bytes.size() - done));
    }
    done += size_t(n);
    written_ += uint64_t(n);
  }
}

void OutFile::write_or_defer(const void* data, size_t n) noexcept {
  wanted_ += n;
  if (deferred_errno_ != 0) return;
  const char* p = static_cast<const char*>(data);
  for (size_t done = 0; done < n;) {
    const ssize_t w = ::write(fd_, p + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      deferred_errno_ = w < 0 ? errno : ENOSPC;
      return;
    }
    done += size_t(w);
    written_ += uint64_t(w);
  }
}

void OutFile::check() const {
  if (deferred_errno_ != 0) fail("write", deferred_errno_, wanted_);
}

void OutFile::sync() {
  if (::fsync(fd_) != 0) fail("fsync", errno, written_);
}

void OutFile::close() {
  if (fd_ < 0) return;
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0 && errno != EINTR) fail("close", errno, written_);
}

void OutFile::fail(const char* doing, int err, uint64_t needed) const {
  std::string detail;
  const int64_t avail = free_bytes(dir_of(path_));
  if (avail >= 0) {
    // What was free for this file: a created file's bytes so far are freed again when its
    // writer removes it; an append was cut back before we got here.
    const uint64_t free_for_it = uint64_t(avail) + (mode_ == Mode::kCreate ? written_ : 0);
    detail = " (" + std::string(mode_ == Mode::kCreate ? "the file needs " : "the record needs ") +
             format_bytes(needed) + "; " + format_bytes(free_for_it) + " free in " + dir_of(report_as_).string() + ")";
  }
  throw Error::runtime("cannot " + std::string(doing) + " " + report_as_.string() + ": " + std::strerror(err) + detail,
                       hint_for(err));
}

}  // namespace kiln::util
