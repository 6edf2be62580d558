// Atomic file writes and whole-file reads.
#include "util/fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/error.h"

namespace kiln::util {

void fsync_path(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void atomic_write_with(const fs::path& path, const std::function<void(OutFile& out)>& writer) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const fs::path tmp = dir / ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()));
  try {
    OutFile out(tmp, OutFile::Mode::kCreate, /*report_as=*/path);
    writer(out);
    out.sync();
    out.close();
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      throw Error::runtime("cannot rename " + tmp.string() + " to " + path.string() + ": " + std::strerror(errno));
    }
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);  // never a half file: not under the final name, and not beside it
    throw;
  }
  fsync_path(dir);
}

void atomic_write(const fs::path& path, std::string_view bytes) {
  atomic_write_with(path, [&](OutFile& out) { out.write(bytes); });
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error::usage("cannot read " + path.string() + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace kiln::util
