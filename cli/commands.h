// Each subcommand lives in its own cli/<name>_command.cpp and registers itself here: it adds
// its CLI11 subcommand and sets `run`, which main() calls after a successful parse.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace kiln::cli {

struct Globals {
  bool quiet = false;
  bool verbose = false;
  std::string command_line;       // the whole argv, for manifests
  std::vector<std::string> argv;  // the same, one element per argument
};

using Runner = std::function<int()>;

void add_train_command(CLI::App& app, const Globals& g, Runner& run);
void add_version_command(CLI::App& app, const Globals& g, Runner& run);
void add_bench_command(CLI::App& app, const Globals& g, Runner& run);
void add_verify_command(CLI::App& app, const Globals& g, Runner& run);
void add_profile_command(CLI::App& app, const Globals& g, Runner& run);
void add_sweep_command(CLI::App& app, const Globals& g, Runner& run);
void add_data_command(CLI::App& app, const Globals& g, Runner& run);
void add_generate_command(CLI::App& app, const Globals& g, Runner& run);
void add_runs_command(CLI::App& app, const Globals& g, Runner& run);
void add_report_command(CLI::App& app, const Globals& g, Runner& run);
void add_export_command(CLI::App& app, const Globals& g, Runner& run);
void add_predict_command(CLI::App& app, const Globals& g, Runner& run);
void add_launch_command(CLI::App& app, const Globals& g, Runner& run);

// Checks a path option the user typed (util::check_user_path): an over-long path is bad
// usage (exit 2, naming the option), not a filesystem_error at its first use (exit 1).
CLI::Validator user_path();

// This binary's path (/proc/self/exe), else argv[0]: what child `kiln` processes run.
std::string self_exe(const std::vector<std::string>& argv);

// SIGINT/SIGTERM: the first sets the returned flag to the signal number (training stops
// after the current step and checkpoints); a second one exits at once.
const std::atomic<int>* install_stop_handlers();

}  // namespace kiln::cli
