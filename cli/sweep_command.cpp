// `kiln sweep SPEC.toml [--trials N] [--parallel N] [--study-file PATH] [--dir DIR]
//                       [--optuna-url URL] [--json]`: the arguments for sweep::run, and its
// summary on stdout.

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "commands.h"
#include "sweep/run.h"

namespace kiln::cli {
namespace {

struct SweepArgs {
  std::string spec;
  int64_t trials = -1;
  int parallel = -1;
  std::string study_file, dir, optuna_url;
  bool json = false;
};

int run_sweep(const SweepArgs& a, const Globals& g) {
  sweep::SweepOptions o;
  o.spec = a.spec;
  o.trials = a.trials;
  o.parallel = a.parallel;
  o.dir = a.dir;
  o.study_file = a.study_file;
  o.optuna_url = a.optuna_url;
  const char* tok = std::getenv("KILN_OPTUNA_TOKEN");
  o.optuna_token = tok ? tok : "";
  o.kiln_exe = self_exe(g.argv);
  o.install_stop = install_stop_handlers;
  o.console = !g.quiet;
  const nlohmann::json summary = sweep::run(o);
  if (a.json) std::cout << summary.dump() << std::endl;
  sweep::require_best(summary);
  return 0;
}

}  // namespace

void add_sweep_command(CLI::App& app, const Globals& g, Runner& run) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* cmd =
      app.add_subcommand("sweep", "Search hyperparameters (Optuna semantics, native TPE, pruning, parallel trials)");
  cmd->footer(
      "Each trial is a child `kiln train` with --set overrides and its own run dir under\n"
      "DIR/trials/NNNN/run; per-epoch results go to the pruner; the study is an Optuna journal file\n"
      "(optuna-dashboard DIR/study.journal). Running the same command again continues the study.\n"
      "At the end: a leaderboard, DIR/best.toml (ready for `kiln train`) and DIR/summary.json.\n"
      "Examples:\n"
      "  kiln sweep configs/sweeps/fashion_cnn_lr.toml\n"
      "  kiln sweep spec.toml --trials 40 --parallel 2 --json\n"
      "  kiln sweep spec.toml --optuna-url http://127.0.0.1:8765   (tools/optuna_server.py; token: KILN_OPTUNA_TOKEN)");
  cmd->add_option("spec", args->spec, "sweep spec TOML (see docs/sweeps.md)")->required()->check(user_path());
  cmd->add_option("--trials", args->trials, "trials in the study when done (overrides [budget] n_trials)");
  cmd->add_option("--parallel", args->parallel, "trials at once (overrides [budget] parallel)");
  cmd->add_option("--dir", args->dir, "sweep directory (default sweeps/<name>)")->check(user_path());
  cmd->add_option("--study-file", args->study_file, "Optuna journal file (default DIR/study.journal)")
      ->check(user_path());
  cmd->add_option("--optuna-url", args->optuna_url,
                  "ask an Optuna server (tools/optuna_server.py) instead of the native sampler");
  cmd->add_flag("--json", args->json, "print the summary as one JSON object on the last stdout line");
  cmd->callback([&run, &g, args] { run = [args, &g] { return run_sweep(*args, g); }; });
}

}  // namespace kiln::cli
