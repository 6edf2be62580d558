// OutFile: a file written through checked write(2) calls. A write that fails (disk full,
// quota, I/O error) becomes one kiln::Error::runtime (exit 1) that names the file, the
// error, the bytes it needed and the space that was free, where a std::ofstream would
// only go bad quietly and LibTorch's archive writer would abort the process.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace kiln::util {

class OutFile {
 public:
  enum class Mode {
    kCreate,  // create or truncate
    kAppend,  // O_APPEND: each write() goes to the end, even with other writers
  };
  // `report_as` is the name errors give (an atomic write's final name, not its temp file);
  // empty: `path` itself. Throws kiln::Error::runtime when the file cannot be opened.
  OutFile(const std::filesystem::path& path, Mode mode, std::filesystem::path report_as = {});
  ~OutFile();  // closes without checking: a caller that cares calls close()
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;

  // Writes all of `bytes` or throws. In kAppend mode a failed call first cuts the file back
  // to where it began, so a record (a metrics line, a journal entry) is whole or absent.
  void write(std::string_view bytes);

  // For a producer that must never see a failed write (LibTorch's PyTorchStreamWriter calls
  // std::terminate on a second one): never throws; after the first error it writes nothing
  // more and only counts, so check() can say how big the whole file would have been.
  void write_or_defer(const void* data, size_t n) noexcept;
  void check() const;  // throws the error write_or_defer kept, if any

  void sync();   // fsync(2), checked
  void close();  // close(2), checked (NFS reports some write errors only here)

  uint64_t written() const { return written_; }  // bytes this object has written

 private:
  [[noreturn]] void fail(const char* doing, int err, uint64_t needed) const;

  std::filesystem::path path_, report_as_;
  Mode mode_;
  int fd_ = -1;
  uint64_t written_ = 0;
  uint64_t wanted_ = 0;     // bytes write_or_defer was given, written or not
  int deferred_errno_ = 0;  // first failure of write_or_defer, 0 if none
};

// "N bytes", "12.3 KiB", "4.5 MiB", "1.2 GiB": sizes for messages.
std::string format_bytes(uint64_t n);

// Space an unprivileged writer can still use on the filesystem holding `path` (statvfs
// f_bavail); -1 when it cannot be read.
int64_t free_bytes(const std::filesystem::path& path);

}  // namespace kiln::util
