// Fuzzes the config loader: any bytes as a TOML config file through config::apply_toml and
// config::validate. Every input must either load or throw kiln::Error (exit 2 in the CLI);
// anything else (a crash, a sanitizer report, another exception) is a finding. A config that
// loads must also print (to_toml) as TOML that loads back to the same printout.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/load.h"
#include "model_tables.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool tables = kiln_fuzz::register_model_tables();  // [model.mlp] ... (model_tables.h)
  (void)tables;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  kiln::config::RunConfig cfg;
  kiln::config::Origins origins;
  try {
    kiln::config::apply_toml(cfg, text, "fuzz.toml", origins);
    kiln::config::validate(cfg, origins);
  } catch (const kiln::Error&) {
    return 0;
  }
  const std::string printed = kiln::config::to_toml(cfg);
  kiln::config::RunConfig back;
  kiln::config::Origins back_origins;
  kiln::config::apply_toml(back, printed, "printed.toml", back_origins);  // throws = finding
  if (kiln::config::to_toml(back) != printed) std::abort();
  return 0;
}
