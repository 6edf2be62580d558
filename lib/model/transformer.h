// transformer: its knobs ([model.transformer]) and factory. Torch-free, so the config fuzzers
// can load the table too (fuzz/model_tables.h).
#pragma once
#include <memory>
#include <vector>

#include "config/config.h"
#include "config/fields.h"

namespace kiln::model {

class Net;
struct InputSpec;

// [model.transformer]: a GPT-2-style decoder. The defaults are the member initialisers.
struct TransformerKnobs {
  int64_t layers = 4;
  int64_t heads = 4;
  int64_t dim = 128;
  int64_t seq_len = 0;  // positions the model has (its context); 0 = the data's window, data.seq_len
  double dropout = 0.0;

  std::vector<config::Field> fields() {
    return {config::num("layers", &layers, "decoder blocks", 1, 256),
            config::num("heads", &heads, "attention heads per block (dim must be a multiple)", 1, 256),
            config::num("dim", &dim, "model width: embedding and residual stream", 1, config::kMaxWidth / 4, false,
                        "the MLP is 4x as wide, and a layer over 65536 wide holds more than 2^32 weights"),
            config::num("seq_len", &seq_len,
                        "positions the model has, its context (0 = data.seq_len; at least data.seq_len)", 0, 1 << 20,
                        false, "a context of over 2^20 tokens is far beyond any attention kiln builds"),
            config::num("dropout", &dropout,
                        "dropout on the embeddings, attention weights and residual branches (0 = off; model.dropout "
                        "is not used)",
                        0, 0.9)};
  }
};

std::shared_ptr<Net> make_transformer(const config::ModelConfig& cfg, const InputSpec& input);

}  // namespace kiln::model
