// Test helpers for remote mode (remote_test.cpp): tools/optuna_server.py as a child process
// and the study as real Optuna reads it back (tests skip with KILN_REQUIRE_OPTUNA from
// optuna/optuna_reference.h when the interop Python lacks optuna). Tests only; needs tests/cli_helpers.h.
#pragma once
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_helpers.h"
#include "optuna/optuna_reference.h"  // KILN_TEST_PYTHON, KILN_REQUIRE_OPTUNA

namespace kiln::sweep::remote_test {

namespace fs = std::filesystem;

inline const std::string kPython = KILN_TEST_PYTHON;

// tools/optuna_server.py as a child process on a journal file; killed when destroyed.
class OptunaServer {
 public:
  OptunaServer(const fs::path& journal, std::vector<std::string> flags, int port = 0) {
    std::vector<std::string> argv{kPython,     std::string(KILN_SOURCE_DIR) + "/tools/optuna_server.py",
                                  "--storage", journal.string(),
                                  "--port",    std::to_string(port)};
    argv.insert(argv.end(), flags.begin(), flags.end());
    child_ = std::make_unique<kiln_test::Child>(argv);
    const auto ready = [](const std::string& out, const std::string&) { return out.find('\n') != std::string::npos; };
    if (!child_->wait_for_output(ready, std::chrono::seconds(30)) ||
        child_->out_so_far().rfind("listening on http://", 0) != 0) {
      throw std::runtime_error("optuna_server.py did not start:\n" + log());
    }
    const std::string line = kiln_test::split_lines(child_->out_so_far()).at(0);
    url_ = line.substr(std::string("listening on ").size());
    port_ = std::stoi(url_.substr(url_.rfind(':') + 1));
  }
  const std::string& url() const { return url_; }
  int port() const { return port_; }
  std::string log() const { return child_->out_so_far() + child_->err_so_far(); }
  void kill() { child_->wait(std::chrono::milliseconds(0)); }  // SIGKILL and reap
  int stop() {                                                 // SIGTERM; the exit code
    child_->signal(SIGTERM);
    return child_->wait(std::chrono::seconds(10)).exit_code;
  }

 private:
  std::unique_ptr<kiln_test::Child> child_;
  std::string url_;
  int port_ = 0;
};

// The study as real Optuna reads it from the journal (tests/interop/remote_dump_study.py).
inline nlohmann::json dump_study(const fs::path& journal, const std::string& name) {
  const std::string script = optuna::test_support::interop_script("remote_dump_study.py");
  const auto r = kiln_test::run({kPython, script, journal.string(), name});
  if (r.exit_code != 0) throw std::runtime_error("remote_dump_study.py failed: " + r.describe());
  return nlohmann::json::parse(kiln_test::split_lines(r.out).back());
}

}  // namespace kiln::sweep::remote_test
