// kiln launch (see launch.h).
#include "dist/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "util/error.h"
#include "util/log.h"

namespace kiln::dist {
namespace {

struct Rank {
  pid_t pid = -1;
  bool done = false;
  int code = 0;  // exit code, or 128 + signal
};

int code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

void signal_all(std::vector<Rank>& ranks, int sig) {
  for (const Rank& r : ranks) {
    if (!r.done) kill(r.pid, sig);
  }
}

}  // namespace

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error::runtime(std::string("socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  close(fd);
  if (!ok) throw Error::runtime("could not find a free port on 127.0.0.1");
  return ntohs(a.sin_port);
}

std::vector<std::string> rank_env(const LaunchOptions& o, int64_t local) {
  const int64_t rank = o.node_rank * o.nproc_per_node + local;
  return {"RANK=" + std::to_string(rank),
          "WORLD_SIZE=" + std::to_string(o.nnodes * o.nproc_per_node),
          "LOCAL_RANK=" + std::to_string(local),
          "LOCAL_WORLD_SIZE=" + std::to_string(o.nproc_per_node),
          "GROUP_RANK=" + std::to_string(o.node_rank),
          "MASTER_ADDR=" + o.master_addr,
          "MASTER_PORT=" + std::to_string(o.master_port)};
}

int launch(const std::vector<std::string>& argv, LaunchOptions o, const std::atomic<int>* stop) {
  if (argv.empty()) throw Error::usage("kiln launch: no command to run", "e.g. kiln launch --nproc-per-node 2 train");
  if (o.nproc_per_node < 1) throw Error::usage("--nproc-per-node must be at least 1");
  if (o.nnodes < 1) throw Error::usage("--nnodes must be at least 1");
  if (o.node_rank < 0 || o.node_rank >= o.nnodes) {
    throw Error::usage("--node-rank " + std::to_string(o.node_rank) + " is out of range for --nnodes " +
                       std::to_string(o.nnodes) + " (0.." + std::to_string(o.nnodes - 1) + ")");
  }
  if (o.master_port < 0 || o.master_port > 65535) throw Error::usage("--master-port must be in 0..65535");
  if (o.master_port == 0) {
    if (o.nnodes > 1) throw Error::usage("--master-port 0 (any free port) works on one node only: name the port");
    o.master_port = free_port();
  }
  log::info("launching " + std::to_string(o.nproc_per_node) + " rank" + (o.nproc_per_node == 1 ? "" : "s") + " of " +
            std::to_string(o.nnodes * o.nproc_per_node) + " (node " + std::to_string(o.node_rank) + "), master " +
            o.master_addr + ":" + std::to_string(o.master_port));
  std::vector<Rank> ranks(size_t(o.nproc_per_node));
  for (int64_t local = 0; local < o.nproc_per_node; ++local) {
    // Built before fork: the child only calls async-signal-safe functions.
    // This process's environment without the names the rank's own replace (getenv takes the
    // first of duplicates: a launcher run under torchrun would pass torchrun's RANK on).
    const std::vector<std::string> mine = rank_env(o, local);
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      const std::string kv = *e;
      const std::string name = kv.substr(0, kv.find('='));
      bool replaced = false;
      for (const auto& m : mine) replaced |= m.compare(0, name.size() + 1, name + "=") == 0;
      if (!replaced) env.push_back(kv);
    }
    env.insert(env.end(), mine.begin(), mine.end());
    std::vector<char*> cargv, cenv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) {
      signal_all(ranks, SIGKILL);
      throw Error::runtime(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
      // Its own process group: a terminal's Ctrl-C reaches the launcher only, which forwards
      // it once (kiln train takes a second signal as "abort now").
      setpgid(0, 0);
      execve(cargv[0], cargv.data(), cenv.data());
      _exit(127);
    }
    ranks[size_t(local)].pid = pid;
  }
  int result = 0, forwarded = 0;
  int64_t failed = -1;
  std::chrono::steady_clock::time_point failed_at;
  bool killed = false;
  for (size_t left = ranks.size(); left > 0;) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (size_t i = 0; i < ranks.size(); ++i) {
        if (ranks[i].pid != pid || ranks[i].done) continue;
        ranks[i].done = true;
        ranks[i].code = code_of(status);
        --left;
        if (ranks[i].code != 0 && failed < 0) {
          failed = int64_t(i);
          result = ranks[i].code;
          failed_at = std::chrono::steady_clock::now();
          if (forwarded == 0 && left > 0) {
            log::error("rank " + std::to_string(o.node_rank * o.nproc_per_node + int64_t(i)) + " exited with " +
                       std::to_string(ranks[i].code) + "; stopping the other ranks");
            signal_all(ranks, SIGTERM);
          }
        }
      }
      continue;
    }
    if (pid < 0 && errno != EINTR) break;  // no children left
    if (stop && stop->load() != 0 && forwarded == 0) {
      forwarded = stop->load();
      signal_all(ranks, forwarded);
      failed_at = std::chrono::steady_clock::now();
    }
    const bool stopping = failed >= 0 || forwarded != 0;
    if (stopping && !killed &&
        std::chrono::steady_clock::now() - failed_at > std::chrono::duration<double>(o.grace_s)) {
      log::error("ranks still running " + std::to_string(o.grace_s) + " s after the stop: killing them");
      signal_all(ranks, SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (result == 0 && forwarded != 0) {
    for (const Rank& r : ranks) {
      if (r.code != 0) return r.code;  // 130 / 143: stopped after a checkpoint
    }
  }
  return result;
}

}  // namespace kiln::dist
