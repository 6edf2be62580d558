// Atomic file writes and whole-file reads.
#include "util/fs.h"

#include <fcntl.h>
#include <signal.h>
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

std::vector<fs::path> remove_stale_temps(const fs::path& dir) {
  std::vector<fs::path> removed;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    // The name atomic_write_with gives its temp file: "." + name + ".tmp." + pid.
    const std::string name = e.path().filename().string();
    const auto at = name.rfind(".tmp.");
    if (name.empty() || name[0] != '.' || at == std::string::npos || at + 5 >= name.size()) continue;
    const std::string pid = name.substr(at + 5);
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid.size() > 9) continue;
    // kill(pid, 0) fails with ESRCH when no such process exists: its writer is gone.
    if (::kill(static_cast<pid_t>(std::stol(pid)), 0) == 0 || errno != ESRCH) continue;
    std::error_code rm;
    if (fs::remove(e.path(), rm)) removed.push_back(e.path());
  }
  return removed;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error::usage("cannot read " + path.string() + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void read_prefix(const fs::path& path, size_t max_bytes, std::vector<uint8_t>& buf) {
  read_prefix(path.c_str(), max_bytes, buf);
}

void read_prefix(const char* path, size_t max_bytes, std::vector<uint8_t>& buf) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error::usage("cannot open " + std::string(path) + ": " + std::strerror(errno));
  buf.resize(max_bytes);
  size_t got = 0;
  while (got < buf.size()) {
    const ssize_t r = ::pread(fd, buf.data() + got, buf.size() - got, off_t(got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += size_t(r);
  }
  ::close(fd);
  buf.resize(got);
}

}  // namespace kiln::util
