// PendingLog: append+fsync to add, atomic rewrite to remove (see the header for why).
#include "sweep/remote_pending.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "util/error.h"
#include "util/fs.h"
#include "util/out_file.h"

namespace kiln::sweep {

namespace fs = std::filesystem;

namespace {

// The directory entry must reach the disk too, or a crash can forget a created/renamed file.
void fsync_dir(const fs::path& file) {
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort
  ::fsync(fd);
  ::close(fd);
}

std::string random_hex() {
  std::random_device rd;
  std::ostringstream s;
  s << std::hex << rd() << rd();
  return s.str();
}

}  // namespace

PendingLog::PendingLog(fs::path path) : path_(std::move(path)), id_prefix_(random_hex()) {}

void PendingLog::append_line(const fs::path& file, const std::string& line) const {
  std::error_code ec;
  const bool existed = fs::exists(file, ec);
  util::OutFile out(file, util::OutFile::Mode::kAppend);
  out.write(line + "\n");  // a failed append (disk full) is cut back off: no torn line
  out.sync();
  out.close();
  if (!existed) fsync_dir(file);
}

nlohmann::json PendingLog::add(nlohmann::json record) {
  std::lock_guard<std::mutex> lock(mu_);
  record["id"] = id_prefix_ + "-" + std::to_string(next_id_++);
  if (!path_.empty()) append_line(path_, record.dump());
  return record;
}

std::vector<nlohmann::json> PendingLog::load_locked() const {
  std::vector<nlohmann::json> out;
  if (path_.empty()) return out;
  std::ifstream in(path_, std::ios::binary);
  if (!in) return out;  // nothing pending
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("id")) {
      if (in.peek() == std::char_traits<char>::eof()) break;  // torn last append
      throw Error::runtime("the pending file " + path_.string() +
                               " has a line that is not a "
                               "pending record: " +
                               line.substr(0, 200),
                           "move the file away (it holds results not yet sent to the Optuna "
                           "server) and rerun");
    }
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<nlohmann::json> PendingLog::load() const {
  std::lock_guard<std::mutex> lock(mu_);
  return load_locked();
}

void PendingLog::remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (path_.empty()) return;
  std::string kept;
  for (const auto& r : load_locked()) {
    if (r.value("id", std::string()) != id) kept += r.dump() + "\n";
  }
  if (kept.empty()) {
    std::error_code ec;
    fs::remove(path_, ec);
    fsync_dir(path_);
    return;
  }
  util::atomic_write(path_, kept);  // temp file, fsync, rename; the temp is removed on failure
}

void PendingLog::reject(const nlohmann::json& record, const std::string& why) {
  if (!path_.empty()) {
    nlohmann::json r = record;
    r["rejected_because"] = why;
    std::lock_guard<std::mutex> lock(mu_);
    append_line(path_.string() + ".rejected", r.dump());
  }
  remove(record.value("id", std::string()));
}

}  // namespace kiln::sweep
