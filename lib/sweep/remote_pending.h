// The pending file of remote mode: reports and tells written down (and fsynced) before they
// are sent, removed once the server acknowledges them, so a result is never only in memory
// while the server is unreachable. JSON lines; each record carries an "id" for removal.
// One process per file: the mutex serialises this process's threads, nothing more.
#pragma once
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::sweep {

class PendingLog {
 public:
  // An empty path keeps nothing: add() only assigns ids, load() is empty.
  explicit PendingLog(std::filesystem::path path);

  // Gives `record` a fresh "id", appends it as one line and fsyncs; returns the record as
  // written. Throws kiln::Error::runtime when the file cannot be written.
  nlohmann::json add(nlohmann::json record);
  // Rewrites the file without the record `id` (temp file, fsync, rename); removes the file
  // once nothing is left.
  void remove(const std::string& id);
  // Moves a record the server refused to "<path>.rejected" (appended, with `why`), so that
  // it stops blocking later runs but is not lost.
  void reject(const nlohmann::json& record, const std::string& why);
  // Every record, in the order written. A torn last line (a crash mid-append) is skipped.
  std::vector<nlohmann::json> load() const;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::vector<nlohmann::json> load_locked() const;
  void append_line(const std::filesystem::path& file, const std::string& line) const;

  std::filesystem::path path_;
  mutable std::mutex mu_;
  std::string id_prefix_;  // random per process, so ids from different runs never collide
  uint64_t next_id_ = 0;
};

}  // namespace kiln::sweep
