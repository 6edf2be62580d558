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
  int64_t pool = 7;  // larger feature maps are average-pooled to pool x pool before the classifier

  std::vector<config::Field> fields() {
    return {config::nonempty(config::num("channels", &channels, "conv channels per stage (2 convs + max-pool each)", 1,
                                         config::kMaxWidth, false, config::kWidthWhy),
                             "stage"),
            config::num("fc", &fc, "width of the hidden fully connected layer", 1, config::kMaxWidth, false,
                        config::kWidthWhy),
            config::num("pool", &pool,
                        "a feature map larger than pool x pool after the stages is average-pooled to it, so any "
                        "image size works (0 = never: flatten as it is)",
                        0, 64)};
  }
};

std::shared_ptr<Net> make_cnn(const config::ModelConfig& cfg, const InputSpec& input);

}  // namespace kiln::model
