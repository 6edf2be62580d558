// `kiln report RUN_DIR|SWEEP_DIR [-o report.html] [--json]`: one self-contained HTML page
// (plots drawn by inline SVG, no network) of a run or a sweep; prints the path written.
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "report/report.h"

namespace kiln::cli {
namespace {

struct ReportArgs {
  std::string dir;
  std::string output;
  bool json = false;
};

int run_report(const ReportArgs& a) {
  const std::filesystem::path out = report::write_report({a.dir, a.output});
  if (a.json) {
    std::cout << nlohmann::json({{"report", out.string()}}).dump() << std::endl;
  } else {
    std::cout << out.string() << std::endl;
  }
  return 0;
}

}  // namespace

void add_report_command(CLI::App& app, const Globals& /*g*/, Runner& run) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand("report", "Write one self-contained HTML report of a run dir or a sweep dir");
  cmd->footer(
      "A run dir (`kiln train`): loss, learning rate and data wait per step, evaluation metrics,\n"
      "throughput over time, the profiling window's phase table and timeline (when the run\n"
      "was profiled with --profile-steps), config.toml, the environment and summary.json.\n"
      "A sweep dir (`kiln sweep`): the objective per trial with the best so far, each param\n"
      "against the objective, parallel coordinates and the leaderboard, from study.journal.\n"
      "The page needs no network: open it from disk in any browser. It is written atomically\n"
      "to -o (default: DIR/report.html) and its path is printed. Exit 2 for a dir that is\n"
      "neither, a garbled metrics.jsonl or study file, or an output that cannot be written.");
  cmd->add_option("dir", args->dir, "a run dir (runs/NAME-...) or a sweep dir (sweeps/NAME)")
      ->required()
      ->check(user_path());
  cmd->add_option("-o,--output", args->output, "the HTML file to write (default: DIR/report.html)")->check(user_path());
  cmd->add_flag("--json", args->json, "print {\"report\": PATH} as one JSON line instead of the path");
  cmd->callback([&run, args] { run = [args] { return run_report(*args); }; });
}

}  // namespace kiln::cli
