// The built-in models' config tables ([model.mlp], [model.cnn], [model.resnet], [model.transformer]) for the
// fuzzers. In kiln they are registered with the models (lib/model/registry.cpp), whose
// torch code the fuzz build leaves out; the knobs headers are torch-free, so the fuzzers
// register the same tables here and reach the per-model table parsing too.
#pragma once
#include "config/model_table.h"
#include "model/cnn.h"
#include "model/mlp.h"
#include "model/resnet.h"
#include "model/transformer.h"

namespace kiln_fuzz {

inline bool register_model_tables() {
  kiln::config::register_model_table("mlp", kiln::config::model_table<kiln::model::MlpKnobs>());
  kiln::config::register_model_table("cnn", kiln::config::model_table<kiln::model::CnnKnobs>());
  kiln::config::register_model_table("resnet", kiln::config::model_table<kiln::model::ResnetKnobs>());
  kiln::config::register_model_table("transformer", kiln::config::model_table<kiln::model::TransformerKnobs>());
  return true;
}

}  // namespace kiln_fuzz
