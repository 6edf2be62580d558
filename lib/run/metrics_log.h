// Reading a run's metrics.jsonl back: the one parser of it. metrics::JsonlSink writes it
// ({"type": "step", ...} and {"type": "eval", ...} lines); resume, the summary's loss trace,
// `kiln verify`, the selftest and the sweep's trial driver read it through here.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::run {

// Every whole record in order; a line that is not JSON (one cut short by a kill) is skipped.
// A missing file has no records. With `skipped`, what was left out is described there, for
// readers that must tell a log cut short at its end from a garbled one (`kiln report`).
struct SkippedLines {
  std::vector<int64_t> numbers;  // 1-based numbers of the non-empty lines that are not JSON objects
  int64_t lines = 0;             // lines read in all
};
std::vector<nlohmann::json> read_metrics(const std::filesystem::path& path, SkippedLines* skipped = nullptr);

// "step" or "eval" ("" when absent).
std::string record_type(const nlohmann::json& record);

// step -> training loss of every step record; a nan/inf loss (JSON null) is NaN.
std::map<int64_t, double> step_losses(const std::vector<nlohmann::json>& records);

struct LossTrace {
  std::string sha256;     // over "step loss" lines of every step record (losses as JSON writes
                          // them: shortest round-trip form): are two runs' loss curves identical?
  int64_t nonfinite = 0;  // steps whose loss was nan/inf (JSON null) or whose update was skipped
};
LossTrace loss_trace(const std::vector<nlohmann::json>& records);

// Follows a metrics.jsonl another process is appending to: each call returns the records
// completed since the last one (a line without its '\n' is still being written).
class MetricsTail {
 public:
  explicit MetricsTail(std::filesystem::path path) : path_(std::move(path)) {}
  std::vector<nlohmann::json> next();

 private:
  std::filesystem::path path_;
  size_t offset_ = 0;
};

}  // namespace kiln::run
