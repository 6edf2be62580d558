// mlp: its knobs ([model.mlp]) and factory. Torch-free, so the config fuzzers can load the
// table too (fuzz/model_tables.h).
#pragma once
#include <memory>
#include <vector>

#include "config/config.h"
#include "config/fields.h"

namespace kiln::model {

class Net;
struct InputSpec;

// [model.mlp]: the defaults are the member initialisers; fields() gives each knob's key,
// help and range (config::model_table).
struct MlpKnobs {
  std::vector<int64_t> hidden = {512, 256};

  std::vector<config::Field> fields() {
    return {config::nonempty(
        config::num("hidden", &hidden, "hidden layer widths", 1, config::kMaxWidth, false, config::kWidthWhy),
        "width")};
  }
};

std::shared_ptr<Net> make_mlp(const config::ModelConfig& cfg, const InputSpec& input);

}  // namespace kiln::model
