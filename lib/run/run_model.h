// A trained model rebuilt from its run dir alone: config.toml (the model's knobs) and
// manifest.json's dataset record (the input's dtype and shape, the output width, the class
// names), no dataset needed. kiln generate and kiln export both start here.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "model/registry.h"
#include "run/run_dir.h"

namespace kiln::run {

struct RunModel {
  RunDir dir;
  config::RunConfig cfg;
  std::string config_toml;           // config.toml's text, as the run saved it
  nlohmann::json dataset;            // the manifest's "dataset" object
  model::InputSpec input;            // per-sample input shape and the output width
  std::string input_dtype;           // numpy's name: "uint8" (images), "float32", "int64" (tokens)
  std::vector<std::string> classes;  // by label, where the data named them; empty otherwise

  // The net of the recorded config, freshly initialised (load weights into it next).
  model::NetPtr build() const;
};

// Reads `run_dir`'s config and manifest. Error::usage naming the dir when it is not a kiln
// run dir, or naming manifest.json when it does not record the model's input.
RunModel read_run_model(const std::filesystem::path& run_dir);

}  // namespace kiln::run
