// kiln_worker: host:pid of the sweep that runs a trial (see worker.h).
#include "sweep/worker.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace kiln::sweep {
namespace {

std::string this_host() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace

std::string this_worker() { return this_host() + ":" + std::to_string(getpid()); }

bool orphaned(const optuna::Trial& t) {
  if (t.state != optuna::TrialState::kRunning || !t.user_attrs.contains("kiln_worker")) return false;
  const auto& attr = t.user_attrs["kiln_worker"];
  if (!attr.is_string()) return false;
  const std::string w = attr.get<std::string>();
  const auto colon = w.rfind(':');
  if (colon == std::string::npos || w.substr(0, colon) != this_host()) return false;  // another host's
  pid_t pid = 0;
  try {
    pid = static_cast<pid_t>(std::stol(w.substr(colon + 1)));
  } catch (const std::exception&) {
    return false;  // not written by kiln
  }
  // Our own pid can only be a reused one: the sweep that wrote it is gone.
  return pid == getpid() || (kill(pid, 0) != 0 && errno != EPERM);
}

}  // namespace kiln::sweep
