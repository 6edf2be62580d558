// `kiln verify RUN_DIR [--steps N] [--json]`: exit 0 when the replay matches, 3 when not.
// `kiln verify --selftest [CONFIG.toml ...]`: fresh runs of each config compared bit for bit.
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "dist/world.h"
#include "util/error.h"
#include "util/log.h"
#include "util/toml_parse.h"
#include "verify/selftest.h"
#include "verify/verify.h"

namespace kiln::cli {
namespace {

struct VerifyArgs {
  std::vector<std::string> paths;  // RUN_DIR, or with --selftest the configs to check
  int64_t steps = 0;
  bool json = false;
  bool selftest = false;
  int processes = 4;
  std::vector<std::string> sets;
  double dist_timeout_s = 300;
};

int run_selftest(const VerifyArgs& a, const Globals& g) {
  verify::SelftestOptions o;
  o.processes = a.processes;
  o.steps = a.steps;
  o.sets = a.sets;
  o.progress = !g.quiet;
  for (const auto& p : a.paths) {
    if (!std::filesystem::is_regular_file(p)) throw Error::usage("config file not found: " + p);
    o.configs.push_back({p, util::read_toml_file(p, "config file"), 30});
  }
  const nlohmann::json j = verify::selftest(o);
  if (!g.quiet) {
    for (const auto& c : j["configs"]) {
      std::fprintf(stderr, "selftest %-12s %s  (%zu fresh processes, %lld steps)\n",
                   c["name"].get<std::string>().c_str(), c["match"].get<bool>() ? "MATCH" : "MISMATCH",
                   c["runs"].size(), c["steps"].get<long long>());
      if (!c["first_divergent_step"].is_null()) {
        std::fprintf(stderr, "  first divergent step %lld: losses %s\n", c["first_divergent_step"].get<long long>(),
                     c["losses_at_divergence"].dump().c_str());
      }
    }
    if (!j["match"].get<bool>()) {
      std::fprintf(stderr,
                   "  same seed, different results on this machine: see docs/reproducibility.md (MKL_CBWR, "
                   "OMP_DYNAMIC, repro.deterministic)\n");
    }
  }
  if (a.json) std::cout << j.dump() << std::endl;
  return j["match"].get<bool>() ? 0 : static_cast<int>(ExitCode::kMismatch);
}

int run_verify(const VerifyArgs& a, const Globals& g) {
  if (a.selftest) return run_selftest(a, g);
  if (a.paths.size() != 1) throw Error::usage("kiln verify takes one RUN_DIR", "or --selftest [CONFIG.toml ...]");
  if (!a.sets.empty() || a.processes != 4) throw Error::usage("--set and --processes go with --selftest");
  const std::string& run_dir = a.paths[0];
  verify::VerifyOptions o;
  o.steps = a.steps;
  o.progress = g.verbose;
  o.world = dist::from_env();  // under kiln launch / torchrun / srun: one rank of the replaying job
  o.dist_timeout_s = a.dist_timeout_s;
  if (o.world.rank != 0 && !g.quiet) log::set_level(log::Level::kWarn);
  const nlohmann::json j = verify::verify_run(run_dir, o);
  if (o.world.rank != 0) return 0;  // rank 0 compares and reports
  const bool match = j["match"].get<bool>();
  if (!g.quiet) {
    std::fprintf(stderr, "kiln verify %s: %s\n  steps compared  %lld of %lld recorded\n", run_dir.c_str(),
                 match ? "MATCH" : "MISMATCH", j["steps_compared"].get<long long>(),
                 j["steps_recorded"].get<long long>());
    if (!j["first_divergent_step"].is_null()) {
      std::fprintf(stderr, "  first divergent step %lld: recorded loss %.17g, replayed %.17g\n",
                   j["first_divergent_step"].get<long long>(), j["recorded_loss"].get<double>(),
                   j["replayed_loss"].get<double>());
    }
    if (!j["weights_match"].is_null()) {
      std::fprintf(stderr, "  weights sha256  %s (recorded %s, replayed %s)\n",
                   j["weights_match"].get<bool>() ? "match" : "DIFFER",
                   j["recorded_weights_sha256"].get<std::string>().c_str(),
                   j["replayed_weights_sha256"].get<std::string>().c_str());
    }
    for (const auto& [k, v] : j["environment_diff"].items()) {
      std::fprintf(stderr, "  environment differs: %s was %s, now %s\n", k.c_str(), v["recorded"].dump().c_str(),
                   v["now"].dump().c_str());
    }
  }
  if (a.json) std::cout << j.dump() << std::endl;
  return match ? 0 : static_cast<int>(ExitCode::kMismatch);
}

}  // namespace

void add_verify_command(CLI::App& app, const Globals& g, Runner& run) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* cmd = app.add_subcommand("verify", "Re-run a recorded run from its config and seed and compare");
  cmd->footer(
      "Replays RUN_DIR's config.toml (same seed) in a temporary directory and compares every\n"
      "step's training loss with RUN_DIR/metrics.jsonl, then the final weights SHA-256 with\n"
      "summary.json. Exit codes: 0 match, 3 mismatch (the first divergent step is printed), 2 bad\n"
      "input. Environment differences (versions, device, host) are listed either way. A run of a\n"
      "data-parallel job replays as a job of its size: kiln launch --nproc-per-node N verify RUN_DIR.\n"
      "\n"
      "kiln verify --selftest [CONFIG.toml ...] checks this machine instead: --processes fresh\n"
      "`kiln train` runs of each config (the shipped configs/ by default: default for 120 steps,\n"
      "the others for 30; --steps N for all), loader.threads varied between them, compared bit\n"
      "for bit (weights SHA-256 and every step's loss). Exit 0 when all agree, 3 when not.");
  cmd->add_option("run_dir", args->paths, "a run directory written by `kiln train` (with --selftest: configs)")
      ->check(user_path());
  cmd->add_option("--steps", args->steps,
                  "compare only the first N steps (faster; no weights check); --selftest: steps per run")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000}));
  cmd->add_flag("--selftest", args->selftest, "check same seed -> same weights on this machine (fresh processes)");
  cmd->add_option("--processes", args->processes, "--selftest: fresh processes per config (default 4)")
      ->check(CLI::Range(2, 64));
  cmd->add_option("-s,--set", args->sets, "--selftest: override a key in every run (repeatable)")->take_all();
  cmd->add_flag("--json", args->json, "print the result as one JSON object on the last stdout line");
  cmd->add_option("--dist-timeout", args->dist_timeout_s,
                  "replaying a data-parallel run (kiln launch, torchrun, srun): seconds to wait for the other "
                  "ranks (default 300)")
      ->check(CLI::Range(0.001, 604800.0));
  cmd->callback([&run, &g, args] { run = [args, &g] { return run_verify(*args, g); }; });
}

}  // namespace kiln::cli
