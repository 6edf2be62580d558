#include "metrics/event_file.h"

#include <unistd.h>

#include <chrono>
#include <cmath>

#include "metrics/tb_event.h"
#include "util/crc32c.h"

namespace kiln::metrics {
namespace fs = std::filesystem;
namespace {

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(char(uint8_t(v >> (8 * i))));
}

// events.out.tfevents.<seconds>...: the seconds field makes the name order the time order;
// it is bumped past the newest file already in `dir` so a quick resume still sorts last.
fs::path new_name(const fs::path& dir) {
  const std::string prefix = "events.out.tfevents.";
  long long secs = (long long)std::floor(unix_seconds());
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) != 0) continue;
    try {
      secs = std::max(secs, std::stoll(n.substr(prefix.size())) + 1);
    } catch (const std::exception&) {  // not one of ours: its name says nothing of order
    }
  }
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  return dir / (prefix + std::to_string(secs) + "." + host + "." + std::to_string(getpid()));
}

}  // namespace

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string tfrecord(std::string_view data) {
  std::string len;
  put_le(len, data.size(), 8);
  std::string out = len;
  put_le(out, util::masked_crc32c(len), 4);
  out.append(data);
  put_le(out, util::masked_crc32c(data), 4);
  return out;
}

EventFile::EventFile(const fs::path& dir)
    : path_((fs::create_directories(dir), new_name(dir))), out_(path_, util::OutFile::Mode::kAppend) {
  write({tb::file_version(unix_seconds())});
}

void EventFile::write(const std::vector<std::string>& events) {
  std::string bytes;
  for (const auto& e : events) bytes += tfrecord(e);
  out_.write(bytes);
}

}  // namespace kiln::metrics
