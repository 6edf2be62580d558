// kiln launch: this node's ranks of a data-parallel job (dist::launch), for users without
// torchrun. Everything after the options is the kiln command each rank runs.
#include "commands.h"
#include "dist/launch.h"
#include "util/error.h"

namespace kiln::cli {

void add_launch_command(CLI::App& app, const Globals& g, Runner& run) {
  auto o = std::make_shared<dist::LaunchOptions>();
  CLI::App* cmd =
      app.add_subcommand("launch", "Run a kiln command as the ranks of a data-parallel job (torchrun's job)");
  cmd->footer(
      "Usage: kiln launch [OPTIONS] COMMAND...\n"
      "Each rank is this kiln with COMMAND and torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK,\n"
      "MASTER_ADDR, MASTER_PORT). Rank 0 owns the run dir and prints; SIGINT/SIGTERM are forwarded\n"
      "once to every rank; when a rank fails the others are stopped and its exit code is kiln\n"
      "launch's. With torchrun the same job is: torchrun --nproc-per-node 2 --no-python kiln train ...\n"
      "Examples:\n"
      "  kiln launch --nproc-per-node 2 train configs/fashion_cnn.toml --set train.device=cpu\n"
      "  kiln launch --nnodes 2 --node-rank 0 --master-addr 10.0.0.1 --nproc-per-node 4 train cfg.toml\n"
      "  (and --node-rank 1 on the second machine)");
  // CLI::Range, not PositiveNumber: CLI11 2.1 words the latter's error with DBL_MAX in full.
  cmd->add_option("--nproc-per-node", o->nproc_per_node, "ranks on this machine (default 1)")
      ->check(CLI::Range(int64_t(1), int64_t(4096)));
  cmd->add_option("--nnodes", o->nnodes, "machines in the job (default 1)")
      ->check(CLI::Range(int64_t(1), int64_t(65536)));
  cmd->add_option("--node-rank", o->node_rank, "this machine's number, 0..nnodes-1 (default 0)")
      ->check(CLI::Range(int64_t(0), int64_t(65535)));
  cmd->add_option("--master-addr", o->master_addr, "address of node 0, where rank 0 serves the rendezvous");
  cmd->add_option("--master-port", o->master_port, "its port (default 29500; 0 = any free port, one node only)");
  cmd->add_option("--grace", o->grace_s, "seconds the other ranks get to stop after a failure (default 30)")
      ->check(CLI::Range(0.0, 86400.0));
  // Everything from the first positional on is COMMAND, its options included.
  cmd->prefix_command();
  cmd->fallthrough(false);  // else the first positional is handed up to the main app
  run = [&g, o, cmd] {
    std::vector<std::string> argv = {self_exe(g.argv)};
    for (const auto& a : cmd->remaining()) argv.push_back(a);
    if (argv.size() == 1) {
      throw Error::usage("kiln launch: no command to run", "e.g. kiln launch --nproc-per-node 2 train cfg.toml");
    }
    return dist::launch(argv, *o, install_stop_handlers());
  };
}

}  // namespace kiln::cli
