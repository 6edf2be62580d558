// `kiln train [CONFIG.toml] [--set KEY=VALUE]... [--run-dir DIR] [--json] [--print-config]`

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "config/load.h"
#include "config/model_table.h"
#include "dist/world.h"
#include "metrics/prometheus.h"
#include "profile/telemetry.h"
#include "profile/window.h"
#include "run/run_dir.h"
#include "task/task.h"
#include "train/resume.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/log.h"
#include "util/text.h"

namespace kiln::cli {
namespace {

struct TrainArgs {
  std::string config;
  std::vector<std::string> sets;
  std::string run_dir;
  std::string resume;
  bool json = false;
  bool print_config = false;
  bool allow_config_change = false;
  int64_t seed = -1;
  std::string profile_steps;           // "A:B"
  std::string hparams, hparams_group;  // set by kiln sweep for its trials
  int metrics_port = -1;               // >= 0: serve live metrics (0 = any free port)
  std::string metrics_host = "127.0.0.1";
  double dist_timeout_s = 300;  // a data-parallel job: rendezvous and collectives
};

// --metrics-port: the live metrics sink, with NVML's power and utilisation on a GPU
// (sampled once a second, newest value only).
std::shared_ptr<metrics::Sink> metrics_server(const TrainArgs& a, const std::string& device) {
  int cuda = -1;
  if (device.rfind("cuda", 0) == 0) cuda = device.size() > 5 ? std::stoi(device.substr(5)) : 0;
  auto telemetry = std::make_shared<profile::Telemetry>(cuda, 1.0, false);
  metrics::MetricsServerOptions o;
  o.host = a.metrics_host;
  o.port = a.metrics_port;
  o.extra = [telemetry] {
    std::vector<metrics::Gauge> g;
    if (const auto s = telemetry->latest()) {
      if (s->power_w >= 0) g.push_back({"gpu_power_watts", "GPU board power draw (NVML).", s->power_w});
      // Base units, as Prometheus' conventions (and promtool) want: a ratio and bytes.
      if (s->gpu_util_pct >= 0) {
        g.push_back(
            {"gpu_utilization_ratio", "Share of time a kernel ran on the GPU (NVML), 0-1.", s->gpu_util_pct / 100});
      }
      if (s->mem_used_mib >= 0) {
        g.push_back({"gpu_memory_used_bytes", "GPU memory in use (NVML).", s->mem_used_mib * 1024 * 1024});
      }
    }
    return g;
  };
  return std::make_shared<metrics::PrometheusSink>(o);
}

// "A:B" -> steps A..B (1-based, inclusive).
std::pair<int64_t, int64_t> parse_step_range(const std::string& s) {
  const auto colon = s.find(':');
  int64_t a = 0, b = 0;
  size_t used_a = 0, used_b = 0;
  try {
    if (colon != std::string::npos) {
      a = std::stoll(s.substr(0, colon), &used_a);
      b = std::stoll(s.substr(colon + 1), &used_b);
    }
  } catch (const std::exception&) {
    used_a = 0;
  }
  if (colon == std::string::npos || used_a != colon || used_b != s.size() - colon - 1 || a < 1 || b < a) {
    throw Error::usage("--profile-steps '" + s + "' is not a step range A:B with 1 <= A <= B",
                       "e.g. --profile-steps 100:150");
  }
  return {a, b};
}

// The summary on stderr; the task's metrics (test_loss -> "test loss") in its order.
void print_summary(const nlohmann::json& s, const task::Task& task) {
  std::fprintf(stderr, "\n  run dir          %s\n  epochs           %lld\n  steps            %lld\n",
               s["run_dir"].get<std::string>().c_str(), s["epochs"].get<long long>(), s["steps"].get<long long>());
  for (const auto& m : task.metrics()) {
    std::string label = task::metric_key("test", m);
    std::replace(label.begin(), label.end(), '_', ' ');
    std::fprintf(stderr, "  %-16s %.4f\n", label.c_str(), s[task::metric_key("test", m)].get<double>());
  }
  if (s.contains("tokens_per_s")) {
    std::fprintf(stderr, "  tokens/s         %.0f\n", s["tokens_per_s"].get<double>());
  } else {
    std::fprintf(stderr, "  samples/s        %.0f\n", s["samples_per_s"].get<double>());
  }
  std::fprintf(stderr, "  train time       %s\n  weights sha256   %s\n",
               util::format_duration(s["train_seconds"].get<double>()).c_str(),
               s["weights_sha256"].get<std::string>().c_str());
}

int run_train(const TrainArgs& a, const Globals& g) {
  std::vector<std::string> sets = a.sets;
  if (a.seed >= 0) sets.push_back("repro.seed=" + std::to_string(a.seed));
  std::optional<std::filesystem::path> path;
  if (!a.config.empty()) path = a.config;
  if (!a.resume.empty() && a.resume != "auto" && !std::filesystem::exists(a.resume)) {
    throw Error::usage("checkpoint " + a.resume + " does not exist",
                       "--resume takes auto (with --run-dir) or a path like RUN_DIR/checkpoints/step-N.pt");
  }
  if (!a.resume.empty() && !path) {
    // Resuming without a config: the run's own config.toml (plus any --set).
    const std::filesystem::path dir =
        a.resume == "auto" ? std::filesystem::path(a.run_dir) : train::run_dir_of(a.resume);
    // --resume auto on a run dir with nothing in it yet starts the run (Session): the defaults.
    const bool nothing_yet =
        a.resume == "auto" && !dir.empty() && (!std::filesystem::exists(dir) || std::filesystem::is_empty(dir));
    if (!dir.empty() && !nothing_yet) {
      path = run::RunDir{dir}.config();
      if (!std::filesystem::exists(*path)) {
        throw Error::usage(dir.string() + " is not a kiln run dir (no config.toml in it)",
                           "give the --run-dir of a run to continue; --resume auto starts a run only in an "
                           "absent or empty dir");
      }
    }
  }
  std::optional<std::pair<int64_t, int64_t>> window_steps;
  if (!a.profile_steps.empty()) window_steps = parse_step_range(a.profile_steps);
  config::Origins origins;
  const config::RunConfig cfg = config::load(path, sets, &origins);
  // Other models' knobs are accepted (a sweep over model.name sets them all) but unused.
  for (const auto& key : config::ignored_keys(cfg, origins)) {
    log::warn("'" + key + "' at " + origins.at(key) + " is not used: model.name is '" + cfg.model.name + "'");
  }
  if (a.print_config) {
    std::cout << config::to_toml(cfg);
    return 0;
  }
  train::TrainOptions opts;
  // Under torchrun / srun / kiln launch: one rank of a data-parallel job. Rank 0 talks (log,
  // progress, summary, --json) and owns the run dir; the others only train.
  opts.world = dist::from_env();
  opts.dist_timeout_s = a.dist_timeout_s;
  const bool speaker = opts.world.rank == 0;
  if (!speaker && !g.quiet) log::set_level(log::Level::kWarn);
  opts.run_dir = a.run_dir;
  opts.resume = a.resume;
  opts.allow_config_change = a.allow_config_change;
  opts.command_line = g.command_line;
  opts.stop = install_stop_handlers();
  opts.console = !g.quiet && speaker;
  if (!a.hparams.empty()) {
    const auto j = nlohmann::json::parse(a.hparams, nullptr, false);
    if (!j.is_object()) {
      throw Error::usage("--hparams '" + a.hparams + "' is not a JSON object",
                         R"(e.g. --hparams '{"optim.lr": 0.01}')");
    }
    opts.hparams_json = j.dump();
    opts.hparams_group = a.hparams_group;
  }
  if (a.metrics_port >= 0 && speaker) opts.sinks.push_back(metrics_server(a, train::resolve_device(cfg.train.device)));
  std::unique_ptr<profile::Window> window;
  if (window_steps && speaker) {  // rank 0 profiles (into its run dir); the others only train
    window = std::make_unique<profile::Window>(profile::WindowOptions{window_steps->first,
                                                                      window_steps->second,
                                                                      {},
                                                                      train::resolve_device(cfg.train.device),
                                                                      false,
                                                                      false,
                                                                      cfg.train.precision,
                                                                      cfg.model.channels_last});
    opts.hook = window.get();
  }
  log::info("training " + cfg.model.name + " on " + cfg.data.dataset + " (" + std::to_string(cfg.train.epochs) +
            " epochs, batch " + std::to_string(cfg.loader.batch_size) +
            (opts.world.distributed() ? " per rank, " + dist::describe(opts.world) : std::string()) + ")");
  const nlohmann::json summary = train::run(cfg, opts);
  if (!speaker) return 0;
  if (!g.quiet) print_summary(summary, *task::build(cfg));
  if (a.json) std::cout << summary.dump() << std::endl;
  return 0;
}

}  // namespace

void add_train_command(CLI::App& app, const Globals& g, Runner& run) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a model from a TOML config (defaults: an MLP on Fashion-MNIST)");
  cmd->footer(
      "Config keys are set in TOML sections ([optim] lr = 3e-4) or with --set optim.lr=3e-4.\n"
      "Each model's own knobs are in [model.<name>] ([model.mlp] hidden = [512, 256]).\n"
      "`kiln train --print-config` prints every key with its default and meaning (for another\n"
      "model's knobs: --set model.name=cnn --print-config).\n"
      "Output: runs/<train.name>-<timestamp>/ with config.toml, manifest.json, metrics.jsonl,\n"
      "checkpoints/, tb/ (TensorBoard: tensorboard --logdir runs) and summary.json. Exit codes: 0 done, 1 runtime "
      "failure, 2 bad usage, config\n"
      "or data (nothing written), 4 diverged (nan/inf loss, train.on_nonfinite = stop), 130/143\n"
      "interrupted by SIGINT/SIGTERM after a checkpoint.\n"
      "Examples:\n"
      "  kiln train\n"
      "  kiln train configs/fashion_cnn.toml --set optim.lr=3e-3 --json\n"
      "  kiln train --set model.name=resnet --set train.epochs=2 --run-dir runs/try1\n"
      "  kiln train --resume auto --run-dir runs/try1     (after Ctrl-C, SIGTERM or a crash)\n"
      "  kiln train configs/fashion_cnn.toml --profile-steps 100:150");
  cmd->add_option("config", args->config, "TOML config file (omit for the built-in defaults)")->check(user_path());
  cmd->add_option("-s,--set", args->sets, "override a key: section.key=value (repeatable)")->take_all();
  cmd->add_option("--run-dir", args->run_dir, "write the run here (must be empty or absent)")->check(user_path());
  cmd->add_option("--resume", args->resume,
                  "continue a run: auto (newest complete checkpoint of --run-dir) or a checkpoint path")
      ->check(user_path());
  cmd->add_flag("--allow-config-change", args->allow_config_change,
                "resume even when the config differs in keys that change the computation");
  cmd->add_option("--seed", args->seed, "shorthand for --set repro.seed=N")->check(CLI::NonNegativeNumber);
  cmd->add_option("--profile-steps", args->profile_steps,
                  "record kiln profile's per-phase table for steps A:B into RUN_DIR/profile/");
  cmd->add_flag("--json", args->json, "print the summary as one JSON object on the last stdout line");
  cmd->add_flag("--print-config", args->print_config, "print the effective config as TOML and exit");
  cmd->add_option("--metrics-port", args->metrics_port,
                  "serve live metrics in Prometheus' text format at http://HOST:PORT/metrics (0 = any free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--metrics-host", args->metrics_host, "address for --metrics-port (default 127.0.0.1)");
  cmd->add_option("--dist-timeout", args->dist_timeout_s,
                  "data-parallel job (torchrun, srun, kiln launch): seconds to wait for the other ranks at the "
                  "start and in every collective (default 300)")
      ->check(CLI::Range(0.001, 604800.0));
  // kiln sweep passes a trial's params so TensorBoard's HParams view can compare trials.
  cmd->add_option("--hparams", args->hparams, "hyperparameters as a JSON object, for TensorBoard's HParams view")
      ->group("");
  cmd->add_option("--hparams-group", args->hparams_group, "the trial's name for TensorBoard's HParams view")->group("");
  cmd->callback([&run, &g, args] { run = [args, &g] { return run_train(*args, g); }; });
}

}  // namespace kiln::cli
