// `kiln predict MODEL.pt INPUT... [--top K] [--json]`: an exported image classifier's top
// classes for each image file (or each image in a folder).
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "exporter/predict.h"

namespace kiln::cli {
namespace {

struct PredictArgs {
  std::string model;
  std::vector<std::string> inputs;
  int64_t top = 5;
  bool json = false;
  bool logits = false;
};

int run_predict(const PredictArgs& a) {
  exporter::PredictOptions o;
  o.model = a.model;
  o.inputs.assign(a.inputs.begin(), a.inputs.end());
  o.top = a.top;
  for (const exporter::Prediction& p : exporter::predict(o)) {
    if (a.json) {
      nlohmann::json top = nlohmann::json::array();
      for (const auto& c : p.top)
        top.push_back({{"class", c.name}, {"index", c.index}, {"probability", c.probability}});
      nlohmann::json j = {{"file", p.file.string()}, {"top", top}};
      if (a.logits) j["logits"] = p.logits;
      std::cout << j.dump() << "\n";
    } else {
      std::cout << p.file.string() << "\n";
      for (const auto& c : p.top) std::printf("  %-24s %.4f\n", c.name.c_str(), c.probability);
    }
  }
  std::cout.flush();
  return 0;
}

}  // namespace

void add_predict_command(CLI::App& app, const Globals& g, Runner& run) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand("predict", "Classify images with an exported TorchScript model");
  cmd->footer(
      "MODEL.pt is `kiln export RUN_DIR --format torchscript`'s file. Each image (PNG or JPEG;\n"
      "a folder: every .png/.jpg/.jpeg under it, in name order) is resized and centre-cropped\n"
      "to the model's input as kiln's evaluation does, and the top K classes are printed with\n"
      "their probabilities (softmax of the outputs). --json: one JSON line per file.");
  cmd->add_option("model", args->model, "an exported TorchScript model (.pt)")->required()->check(user_path());
  cmd->add_option("inputs", args->inputs, "image files or folders")->required()->check(user_path());
  cmd->add_option("-k,--top", args->top, "classes to print per file (default 5)")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}));
  cmd->add_flag("--json", args->json, "one JSON line per file: file, top [{class, index, probability}]");
  // For tests and tools comparing outputs: the model's whole output row in each JSON line.
  cmd->add_flag("--logits", args->logits, "with --json: add the model's raw outputs")->group("");
  cmd->callback([&run, args] { run = [args] { return run_predict(*args); }; });
}

}  // namespace kiln::cli
