// A TensorBoard event file: TFRecord frames (uint64 length, masked CRC-32C of the length,
// the data, masked CRC-32C of the data; all little-endian) of serialized Events
// (metrics/tb_event.h), appended through checked writes so a record is whole or absent.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/out_file.h"

namespace kiln::metrics {

// One TFRecord frame around `data`.
std::string tfrecord(std::string_view data);

class EventFile {
 public:
  // Creates `dir` if needed and a new events.out.tfevents.<seconds>.<host>.<pid> in it,
  // named to sort after every event file already there (TensorBoard reads a run's files in
  // name order, and a resumed run's must come after the ones it continues); writes the
  // file_version record.
  explicit EventFile(const std::filesystem::path& dir);
  // Frames and appends the events in one write.
  void write(const std::vector<std::string>& events);
  void close() { out_.close(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  util::OutFile out_;
};

// Seconds since the Unix epoch, the wall time TensorBoard shows.
double unix_seconds();

}  // namespace kiln::metrics
