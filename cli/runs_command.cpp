// `kiln runs [DIR] [--sort KEY] [--json]` and `kiln runs diff A B`: which runs are there,
// which was best, and what differed.
#include <iostream>

#include "commands.h"
#include "run/runs.h"

namespace kiln::cli {
namespace {

struct RunsArgs {
  std::string dir = "runs";
  std::string sort = "name";
  bool json = false;
  std::string a, b;  // diff
  int depth = 4;
};

int run_list(const RunsArgs& a) {
  std::vector<run::RunInfo> runs = run::list_runs(a.dir, a.depth);
  run::sort_runs(runs, a.sort);
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : runs) j.push_back(run::to_json(r));
    std::cout << j.dump() << std::endl;
  } else if (runs.empty()) {
    std::cerr << "no runs under " << a.dir << " (a run dir holds a manifest.json)\n";
  } else {
    std::cout << run::runs_table(runs);
  }
  return 0;
}

int run_diff(const RunsArgs& a) {
  const run::RunInfo x = run::read_run(a.a), y = run::read_run(a.b);
  const run::RunDiff d = run::diff_runs(x, y);
  if (a.json) {
    std::cout << run::to_json(d).dump() << std::endl;
  } else {
    std::cout << run::diff_text(x, y, d);
  }
  return 0;
}

}  // namespace

void add_runs_command(CLI::App& app, const Globals& g, Runner& run) {
  auto args = std::make_shared<RunsArgs>();
  CLI::App* cmd = app.add_subcommand("runs", "List the runs under a folder (status, steps, main metric), or diff two");
  cmd->footer(
      "Finds every run dir (a folder with manifest.json) under DIR, down to --depth levels (a\n"
      "sweep's trials are 3 below it), and prints name, task, status (finished, interrupted,\n"
      "failed, running), steps, the task's main metric, train time and the weights hash.\n"
      "Examples:\n"
      "  kiln runs                                  (the runs under ./runs)\n"
      "  kiln runs sweeps/fashion_cnn --sort test_accuracy\n"
      "  kiln runs diff runs/a runs/b               (config keys that differ, metrics side by side)");
  cmd->add_option("dir", args->dir, "folder to look in (default: runs)")->check(user_path());
  cmd->add_option("--sort", args->sort, "name (default), status, steps, time, or a metric (best first)");
  cmd->add_option("--depth", args->depth, "how many folder levels to look down (default 4)")->check(CLI::Range(0, 64));
  cmd->add_flag("--json", args->json, "print a JSON array instead of the table");
  CLI::App* diff = cmd->add_subcommand("diff", "The config keys and metrics in which two runs differ");
  diff->add_option("a", args->a, "run dir A")->required()->check(user_path());
  diff->add_option("b", args->b, "run dir B")->required()->check(user_path());
  diff->add_flag("--json", args->json, "print {config: [...], metrics: [...]} as JSON");
  cmd->callback([&run, &g, args, diff] {
    const bool is_diff = diff->parsed();
    run = [args, is_diff] { return is_diff ? run_diff(*args) : run_list(*args); };
  });
}

}  // namespace kiln::cli
