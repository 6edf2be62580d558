// Shared wording for the sweep's TOML errors (see toml_read.h).
#include "sweep/toml_read.h"

namespace kiln::sweep {

std::string toml_where(const std::string& file, const toml::source_region& r) {
  return r.begin.line ? file + ":" + std::to_string(r.begin.line) : file;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& k : names) s += (s.empty() ? "" : ", ") + k;
  return s;
}

}  // namespace kiln::sweep
