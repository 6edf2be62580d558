// TrainProcess: one `kiln train` run as a child process (a sweep trial, a selftest run;
// argv, never a shell), in its own process group so a terminal's Ctrl-C reaches the parent,
// which then stops its children in order. stdout/stderr go to files in the given directory;
// the per-epoch evaluations are read from the run's metrics.jsonl as they appear.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "run/metrics_log.h"

namespace kiln::run {

class TrainProcess {
 public:
  // Starts argv[0] with argv; `env_extra` ("NAME=value") are added to this process's
  // environment. Logs go to dir/stdout.log and dir/stderr.log; `metrics` is the run's
  // metrics.jsonl. Throws kiln::Error::runtime when the process cannot start.
  TrainProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env_extra,
               const std::filesystem::path& dir, std::filesystem::path metrics);
  ~TrainProcess();  // kills (SIGKILL) and reaps a child still running
  TrainProcess(const TrainProcess&) = delete;
  TrainProcess& operator=(const TrainProcess&) = delete;

  // True while the child runs; reaps it once it has exited.
  bool running();
  // SIGTERM (kiln train checkpoints and exits 143); a second call after `grace` sends SIGKILL.
  void terminate(std::chrono::seconds grace = std::chrono::seconds(30));
  int exit_code() const { return exit_code_; }      // -1 unless it exited normally
  int term_signal() const { return term_signal_; }  // 0 unless a signal ended it
  double elapsed_s() const;
  // Evaluation records ({"type": "eval", ...}) appended to metrics.jsonl since the last call.
  std::vector<nlohmann::json> new_evals();
  // The --json summary (last stdout line), once it has exited.
  std::optional<nlohmann::json> summary() const;
  // The last non-empty stderr line (for FAIL reasons).
  std::string last_error_line() const;

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1, term_signal_ = 0;
  bool reaped_ = false;
  std::filesystem::path dir_;
  MetricsTail metrics_;
  std::chrono::steady_clock::time_point start_;
  std::optional<std::chrono::steady_clock::time_point> term_sent_;
};

}  // namespace kiln::run
