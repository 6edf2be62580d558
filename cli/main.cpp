// kiln's entry point: parses the command line (CLI11), runs one subcommand, and maps
// errors to the exit codes of design.md: 0 ok, 1 runtime failure, 2 bad usage/config/data,
// 3 verification mismatch, 4 diverged, 130/143 interrupted after a checkpoint.
#include <c10/util/Exception.h>

#include <cstdlib>
#include <iostream>

#include "commands.h"
#include "util/error.h"
#include "util/log.h"
#include "util/text.h"

namespace {

int report(const kiln::Error& e) {
  std::cerr << "kiln: error: " << e.what() << "\n";
  if (!e.hint().empty()) std::cerr << "  hint: " << e.hint() << "\n";
  return static_cast<int>(e.code());
}

// CLI11 says "The following arguments were not expected: --jsn"; add "did you mean".
std::string suggest_option(const CLI::App& app, int argc, char** argv) {
  const CLI::App* sub = &app;
  for (const auto* s : app.get_subcommands()) sub = s;
  std::vector<std::string> names;
  for (const auto* o : sub->get_options()) {
    for (const auto& l : o->get_lnames()) names.push_back("--" + l);
  }
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) continue;
    a = a.substr(0, a.find('='));
    if (std::find(names.begin(), names.end(), a) != names.end()) continue;
    const std::string hint = kiln::util::did_you_mean(a, names);
    if (!hint.empty()) return "unknown option '" + a + "'; " + hint;
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  // cuBLAS reads this once, at its first use: it must be set before any CUDA work for
  // deterministic GEMMs (see docs/reproducibility.md).
  setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);

  kiln::cli::Globals g;
  for (int i = 0; i < argc; ++i) {
    g.command_line += (i ? " " : "") + std::string(argv[i]);
    g.argv.emplace_back(argv[i]);
  }

  CLI::App app{
      "kiln: train, profile and sweep models on LibTorch.\n"
      "Run `kiln COMMAND --help` for a command's options."};
  app.name("kiln");
  app.footer(
      "Common use:\n"
      "  kiln train                                  train the built-in default config\n"
      "  kiln train CONFIG.toml --set optim.lr=3e-4  a config file plus overrides (repeatable)\n"
      "  kiln train --run-dir runs/exp1 --json       choose the run dir; last stdout line is JSON\n"
      "  kiln train --print-config                   every config key with its default\n"
      "  kiln train --resume auto --run-dir DIR      continue a stopped run exactly\n"
      "  kiln verify DIR                             replay a run and compare, bit for bit\n"
      "  kiln verify --selftest                      same seed, same weights on this machine?\n"
      "  kiln bench loader                           loader throughput on this machine\n"
      "  kiln data index DIR                         classes, counts, sizes, bad files of an image folder\n"
      "  kiln generate DIR --prompt \"Once\"           sample text from a trained language model\n"
      "  kiln report DIR                             an HTML report of a run or a sweep (DIR/report.html)\n"
      "  kiln export DIR --format torchscript        the trained model for torch.jit.load (or safetensors)\n"
      "  kiln predict DIR/export/model.pt IMG...     top classes of images with an exported model\n"
      "Exit codes: 0 done, 1 runtime failure, 2 bad usage/config/data (nothing written),\n"
      "3 verification mismatch, 4 training diverged (nan/inf loss), 130/143 stopped by\n"
      "SIGINT/SIGTERM after a checkpoint.");
  app.fallthrough();
  app.require_subcommand(1);
  app.add_flag("-q,--quiet", g.quiet, "only warnings and errors on stderr");
  app.add_flag("-v,--verbose", g.verbose, "debug output on stderr");
  kiln::cli::Runner run;
  kiln::cli::add_train_command(app, g, run);
  kiln::cli::add_version_command(app, g, run);
  kiln::cli::add_bench_command(app, g, run);
  kiln::cli::add_verify_command(app, g, run);
  kiln::cli::add_profile_command(app, g, run);
  kiln::cli::add_sweep_command(app, g, run);
  kiln::cli::add_data_command(app, g, run);
  kiln::cli::add_generate_command(app, g, run);
  kiln::cli::add_runs_command(app, g, run);
  kiln::cli::add_report_command(app, g, run);
  kiln::cli::add_export_command(app, g, run);
  kiln::cli::add_predict_command(app, g, run);
  kiln::cli::add_launch_command(app, g, run);

  // A mistyped command: say which one was meant rather than CLI11's generic message.
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (const auto* s : app.get_subcommands({})) names.push_back(s->get_name());
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      std::cerr << "kiln: error: unknown command '" << argv[1] << "'";
      const std::string hint = kiln::util::did_you_mean(argv[1], names);
      if (!hint.empty()) std::cerr << "; " << hint;
      std::cerr << "\n  hint: run `kiln --help` for the list of commands\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    const std::string hint = suggest_option(app, argc, argv);
    std::cerr << "kiln: error: " << (hint.empty() ? e.what() : hint) << "\n";
    std::cerr << "  hint: run `kiln "
              << (app.get_subcommands().empty() ? "" : app.get_subcommands()[0]->get_name() + " ") << "--help`\n";
    return 2;
  }

  kiln::log::set_level(g.quiet     ? kiln::log::Level::kWarn
                       : g.verbose ? kiln::log::Level::kDebug
                                   : kiln::log::Level::kInfo);
  try {
    return run();
  } catch (const kiln::Error& e) {
    return report(e);
  } catch (const c10::Error& e) {
    std::cerr << "kiln: error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "kiln: error: " << e.what() << "\n";
    return 1;
  }
}
