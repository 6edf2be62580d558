// `kiln verify RUN_DIR [--steps N] [--json]`: exit 0 when the replay matches, 3 when not.
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "repro/verify.h"
#include "util/error.h"

namespace kiln::cli {
namespace {

struct VerifyArgs {
  std::string run_dir;
  int64_t steps = 0;
  bool json = false;
};

int run_verify(const VerifyArgs& a, const Globals& g) {
  repro::VerifyOptions o;
  o.steps = a.steps;
  o.progress = g.verbose;
  const nlohmann::json j = repro::verify_run(a.run_dir, o);
  const bool match = j["match"].get<bool>();
  if (!g.quiet) {
    std::fprintf(stderr, "kiln verify %s: %s\n  steps compared  %lld of %lld recorded\n", a.run_dir.c_str(),
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
      "input. Environment differences (versions, device, host) are listed either way.");
  cmd->add_option("run_dir", args->run_dir, "a run directory written by `kiln train`")->required()->check(user_path());
  cmd->add_option("--steps", args->steps, "compare only the first N steps (faster; no weights check)")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000}));
  cmd->add_flag("--json", args->json, "print the result as one JSON object on the last stdout line");
  cmd->callback([&run, &g, args] { run = [args, &g] { return run_verify(*args, g); }; });
}

}  // namespace kiln::cli
