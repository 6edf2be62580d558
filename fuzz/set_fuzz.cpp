// Fuzzes the --set parser: any bytes as one `--set KEY=VALUE` argument through
// config::apply_override and config::validate. Every input must either apply or throw
// kiln::Error; anything else is a finding. Inputs that start with a known key reach the
// value parsing (the seed corpus has one per type).
#include <cstdint>
#include <string>

#include "config/load.h"
#include "model_tables.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool tables = kiln_fuzz::register_model_tables();  // [model.mlp] ... (model_tables.h)
  (void)tables;
  const std::string assignment(reinterpret_cast<const char*>(data), size);
  kiln::config::RunConfig cfg;
  kiln::config::Origins origins;
  try {
    kiln::config::apply_override(cfg, assignment, origins);
    kiln::config::validate(cfg, origins);
  } catch (const kiln::Error&) {
  }
  return 0;
}
