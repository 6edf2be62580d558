#include "cli_helpers.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace kiln_test {

namespace {

fs::path make_temp_dir(const std::string& tag) {
  std::string tmpl = (fs::temp_directory_path() / ("kiln-" + tag + "-XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  return fs::path(buf.data());
}

void remove_tree(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

void sleep_ms(long ms) {
  struct timespec ts {
    ms / 1000, (ms % 1000) * 1'000'000
  };
  nanosleep(&ts, nullptr);
}

}  // namespace

std::string kiln_exe() { return KILN_EXE; }

TempDir::TempDir(const std::string& tag) : path_(make_temp_dir(tag)) {}

TempDir::~TempDir() { remove_tree(path_); }

std::string RunResult::describe() const {
  std::ostringstream s;
  if (timed_out) s << "TIMED OUT; ";
  if (term_signal) {
    s << "killed by signal " << term_signal;
  } else {
    s << "exit code " << exit_code;
  }
  s << "\n--- stdout ---\n" << out << "\n--- stderr ---\n" << err << "\n---";
  return s.str();
}

Child::Child(const std::vector<std::string>& argv, const RunOptions& opts) {
  if (argv.empty()) throw std::invalid_argument("Child: empty argv");
  capture_dir_ = make_temp_dir("capture");
  const std::string out_path = (capture_dir_ / "stdout").string();
  const std::string err_path = (capture_dir_ / "stderr").string();
  const std::string cwd = opts.cwd.string();

  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int in_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out_fd < 0 || err_fd < 0 || in_fd < 0) throw std::runtime_error("Child: cannot open capture files");

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed: " + std::string(std::strerror(errno)));
  if (pid_ == 0) {
    // Default dispositions for the signals the tests send (the test runner may ignore some).
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(126);
    execvp(cargv[0], cargv.data());
    const char msg[] = "cli_helpers: execvp failed\n";
    [[maybe_unused]] auto n = write(2, msg, sizeof msg - 1);
    _exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
  ::close(in_fd);
}

Child::~Child() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    reap(/*block=*/true);
  }
  remove_tree(capture_dir_);
}

bool Child::reap(bool block) {
  if (reaped_) return true;
  for (;;) {
    const pid_t r = waitpid(pid_, &status_, block ? 0 : WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      return true;
    }
    if (r == 0) return false;
    if (errno == EINTR) continue;
    reaped_ = true;  // ECHILD: nothing left to wait for
    status_ = 0;
    return true;
  }
}

bool Child::running() { return !reap(/*block=*/false); }

void Child::signal(int sig) {
  if (!reaped_) kill(pid_, sig);
}

std::string Child::out_so_far() const { return read_file(capture_dir_ / "stdout"); }
std::string Child::err_so_far() const { return read_file(capture_dir_ / "stderr"); }

RunResult Child::wait(std::chrono::milliseconds timeout) {
  RunResult r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!reap(/*block=*/false)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      r.timed_out = true;
      kill(pid_, SIGKILL);
      reap(/*block=*/true);
      break;
    }
    sleep_ms(10);
  }
  if (WIFEXITED(status_)) {
    r.exit_code = WEXITSTATUS(status_);
  } else if (WIFSIGNALED(status_)) {
    r.term_signal = WTERMSIG(status_);
  }
  r.out = out_so_far();
  r.err = err_so_far();
  return r;
}

RunResult run(const std::vector<std::string>& argv, const RunOptions& opts) {
  Child c(argv, opts);
  return c.wait(opts.timeout);
}

std::vector<std::string> kiln(std::initializer_list<std::string> args) { return kiln(std::vector<std::string>(args)); }

std::vector<std::string> kiln(const std::vector<std::string>& args) {
  std::vector<std::string> v{kiln_exe()};
  v.insert(v.end(), args.begin(), args.end());
  return v;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::string cur;
  for (char c : text) {
    if (c == '\n') {
      lines.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) lines.push_back(cur);
  return lines;
}

std::optional<nlohmann::json> last_json_line(const std::string& out) {
  auto lines = split_lines(out);
  while (!lines.empty() && lines.back().find_first_not_of(" \t\r") == std::string::npos) lines.pop_back();
  if (lines.empty()) return std::nullopt;
  auto j = nlohmann::json::parse(lines.back(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

std::vector<std::string> tree(const fs::path& dir) {
  std::vector<std::string> entries;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    entries.push_back(fs::relative(it->path(), dir).string());
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

std::vector<nlohmann::json> metrics_records(const fs::path& run_dir, const std::string& type) {
  std::vector<nlohmann::json> out;
  for (const auto& line : split_lines(read_file(run_dir / "metrics.jsonl"))) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("type", "") == type) out.push_back(std::move(j));
  }
  return out;
}

nlohmann::json train_summary(const std::vector<std::string>& argv, const fs::path& cwd,
                             std::chrono::milliseconds timeout) {
  const RunResult r = run(argv, {cwd, timeout});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  return last_json_line(r.out).value_or(nlohmann::json::object());
}

void kill_after_steps(const std::vector<std::string>& argv, const fs::path& cwd, const fs::path& run_dir,
                      size_t steps) {
  Child child(argv, {cwd});
  const bool reached = child.wait_for_output(
      [&](const std::string&, const std::string&) { return metrics_records(run_dir, "step").size() >= steps; },
      std::chrono::minutes(5));
  ASSERT_TRUE(reached) << child.err_so_far();
  child.signal(SIGKILL);
  EXPECT_EQ(child.wait(std::chrono::minutes(1)).term_signal, SIGKILL) << "the run ended before it was killed";
}

}  // namespace kiln_test
