// A trained net as a TorchScript module that takes the input as the data gives it: uint8
// images [B, C, H, W] (normalised inside through the loader's own per-channel table, so the
// floats the net sees are the ones training and evaluation fed it), a table's raw features
// float32 [B, F] (standardised inside by the training split's statistics, the one-hot
// columns passed through), token ids int64 [B, T] (T fixed at the model's context), or any
// other input as read. The class names are the module's `classes` attribute (List[str]);
// everything else predict needs is kiln.json (metadata()) in the archive's extra files.
#pragma once
#include <torch/csrc/jit/api/module.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "model/registry.h"
#include "run/run_model.h"

namespace kiln::exporter {

// kiln.json: what the model is (architecture, task, the run's config.toml text, the run
// dir and checkpoint), its input (dtype, per-sample shape, preprocessing with its numbers,
// the resize an image gets before it) and its outputs (width, class names).
nlohmann::json metadata(const run::RunModel& rm, const std::filesystem::path& checkpoint);

struct TorchScript {
  torch::jit::Module module;
  // |traced - eager| over a fresh random batch of 3 (a batch size the trace never saw):
  // how far the exported module is from the C++ net it came from.
  double max_abs_diff = 0;
};

// Traces `net` (weights loaded; it is put in eval mode and its parameters stop requiring
// gradients) behind the preprocessing of `meta` (metadata()'s). Error::usage for a model
// whose input kiln cannot trace; Error::runtime when the trace disagrees with the net.
TorchScript to_torchscript(const run::RunModel& rm, model::Net& net, const nlohmann::json& meta);

// The archive's bytes: the module plus kiln.json.
std::string torchscript_bytes(const torch::jit::Module& m, const nlohmann::json& meta);

// The extra file's name in the archive.
constexpr const char* kMetadataFile = "kiln.json";

}  // namespace kiln::exporter
