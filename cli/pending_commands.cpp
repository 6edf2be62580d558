// sweep is part of the command-line contract but not built yet: it
// says so and exit 2 rather than pretending to work.
#include <iostream>

#include "commands.h"
#include "util/error.h"

namespace kiln::cli {

void add_pending_commands(CLI::App& app, Runner& run) {
  const std::pair<const char*, const char*> pending[] = {
      {"sweep", "Search hyperparameters, Optuna-compatible (not yet available)"},
  };
  for (const auto& [name, help] : pending) {
    CLI::App* cmd = app.add_subcommand(name, help);
    // Take any arguments, so that the message below is what users see.
    cmd->fallthrough(false);
    cmd->allow_extras();
    cmd->add_option("args")->expected(-1);
    const std::string n = name;
    cmd->callback([&run, n] {
      run = [n]() -> int {
        throw Error::usage("`kiln " + n + "` is not available yet in this version of kiln",
                           "see README.md for what works today");
      };
    });
  }
}

}  // namespace kiln::cli
