// Test-only helpers (header-only) shared by the tests that talk to real Optuna: the
// interop Python (KILN_TEST_PYTHON) and whether it can import optuna (KILN_REQUIRE_OPTUNA skips
// the test with the reason when not), the scripts in tests/interop/, and a temporary directory
// that removes itself. run_optuna_reference runs one reference script and reads its JSON answer.
#pragma once
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#ifndef KILN_TEST_PYTHON
#define KILN_TEST_PYTHON ""  // no interop Python configured: the Optuna tests skip
#endif
#ifndef KILN_SOURCE_DIR
#define KILN_SOURCE_DIR "."
#endif

namespace kiln::optuna::test_support {

// A fresh directory under the system temp dir, removed (with its contents) on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "test") {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("kiln_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The path of tests/interop/<name>.
inline std::string interop_script(const std::string& name) {
  return std::string(KILN_SOURCE_DIR) + "/tests/interop/" + name;
}

// "'<python>' '<source>/tests/interop/<script>'": the start of a shell command that runs the
// script with the interop Python (the caller appends its arguments and redirections).
inline std::string interop_command(const std::string& script) {
  return shell_quote(KILN_TEST_PYTHON) + " " + shell_quote(interop_script(script));
}

// Why the Optuna reference cannot run here, or "" when it can (checked once per process).
inline const std::string& optuna_unavailable_reason() {
  static const std::string reason = [] {
    const std::string py = KILN_TEST_PYTHON;
    if (py.empty()) return std::string("KILN_TEST_PYTHON is not set");
    if (std::string(KILN_SOURCE_DIR).empty()) return std::string("KILN_SOURCE_DIR is not set");
    const std::string cmd = shell_quote(py) + " -c 'import optuna' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return "'" + py + "' cannot import optuna";
    return std::string();
  }();
  return reason;
}

// Runs tests/interop/<script> on `input` (written as IN.json); returns its stdout parsed as JSON,
// or std::nullopt with `error` set (the script's stderr) if it fails.
inline std::optional<nlohmann::json> run_optuna_reference(const std::string& script, const nlohmann::json& input,
                                                          std::string* error) {
  TempDir dir("optuna_ref");
  const auto in = dir.path() / "in.json", out = dir.path() / "out.json", err = dir.path() / "err.txt";
  std::ofstream(in) << input.dump();
  const std::string cmd = interop_command(script) + " " + shell_quote(in.string()) + " > " + shell_quote(out.string()) +
                          " 2> " + shell_quote(err.string());
  const int rc = std::system(cmd.c_str());
  std::stringstream text, err_text;
  text << std::ifstream(out).rdbuf();
  err_text << std::ifstream(err).rdbuf();
  if (rc != 0) {
    *error = "reference script " + script + " failed: " + err_text.str();
    return std::nullopt;
  }
  try {
    return nlohmann::json::parse(text.str());
  } catch (const std::exception& e) {
    *error = "reference script " + script + " printed no JSON: " + e.what();
    return std::nullopt;
  }
}

}  // namespace kiln::optuna::test_support

// Skips the current test, with the reason, unless the interop Python can import optuna.
#define KILN_REQUIRE_OPTUNA()                                                                 \
  do {                                                                                        \
    const std::string& kiln_why_ = ::kiln::optuna::test_support::optuna_unavailable_reason(); \
    if (!kiln_why_.empty()) GTEST_SKIP() << "needs Python with optuna: " << kiln_why_;        \
  } while (0)
