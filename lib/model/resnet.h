// resnet: its knobs ([model.resnet]) and factory. Torch-free, so the config fuzzers can load
// the table too (fuzz/model_tables.h).
#pragma once
#include <memory>
#include <vector>

#include "config/config.h"
#include "config/fields.h"

namespace kiln::model {

class Net;
struct InputSpec;

// [model.resnet]: the defaults are the member initialisers; fields() gives each knob's key,
// help and range (config::model_table).
struct ResnetKnobs {
  int64_t width = 16;
  int64_t blocks = 2;

  std::vector<config::Field> fields() {
    return {
        config::num("width", &width, "channels of the first stage (doubled per stage)", 1, config::kMaxWidth / 4, false,
                    "the third stage has 4x these channels, and a layer over 65536 wide holds more than 2^32 weights"),
        config::num("blocks", &blocks, "residual blocks per stage (3 stages)", 1, 64)};
  }
};

std::shared_ptr<Net> make_resnet(const config::ModelConfig& cfg, const InputSpec& input);

}  // namespace kiln::model
