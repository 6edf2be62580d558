// TrainProcess: fork/execve a `kiln train` child and watch it.
#include "run/train_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "util/error.h"

extern char** environ;

namespace kiln::run {
namespace fs = std::filesystem;
namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TrainProcess::TrainProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env_extra,
                           const fs::path& dir, fs::path metrics)
    : dir_(dir), metrics_(std::move(metrics)), start_(std::chrono::steady_clock::now()) {
  fs::create_directories(dir_);
  // Everything the child needs is built before fork: after it only async-signal-safe calls.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    bool replaced = false;
    for (const auto& x : env_extra)
      replaced = replaced || kv.substr(0, kv.find('=') + 1) == x.substr(0, x.find('=') + 1);
    if (!replaced) env.push_back(kv);
  }
  env.insert(env.end(), env_extra.begin(), env_extra.end());
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  const std::string out = (dir_ / "stdout.log").string(), err = (dir_ / "stderr.log").string();
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw Error::runtime(std::string("cannot start a trial: fork failed: ") + std::strerror(errno));
  if (pid_ == 0) {
    setpgid(0, 0);  // its own group: the terminal's Ctrl-C goes to the sweep only
    // A sweep that dies (even by SIGKILL) stops its trials: they get SIGTERM, checkpoint and
    // exit, rather than train on as orphans. The getppid check covers a parent that died
    // before prctl took effect.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(143);
    const int in = open("/dev/null", O_RDONLY);
    const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || o < 0 || e < 0) _exit(126);
    dup2(in, 0);
    dup2(o, 1);
    dup2(e, 2);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  setpgid(pid_, pid_);  // also from here, so it holds before either side runs on
}

TrainProcess::~TrainProcess() {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

bool TrainProcess::running() {
  if (reaped_) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) {
    if (term_sent_ && std::chrono::steady_clock::now() > *term_sent_) kill(pid_, SIGKILL);
    return true;
  }
  reaped_ = true;
  if (r == pid_ && WIFEXITED(status)) exit_code_ = WEXITSTATUS(status);
  if (r == pid_ && WIFSIGNALED(status)) term_signal_ = WTERMSIG(status);
  return false;
}

void TrainProcess::terminate(std::chrono::seconds grace) {
  if (reaped_ || term_sent_) return;
  kill(pid_, SIGTERM);
  term_sent_ = std::chrono::steady_clock::now() + grace;
}

double TrainProcess::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::vector<nlohmann::json> TrainProcess::new_evals() {
  std::vector<nlohmann::json> out;
  for (auto& j : metrics_.next()) {
    if (record_type(j) == "eval") out.push_back(std::move(j));
  }
  return out;
}

std::optional<nlohmann::json> TrainProcess::summary() const {
  std::istringstream in(read_all(dir_ / "stdout.log"));
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  auto j = nlohmann::json::parse(last, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::string TrainProcess::last_error_line() const {
  std::istringstream in(read_all(dir_ / "stderr.log"));
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  }
  return last;
}

}  // namespace kiln::run
