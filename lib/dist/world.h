// World: this process's place in a data-parallel job, read from the launcher's environment
// (torchrun, Slurm's srun, or kiln launch, which sets torchrun's variables). One process
// alone, with none of them set, is a world of one: no process group, no communication.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace kiln::dist {

struct World {
  int64_t rank = 0;                       // 0 .. size-1; rank 0 owns the run dir
  int64_t size = 1;                       // processes in the job
  int64_t local_rank = 0;                 // rank on this host: the CUDA device index (cuda:LOCAL_RANK)
  std::string master_addr = "127.0.0.1";  // rank 0's host: the rendezvous store listens there
  int master_port = 29500;
  std::string launcher = "none";  // "torchrun" (also kiln launch), "slurm", "none"
  // torchrun's elastic agent serves the store at MASTER_ADDR:MASTER_PORT itself
  // (TORCHELASTIC_USE_AGENT_STORE): every rank joins it as a client. The store outlives a
  // restart (--max-restarts), so each attempt's keys go under their own prefix
  // (TORCHELASTIC_RESTART_COUNT), as PyTorch's env:// rendezvous does.
  bool agent_store = false;
  int64_t attempt = 0;

  bool distributed() const { return size > 1; }
};

// An environment variable's value, or nullopt when unset (the real environment by default;
// tests pass a map).
using Env = std::function<std::optional<std::string>(const std::string&)>;
Env process_env();

// Reads the world from the environment:
// - torchrun: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (all five; torchrun and
//   kiln launch set them). Checked first, so torchrun inside a Slurm allocation wins. Also
//   TORCHELASTIC_USE_AGENT_STORE ("True") and TORCHELASTIC_RESTART_COUNT when set.
// - Slurm (srun): SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID; the master is MASTER_ADDR if set,
//   else the first host of SLURM_STEP_NODELIST / SLURM_JOB_NODELIST; MASTER_PORT if set, else
//   29500. A Slurm allocation with one task is a world of one.
// Throws Error::usage naming the variable for a value that is not a number, out of range
// (rank >= size, a port outside 1..65535) or missing beside the others.
World from_env(const Env& env = process_env());

// The first host of a Slurm node list: "node[07-09,12],gpu3" -> "node07", "a,b" -> "a",
// "gpu-[1-4]" -> "gpu-1". Throws Error::usage on an unbalanced bracket.
std::string first_slurm_host(const std::string& nodelist);

// "rank 1 of 2 (torchrun, local rank 1, master 127.0.0.1:29500)".
std::string describe(const World& w);

}  // namespace kiln::dist
