// Helpers for the end-to-end CLI tests: run the real `kiln` binary as a child process
// (fork/execvp, no shell), capture its stdout and stderr separately, and give each test a
// fresh temporary directory that is removed afterwards.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kiln_test {

namespace fs = std::filesystem;

// The kiln binary under test (the KILN_EXE compile definition).
std::string kiln_exe();

// A fresh, empty directory under the system temp dir; removed (recursively) on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "cli");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  fs::path path_;
};

struct RunOptions {
  fs::path cwd;                                // empty: inherit the test's cwd
  std::chrono::milliseconds timeout{120'000};  // SIGKILL after this and report timed_out
};

struct RunResult {
  int exit_code = -1;   // WEXITSTATUS when the child exited normally, else -1
  int term_signal = 0;  // the signal that killed it, 0 when it exited
  bool timed_out = false;
  std::string out;  // all of stdout
  std::string err;  // all of stderr
  // For gtest messages: exit status and both streams.
  std::string describe() const;
};

// A running child with stdout/stderr redirected to files in a private capture directory
// (so a test can look at the output while it runs, and no pipe can fill up and block).
class Child {
 public:
  Child(const std::vector<std::string>& argv, const RunOptions& opts = {});
  ~Child();  // kills (SIGKILL) and reaps the child if it is still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool running();        // false once it has exited (and been reaped)
  void signal(int sig);  // kill(pid, sig) while it runs
  std::string out_so_far() const;
  std::string err_so_far() const;
  // Polls until `pred(stdout, stderr)` holds or the child exits or `timeout` passes.
  // Returns whether the predicate held.
  template <class Pred>
  bool wait_for_output(Pred pred, std::chrono::milliseconds timeout);
  // Waits for the child to exit; after `timeout` sends SIGKILL and sets timed_out.
  RunResult wait(std::chrono::milliseconds timeout);

 private:
  bool reap(bool block);
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  fs::path capture_dir_;
};

// Runs argv to completion (fork/execvp, stdin from /dev/null) and returns what it did.
RunResult run(const std::vector<std::string>& argv, const RunOptions& opts = {});

// Convenience: {kiln_exe(), args...}.
std::vector<std::string> kiln(std::initializer_list<std::string> args);
std::vector<std::string> kiln(const std::vector<std::string>& args);

// Runs a `kiln train ... --json` (argv) in `cwd` to completion and returns its summary, the
// last stdout line; a gtest failure (and an empty object) unless it exits 0.
nlohmann::json train_summary(const std::vector<std::string>& argv, const fs::path& cwd,
                             std::chrono::milliseconds timeout = std::chrono::minutes(5));

// Starts `kiln train` (argv) in `cwd`, waits until `run_dir`'s metrics.jsonl holds at least
// `steps` step records and SIGKILLs it: a run killed mid-way, for resume tests. A gtest
// failure when it ends first or never gets there.
void kill_after_steps(const std::vector<std::string>& argv, const fs::path& cwd, const fs::path& run_dir, size_t steps);

// Lines of `text` (without the '\n'); a trailing newline does not make an empty last line.
std::vector<std::string> split_lines(const std::string& text);

// The last non-empty line of stdout parsed as JSON; nullopt when it is missing or not JSON.
std::optional<nlohmann::json> last_json_line(const std::string& out);

// The records of `run_dir`/metrics.jsonl whose "type" is `type` ("step", "eval"), in order.
std::vector<nlohmann::json> metrics_records(const fs::path& run_dir, const std::string& type);

std::string read_file(const fs::path& p);
void write_file(const fs::path& p, const std::string& text);

// Every path under `dir` (relative, sorted), directories included: a snapshot to compare
// before and after a command that must write nothing.
std::vector<std::string> tree(const fs::path& dir);

// ---- template implementation ----

template <class Pred>
bool Child::wait_for_output(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred(out_so_far(), err_so_far())) return true;
    if (!running()) return pred(out_so_far(), err_so_far());
    if (std::chrono::steady_clock::now() >= deadline) return false;
    struct timespec ts {
      0, 20'000'000
    };
    nanosleep(&ts, nullptr);
  }
}

}  // namespace kiln_test
