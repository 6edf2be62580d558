// kiln launch: torchrun's job for users without it. Starts this node's ranks of a
// data-parallel job as child processes with torchrun's environment (RANK, WORLD_SIZE,
// LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), forwards SIGINT/SIGTERM to them
// once, and propagates the first failure: when a rank fails, the others are stopped (SIGTERM,
// then SIGKILL after a grace period) and its exit code is the launcher's.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::dist {

struct LaunchOptions {
  int64_t nproc_per_node = 1;
  int64_t nnodes = 1;
  int64_t node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;  // 0: a free port on this host (one node only)
  double grace_s = 30;      // after a failure: how long the other ranks get to stop before SIGKILL
};

// A TCP port on 127.0.0.1 that nothing listens on now (a store or server binds it a moment
// later: a race only with another process picking ports the same way). Error::runtime when
// the socket calls fail.
int free_port();

// The environment of local rank `local` (NAME=value entries, added to this process's).
std::vector<std::string> rank_env(const LaunchOptions& o, int64_t local);

// Runs `argv` (argv[0] a path, never a shell) as o.nproc_per_node ranks and waits for them.
// `stop`: set by a signal handler to the signal number; forwarded to every rank once.
// Returns 0 when every rank exited 0; else the first failure's exit code (128 + N for a rank
// killed by signal N). Throws Error::usage for bad options, Error::runtime when a rank
// cannot start.
int launch(const std::vector<std::string>& argv, LaunchOptions o, const std::atomic<int>* stop);

}  // namespace kiln::dist
