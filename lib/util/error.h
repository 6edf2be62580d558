// kiln::Error: the one exception type lib/ throws. It carries the exit code that
// cli/main.cpp maps it to (design.md's contract) and a hint saying what to do.
#pragma once
#include <stdexcept>
#include <string>

namespace kiln {

enum class ExitCode : int {
  kOk = 0,
  kRuntime = 1,        // runtime failure
  kUsage = 2,          // bad usage, config or input data: nothing started, nothing written
  kMismatch = 3,       // verification mismatch
  kDiverged = 4,       // training stopped on a non-finite loss (train.on_nonfinite = "stop")
  kInterrupted = 130,  // SIGINT after a resumable checkpoint
  kTerminated = 143,   // SIGTERM after a resumable checkpoint
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message, std::string hint = {})
      : std::runtime_error(message), code_(code), hint_(std::move(hint)) {}
  ExitCode code() const { return code_; }
  const std::string& hint() const { return hint_; }

  // Bad usage, config or input data (exit 2).
  static Error usage(const std::string& message, std::string hint = {}) {
    return Error(ExitCode::kUsage, message, std::move(hint));
  }
  // Something failed while running (exit 1).
  static Error runtime(const std::string& message, std::string hint = {}) {
    return Error(ExitCode::kRuntime, message, std::move(hint));
  }

 private:
  ExitCode code_;
  std::string hint_;
};

}  // namespace kiln

// Throws kiln::Error::usage(msg) unless cond holds: for checks on user input.
#define KILN_CHECK(cond, msg)                     \
  do {                                            \
    if (!(cond)) throw ::kiln::Error::usage(msg); \
  } while (0)
