// `kiln export RUN_DIR [--checkpoint PATH] --format torchscript|safetensors [-o FILE] [--json]`:
// a trained model for inference outside kiln.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "exporter/export.h"

namespace kiln::cli {
namespace {

struct ExportArgs {
  std::string run_dir, checkpoint, format, output;
  bool json = false;
};

int run_export(const ExportArgs& a, const Globals& g) {
  exporter::Options o;
  o.run_dir = a.run_dir;
  o.checkpoint = a.checkpoint;
  o.format = a.format;
  o.output = a.output;
  const exporter::Result r = exporter::run(o);
  if (a.json) {
    nlohmann::json j = {{"path", r.path.string()},        {"format", r.format},   {"checkpoint", r.checkpoint.string()},
                        {"architecture", r.architecture}, {"tensors", r.tensors}, {"bytes", r.bytes}};
    if (r.format == "torchscript") j["max_abs_diff"] = r.max_abs_diff;
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << r.path.string() << std::endl;
  }
  if (!g.quiet) {
    std::fprintf(stderr, "kiln export: %s %s (%lld tensors, %lld bytes) from %s", r.architecture.c_str(),
                 r.format.c_str(), (long long)r.tensors, (long long)r.bytes, r.checkpoint.string().c_str());
    if (r.format == "torchscript") std::fprintf(stderr, "; traced vs net max |diff| %.3g", r.max_abs_diff);
    std::fputc('\n', stderr);
  }
  return 0;
}

}  // namespace

void add_export_command(CLI::App& app, const Globals& g, Runner& run) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd =
      app.add_subcommand("export", "Export a trained model: TorchScript (with its preprocessing) or safetensors");
  cmd->footer(
      "Rebuilds the model from RUN_DIR's config.toml and manifest.json and loads\n"
      "checkpoints/final.pt (or --checkpoint). Writes atomically and prints the path.\n"
      "  torchscript  a traced module for torch.jit.load (Python) / torch::jit::load (C++),\n"
      "               in eval mode, taking the input as the data gives it: uint8 images\n"
      "               [B, C, H, W] (normalised inside), a table's raw features float32 [B, F]\n"
      "               (standardised inside), token ids int64 [B, context]. Class names: the\n"
      "               module's `classes` attribute; all metadata: kiln.json in the archive.\n"
      "  safetensors  the weights, named as in the checkpoint; __metadata__ holds the\n"
      "               architecture, config.toml, the class names, input and preprocessing.\n"
      "Default output: RUN_DIR/export/model.pt or model.safetensors. Run a TorchScript\n"
      "image classifier with `kiln predict MODEL.pt IMAGE...`.");
  cmd->add_option("run_dir", args->run_dir, "a run directory (kiln train's --run-dir)")->required()->check(user_path());
  cmd->add_option("--format", args->format, "torchscript or safetensors")
      ->required()
      ->check(CLI::IsMember({"torchscript", "safetensors"}));
  cmd->add_option("--checkpoint", args->checkpoint, "the checkpoint to export (default RUN_DIR/checkpoints/final.pt)")
      ->check(user_path());
  cmd->add_option("-o,--output", args->output, "the file to write (default RUN_DIR/export/model.pt|.safetensors)")
      ->check(user_path());
  cmd->add_flag("--json", args->json, "print one JSON line (path, format, tensors, bytes) instead of the path");
  cmd->callback([&run, &g, args] { run = [args, &g] { return run_export(*args, g); }; });
}

}  // namespace kiln::cli
