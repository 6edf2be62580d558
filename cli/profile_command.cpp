// `kiln profile [CONFIG.toml] [--set ...] [--warmup N] [--steps N] [--out DIR] [--json]
//               [--torch-trace] [--nvtx-ops] [--nsys[=run]]`

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "commands.h"
#include "config/load.h"
#include "dist/world.h"
#include "profile/run.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/log.h"

namespace kiln::cli {
namespace {

struct ProfileArgs {
  std::string config;
  std::vector<std::string> sets;
  int64_t warmup = 10, steps = 50;
  std::string out;
  std::string nsys;  // "", "print" or "run"
  bool json = false, torch_trace = false, nvtx_ops = false;
};

// The nsys command that captures only the window: kiln brackets it with
// cudaProfilerStart/Stop, and --capture-range=cudaProfilerApi makes nsys record just that.
std::vector<std::string> nsys_command(const std::vector<std::string>& argv, const std::string& out) {
  std::vector<std::string> cmd = {"nsys",
                                  "profile",
                                  "--capture-range=cudaProfilerApi",
                                  "--capture-range-end=stop",
                                  "--trace=cuda,nvtx,osrt,cudnn,cublas",
                                  "--force-overwrite=true",
                                  "--output=" + out + "/kiln"};
  cmd.push_back(self_exe(argv));
  for (size_t i = 1; i < argv.size(); ++i) {
    if (argv[i].rfind("--nsys", 0) == 0) continue;
    cmd.push_back(argv[i]);
  }
  return cmd;
}

std::string quoted(const std::vector<std::string>& cmd) {
  std::string s;
  for (const auto& a : cmd) {
    const bool plain = a.find_first_of(" \t'\"$\\;&|<>()*?") == std::string::npos && !a.empty();
    s += (s.empty() ? "" : " ") + (plain ? a : "'" + a + "'");
  }
  return s;
}

bool on_path(const std::string& prog) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "";
  size_t start = 0;
  while (start <= p.size()) {
    const size_t end = p.find(':', start);
    const std::string dir = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty() && access((dir + "/" + prog).c_str(), X_OK) == 0) return true;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return false;
}

int run_nsys(const std::vector<std::string>& cmd) {
  if (!on_path("nsys")) {
    throw Error::usage("--nsys=run needs Nsight Systems' `nsys` on PATH",
                       "install Nsight Systems, or use --nsys to print the command");
  }
  std::vector<char*> args;
  for (const auto& a : cmd) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    execvp("nsys", args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int run_profile(const ProfileArgs& a, const Globals& g, const std::vector<std::string>& argv) {
  std::optional<std::filesystem::path> path;
  if (!a.config.empty()) path = a.config;
  const config::RunConfig cfg = config::load(path, a.sets);
  profile::ProfileOptions o;
  o.warmup = a.warmup;
  o.steps = a.steps;
  o.out_dir = a.out.empty() ? train::timestamped_path("profiles", cfg.train.name) : std::filesystem::path(a.out);
  o.torch_trace = a.torch_trace;
  o.nvtx_ops = a.nvtx_ops;
  o.command_line = g.command_line;
  o.world = dist::from_env();  // under torchrun / kiln launch: rank 0 profiles, the others train
  o.console = !g.quiet && o.world.rank == 0;
  if (o.world.rank != 0 && !g.quiet) log::set_level(log::Level::kWarn);
  profile::check_options(o);
  if (!a.nsys.empty()) {
    // Under nsys, the child writes its outputs to the same --out.
    std::vector<std::string> child = argv;
    if (a.out.empty()) child.push_back("--out=" + o.out_dir.string());
    const auto cmd = nsys_command(child, o.out_dir.string());
    std::fprintf(stderr, "nsys command (captures only the %lld measured steps):\n  %s\n", (long long)a.steps,
                 quoted(cmd).c_str());
    if (a.nsys != "run") return 0;
    std::filesystem::create_directories(o.out_dir);
    return run_nsys(cmd);
  }
  o.stop = install_stop_handlers();
  const nlohmann::json summary = profile::run(cfg, o);
  if (a.json && o.world.rank == 0) std::cout << summary.dump() << std::endl;
  return 0;
}

}  // namespace

void add_profile_command(CLI::App& app, const Globals& g, Runner& run) {
  auto args = std::make_shared<ProfileArgs>();
  CLI::App* cmd =
      app.add_subcommand("profile", "Profile the training step per phase, with GPU telemetry and a verdict");
  cmd->footer(
      "Runs the training step of CONFIG (the same code as `kiln train`) for --warmup steps, then\n"
      "measures --steps steps: per-phase mean/p50/p95 and share of the step (CUDA events on a GPU,\n"
      "host clock on the CPU), samples/s, peak memory, NVML telemetry, and a verdict (data-,\n"
      "launch- or compute-bound). Writes profile.json and trace.json (open in ui.perfetto.dev or\n"
      "chrome://tracing) to --out (default profiles/<train.name>-<timestamp>).\n"
      "Examples:\n"
      "  kiln profile configs/fashion_cnn.toml --steps 100\n"
      "  kiln profile --set loader.batch_size=1024 --json\n"
      "  kiln profile configs/fashion_cnn.toml --torch-trace          (LibTorch's Kineto trace too)\n"
      "  kiln profile configs/fashion_cnn.toml --nsys                 (print the nsys command)");
  cmd->add_option("config", args->config, "TOML config file (omit for the built-in defaults)")->check(user_path());
  cmd->add_option("-s,--set", args->sets, "override a key: section.key=value (repeatable)")->take_all();
  cmd->add_option("--warmup", args->warmup, "steps to run before measuring")->capture_default_str();
  cmd->add_option("--steps", args->steps, "steps to measure")->capture_default_str();
  cmd->add_option("--out", args->out, "output directory (default profiles/<train.name>-<timestamp>)")
      ->check(user_path());
  cmd->add_flag("--torch-trace", args->torch_trace,
                "also write LibTorch's Kineto trace (ops, CUDA kernels) to torch_trace.json");
  cmd->add_flag("--nvtx-ops", args->nvtx_ops,
                "one NVTX range per LibTorch operator (like PyTorch's emit_nvtx), for nsys; not with --torch-trace");
  cmd->add_option("--nsys", args->nsys, "print the nsys command capturing only the window; --nsys=run executes it")
      ->expected(0, 1)
      ->default_str("print")
      ->check(CLI::IsMember({"print", "run"}));
  cmd->add_flag("--json", args->json, "print the summary as one JSON object on the last stdout line");
  cmd->callback([&run, &g, args, cmd] {
    if (cmd->count("--nsys") && args->nsys.empty()) args->nsys = "print";
    run = [args, &g] { return run_profile(*args, g, g.argv); };
  });
}

}  // namespace kiln::cli
