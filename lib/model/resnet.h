// resnet: its knobs ([model.resnet]) and factory. Torch-free, so the config fuzzers can load
// the table too (fuzz/model_tables.h).
#pragma once
#include <memory>
#include <string>
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
  int64_t depth = 0;          // 0: the small 3-stage net; 18, 34, 50: torchvision's ResNet shapes
  std::string stem = "auto";  // auto | imagenet (7x7 stride 2 + max-pool) | small (3x3 stride 1)

  std::vector<config::Field> fields() {
    return {
        config::num("width", &width,
                    "channels of the first stage (doubled per stage; torchvision's ResNets use 64 with depth 18/34/50)",
                    1, config::kMaxWidth / 4, false,
                    "the third stage has 4x these channels, and a layer over 65536 wide holds more than 2^32 weights"),
        config::num("blocks", &blocks, "residual blocks per stage (3 stages; depth 0 only)", 1, 64),
        config::num("depth", &depth,
                    "0 = the small 3-stage net of `blocks` blocks; 18 or 34 (basic blocks) or 50 (bottlenecks): "
                    "torchvision's 4-stage ResNets",
                    0, 50),
        config::str("stem", &stem,
                    "auto (imagenet for inputs of 64 px and more, else small), imagenet (7x7 stride 2 + 3x3 max-pool: "
                    "a quarter of the size) or small (3x3 stride 1)",
                    {"auto", "imagenet", "small"})};
  }
};

std::shared_ptr<Net> make_resnet(const config::ModelConfig& cfg, const InputSpec& input);

}  // namespace kiln::model
