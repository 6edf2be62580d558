// Reading and appending the study file's bytes: incremental replay of the whole lines other
// writers appended (Optuna's reader rules), and one-write appends with fsync.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "optuna/journal.h"
#include "optuna/python_json.h"
#include "util/error.h"
#include "util/out_file.h"

namespace kiln::optuna {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

std::string errno_text() { return std::strerror(errno); }

}  // namespace

void Journal::sync() const {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) {
      throw Error::runtime("cannot read study file " + path_.string() + ": " + errno_text());
    }
    replay_ = JournalReplay();  // no file (yet, or any more): no studies
    offset_ = 0, lines_ = 0, inode_ = 0;
    return;
  }
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error::runtime("cannot stat study file " + path_.string() + ": " + errno_text());
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (static_cast<std::uint64_t>(st.st_ino) != inode_ || size < offset_) {
    // Replaced or truncated under us: what we replayed no longer describes it.
    replay_ = JournalReplay();
    offset_ = 0, lines_ = 0, inode_ = static_cast<std::uint64_t>(st.st_ino);
  }
  // Like Optuna's reader, stop at the size seen now: later appends are read next time.
  std::string buf(static_cast<size_t>(size - offset_), '\0');
  size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(offset_ + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error::runtime("cannot read study file " + path_.string() + ": " + errno_text());
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  const std::uint64_t base = offset_;
  for (size_t pos = 0; pos < buf.size();) {
    const size_t nl = buf.find('\n', pos);
    if (nl == std::string::npos) break;  // a final line without "\n" is not yet written
    const int line_no = lines_ + 1;
    const std::string where = "study file " + path_.string() + " line " + std::to_string(line_no);
    const std::string hint = "Optuna cannot read this file either: fix or remove line " + std::to_string(line_no) +
                             " (keep a copy), or start a new study file";
    json rec;
    try {
      rec = python_json_loads(std::string_view(buf).substr(pos, nl - pos));
    } catch (const json::parse_error& e) {
      // As in Optuna, a bad line is only an error once something follows it: until then it
      // may be a record still being written.
      if (nl + 1 < buf.size()) throw Error::usage(where + " is not a JSON record (" + e.what() + ")", hint);
      break;
    }
    try {
      replay_.apply(rec);
    } catch (const Error& e) {
      replay_ = JournalReplay(), offset_ = 0, lines_ = 0, inode_ = 0;  // half-applied: start over next time
      throw Error(e.code(), where + ": " + e.what(), hint);
    } catch (const json::exception& e) {
      replay_ = JournalReplay(), offset_ = 0, lines_ = 0, inode_ = 0;
      throw Error::usage(where + ": malformed record (" + std::string(e.what()) + ")", hint);
    }
    pos = nl + 1;
    offset_ = base + pos;
    lines_ = line_no;
  }
}

void Journal::append(const std::vector<ordered_json>& records) {
  // The lock is held and we replayed to the end: bytes after the last whole line are a
  // record some writer never finished. Appending would glue ours onto it.
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) != offset_) {
    throw Error::runtime("study file " + path_.string() + " ends in an incomplete record (line " +
                             std::to_string(lines_ + 1) + "), left by a writer that crashed",
                         "remove that last line (keep a copy of the file), then run again");
  }
  std::string text;
  for (const auto& r : records) text += python_json_dumps(r, kCompactSeparators) + "\n";
  // One write() keeps the records whole for lock-free readers; a short write (signal)
  // continues where it stopped, and a failed one (disk full) is cut back off, so the file
  // never ends in a half record that would block the next run. We hold the lock here.
  util::OutFile out(path_, util::OutFile::Mode::kAppend);
  out.write(text);
  out.sync();
}

}  // namespace kiln::optuna
