// Signal handling for long commands: first SIGINT/SIGTERM asks for a clean stop, a second
// one exits at once with 128 + signal.
#include <unistd.h>

#include <atomic>
#include <csignal>

#include "commands.h"

namespace kiln::cli {
namespace {

std::atomic<int> g_stop{0};  // the one process-wide flag a signal handler may touch

void on_signal(int sig) {
  if (g_stop.exchange(sig) != 0) _exit(128 + sig);
  const char msg[] = "\nkiln: stopping after the current step (send again to abort now)\n";
  [[maybe_unused]] auto n = write(STDERR_FILENO, msg, sizeof msg - 1);
}

}  // namespace

const std::atomic<int>* install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return &g_stop;
}

}  // namespace kiln::cli
