// kiln export: a run dir's trained model as a TorchScript module (exporter/torchscript.h)
// or as safetensors weights (exporter/safetensors.h), rebuilt from the run dir alone
// (run/run_model.h) and its final checkpoint or another one.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace kiln::exporter {

struct Options {
  std::filesystem::path run_dir;
  std::filesystem::path checkpoint;  // empty: RUN_DIR/checkpoints/final.pt
  std::string format;                // "torchscript" | "safetensors"
  std::filesystem::path output;      // empty: RUN_DIR/export/model.pt or model.safetensors
};

struct Result {
  std::filesystem::path path;  // what was written
  std::filesystem::path checkpoint;
  std::string format;
  std::string architecture;
  int64_t tensors = 0;      // parameters and buffers written
  int64_t bytes = 0;        // the file's size
  double max_abs_diff = 0;  // torchscript: traced against the C++ net on a random batch
};

// Writes the export atomically (nothing half-written on failure). Error::usage naming the
// file for a run dir that is not one, a missing or incomplete checkpoint, an unknown format
// or an output that cannot be written.
Result run(const Options& opts);

// The default output path of `format` for a run dir.
std::filesystem::path default_output(const std::filesystem::path& run_dir, const std::string& format);

}  // namespace kiln::exporter
