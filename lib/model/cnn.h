// cnn: its knobs ([model.cnn]) and factory. Torch-free, so the config fuzzers can load the
// table too (fuzz/model_tables.h).
#pragma once
#include <memory>
#include <vector>

#include "config/config.h"
#include "config/fields.h"

namespace kiln::model {

class Net;
struct InputSpec;

// [model.cnn]: the defaults are the member initialisers; fields() gives each knob's key,
// help and range (config::model_table).
struct CnnKnobs {
  std::vector<int64_t> channels = {32, 64};
  int64_t fc = 128;

  std::vector<config::Field> fields() {
    return {config::nonempty(config::num("channels", &channels, "conv channels per stage (2 convs + max-pool each)", 1,
                                         config::kMaxWidth, false, config::kWidthWhy),
                             "stage"),
            config::num("fc", &fc, "width of the hidden fully connected layer", 1, config::kMaxWidth, false,
                        config::kWidthWhy)};
  }
};

std::shared_ptr<Net> make_cnn(const config::ModelConfig& cfg, const InputSpec& input);

}  // namespace kiln::model
