// `kiln bench loader [CONFIG.toml] [--set KEY=VALUE]... [--epochs N] [--json]`
// `kiln bench sampler [--trials N] [--sampler tpe|random] [--seed N]`
// `kiln bench scopes [--calls N] [--device auto|cpu|cuda[:N]]`
// `kiln bench optim [CONFIG.toml] [--set KEY=VALUE]... [--steps N] [--repeats N]`
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "config/load.h"
#include "data/loader_bench.h"
#include "instrument/device_timer.h"
#include "instrument/scope_bench.h"
#include "sweep/sampler_bench.h"
#include "train/optim_bench.h"
#include "train/trainer.h"
#include "util/error.h"

namespace kiln::cli {
namespace {

struct BenchArgs {
  std::string config;
  std::vector<std::string> sets;
  int64_t epochs = 3;
  bool json = false;
};

int run_loader_bench(const BenchArgs& a, const Globals& g) {
  // Without a config, the standard measurement: batch 256, random crop (pad 2) + horizontal
  // flip + normalisation, all cores. --set overrides still apply on top.
  std::vector<std::string> sets;
  if (a.config.empty()) sets = {"loader.batch_size=256", "augment.crop_padding=2", "augment.hflip=true"};
  sets.insert(sets.end(), a.sets.begin(), a.sets.end());
  std::optional<std::filesystem::path> path;
  if (!a.config.empty()) path = a.config;
  const config::RunConfig cfg = config::load(path, sets);
  data::LoaderBenchOptions o;
  o.epochs = a.epochs;
  o.progress = !g.quiet;
  const nlohmann::json j = data::bench_loader(cfg, train::resolve_device(cfg.train.device), o);
  if (a.json) {
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << j.dump(2) << std::endl;
  }
  return 0;
}

struct SamplerBenchArgs {
  int trials = 1000;
  std::string sampler = "tpe";
  uint64_t seed = 0;
};

int run_sampler_bench(const SamplerBenchArgs& a) {
  const nlohmann::json j = sweep::bench_sampler(a.trials, {100, 1000}, a.sampler, a.seed);
  std::cout << j.dump() << std::endl;
  return 0;
}

struct ScopesBenchArgs {
  int64_t calls = 1000000;
  std::string device = "auto";
};

int run_scopes_bench(const ScopesBenchArgs& a) {
  if (a.device.rfind("cuda", 0) == 0 && !torch::cuda::is_available()) {
    throw Error::usage("--device " + a.device + " but no CUDA device is available", "use --device cpu (or auto)");
  }
  const std::string device = train::resolve_device(a.device);  // "cpu" or "cuda:N"
  std::cout << instrument::bench_scopes(a.calls, instrument::cuda_index(device)).dump() << std::endl;
  return 0;
}

struct OptimBenchArgs {
  std::string config;
  std::vector<std::string> sets;
  int64_t steps = 200;
  int64_t repeats = 7;
};

int run_optim_bench(const OptimBenchArgs& a, const Globals& g) {
  std::optional<std::filesystem::path> path;
  if (!a.config.empty()) path = a.config;
  const config::RunConfig cfg = config::load(path, a.sets);
  train::OptimBenchOptions o;
  o.steps = a.steps;
  o.repeats = a.repeats;
  o.progress = !g.quiet;
  std::cout << train::bench_optimizer(cfg, train::resolve_device(cfg.train.device), o).dump() << std::endl;
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, const Globals& g, Runner& run) {
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks (loader, sampler, scopes, optim)");
  bench->require_subcommand(1);
  auto args = std::make_shared<BenchArgs>();
  CLI::App* loader = bench->add_subcommand("loader", "Loader throughput: samples/s and MB/s of finished batches");
  loader->footer(
      "Without CONFIG: the Fashion-MNIST train split, batch 256, random crop (pad 2) + horizontal flip +\n"
      "normalise, all cores. Also measures augmentation off, a plain memcpy of the same output bytes\n"
      "(the ceiling) and, on CUDA, H2D GB/s against a plain pinned copy. bench/loader_vs_pytorch.sh\n"
      "runs it beside PyTorch's DataLoader on the same files.");
  loader->add_option("config", args->config, "TOML config file (omit for the standard measurement)")
      ->check(user_path());
  loader->add_option("-s,--set", args->sets, "override a key: section.key=value (repeatable)")->take_all();
  loader->add_option("--epochs", args->epochs, "measured epochs per variant (after one warm-up)")
      ->check(CLI::Range(1, 1000));
  loader->add_flag("--json", args->json, "print the figures as one JSON object on the last stdout line");
  loader->callback([&run, &g, args] { run = [args, &g] { return run_loader_bench(*args, g); }; });

  auto sargs = std::make_shared<SamplerBenchArgs>();
  CLI::App* sampler = bench->add_subcommand("sampler", "Sweep overhead per trial: ask + tell through the study file");
  sampler->footer(
      "A synthetic 4-parameter objective (no training): mean ask + tell ms over the 10 trials before\n"
      "trial 100 and trial 1000. bench/sampler_vs_optuna.sh runs Optuna's TPE beside it.");
  sampler->add_option("--trials", sargs->trials, "trials to run")->check(CLI::Range(10, 100000))->capture_default_str();
  sampler->add_option("--sampler", sargs->sampler, "tpe or random")
      ->check(CLI::IsMember({"tpe", "random"}))
      ->capture_default_str();
  sampler->add_option("--seed", sargs->seed, "sampler seed");
  sampler->callback([&run, sargs] { run = [sargs] { return run_sampler_bench(*sargs); }; });

  auto pargs = std::make_shared<ScopesBenchArgs>();
  CLI::App* scopes =
      bench->add_subcommand("scopes", "Instrumentation cost: ns per KILN_SCOPE in and out of a profiling window");
  scopes->footer(
      "One JSON line: off_ns (a scope as every `kiln train` runs it: NVTX calls, no tool attached) and\n"
      "window_ns (inside a profiling window: host clock and span; on CUDA also two CUDA events).\n"
      "bench/profile_overhead.sh turns them into a share of the step time.");
  scopes->add_option("--calls", pargs->calls, "scopes timed per variant")
      ->check(CLI::Range(int64_t(1000), int64_t(100000000)))
      ->capture_default_str();
  scopes->add_option("--device", pargs->device, "auto, cpu, cuda or cuda:N")
      ->check(CLI::Validator(
          [](const std::string& d) {
            const bool ok = d == "auto" || d == "cpu" || d == "cuda" ||
                            (d.rfind("cuda:", 0) == 0 && d.size() > 5 && d.size() < 9 &&
                             d.find_first_not_of("0123456789", 5) == std::string::npos);
            return ok ? std::string() : "expected auto, cpu, cuda or cuda:N, got '" + d + "'";
          },
          "DEVICE"))
      ->capture_default_str();
  scopes->callback([&run, pargs] { run = [pargs] { return run_scopes_bench(*pargs); }; });

  auto oargs = std::make_shared<OptimBenchArgs>();
  CLI::App* optim = bench->add_subcommand("optim", "Optimizer step alone: ms per step, LibTorch's vs fused");
  optim->footer(
      "AdamW and SGD with CONFIG's [optim] settings on CONFIG's model (kiln's defaults without one),\n"
      "fixed random gradients, on train.device with train.threads: set_lr + step as the trainer calls\n"
      "them, optim.fused = false against true. One JSON line: medians over --repeats, interleaved.");
  optim->add_option("config", oargs->config, "TOML config file (omit for kiln's defaults)")->check(user_path());
  optim->add_option("-s,--set", oargs->sets, "override a key: section.key=value (repeatable)")->take_all();
  optim->add_option("--steps", oargs->steps, "timed steps per measurement")
      ->check(CLI::Range(int64_t(1), int64_t(1000000)))
      ->capture_default_str();
  optim->add_option("--repeats", oargs->repeats, "measurements per variant")
      ->check(CLI::Range(int64_t(1), int64_t(1000)))
      ->capture_default_str();
  optim->callback([&run, &g, oargs] { run = [oargs, &g] { return run_optim_bench(*oargs, g); }; });
}

}  // namespace kiln::cli
