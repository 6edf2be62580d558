// `kiln version [--json]`: kiln, LibTorch and CUDA versions.
#include <torch/cuda.h>
#include <torch/version.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "util/version.h"

namespace kiln::cli {

void add_version_command(CLI::App& app, const Globals&, Runner& run) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("version", "Print kiln's version and what it runs on");
  cmd->add_flag("--json", *json, "print one JSON object");
  cmd->callback([&run, json] {
    run = [json] {
      nlohmann::json j = {{"kiln", util::version()},
                          {"git_revision", util::git_revision()},
                          {"libtorch", TORCH_VERSION},
                          {"cuda_available", torch::cuda::is_available()},
                          {"cuda_devices", torch::cuda::device_count()}};
      if (*json) {
        std::cout << j.dump() << std::endl;
      } else {
        std::cout << "kiln " << util::version() << " (" << util::git_revision() << ")\nLibTorch " << TORCH_VERSION
                  << "\nCUDA devices: " << torch::cuda::device_count() << "\n";
      }
      return 0;
    };
  });
}

}  // namespace kiln::cli
