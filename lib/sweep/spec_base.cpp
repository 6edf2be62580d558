// The `base` key of a sweep spec (see spec_base.h): resolves a base config path, renders an
// inline [base] table as line-preserving TOML text, or finds the default base upward.
#include "sweep/spec_base.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <utility>
#include <vector>

#include "config/load.h"
#include "sweep/toml_read.h"
#include "util/error.h"

namespace kiln::sweep {
namespace {

namespace fs = std::filesystem;

// The inline [base] table as TOML text of dotted keys ("optim.lr = 0.01"), each on the line
// it has in the spec, so config errors on it name the spec's real lines.
std::string quote_key(const std::string& k) {
  const bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return bare ? k : config::toml_string(k);
}

void flatten_base(const toml::table& t, const std::string& prefix,
                  std::vector<std::pair<toml::source_position, std::string>>& lines) {
  for (auto&& [key, node] : t) {
    const std::string path = prefix + (prefix.empty() ? "" : ".") + quote_key(std::string(key.str()));
    if (const auto* sub = node.as_table(); sub && !sub->is_inline()) {
      if (sub->empty()) lines.push_back({key.source().begin, path + " = {}"});
      flatten_base(*sub, path, lines);
      continue;
    }
    std::ostringstream os;
    node.visit([&](const auto& v) { os << v; });
    lines.push_back({key.source().begin, path + " = " + os.str()});
  }
}

std::string base_text(const toml::table& t) {
  std::vector<std::pair<toml::source_position, std::string>> lines;
  flatten_base(t, "", lines);
  std::stable_sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) {
    return std::pair(a.first.line, a.first.column) < std::pair(b.first.line, b.first.column);
  });
  std::string out;
  toml::source_index line = 1;
  for (const auto& [pos, text] : lines) {
    for (; line < pos.line; ++line) out += "\n";
    out += text + "\n";
    ++line;
  }
  return out;
}

}  // namespace

void read_base(const toml::table& root, const std::string& file, SweepSpec& s) {
  // base: a path relative to the spec's directory, an inline table, or "" (built-in defaults).
  const fs::path dir = s.spec_path.parent_path();
  if (const toml::node* base = root.get("base")) {
    if (const auto* t = base->as_table()) {
      s.base_inline = base_text(*t);
    } else if (const auto* p = base->as_string()) {
      if (!p->get().empty()) {
        s.base_path = (dir / p->get()).lexically_normal();
        std::error_code ec;
        if (!fs::is_regular_file(s.base_path, ec)) {
          throw Error::usage(
              "base config '" + p->get() + "' (key 'base' at " + toml_where(file, base->source()) +
                  ") not found: " + s.base_path.string(),
              "a relative path is taken from the spec's directory; base = \"\" uses kiln's built-in defaults");
        }
      }
    } else {
      throw Error::usage("key 'base' at " + toml_where(file, base->source()) +
                         " must be a path (string) or a table of config sections, got " + toml_kind(*base));
    }
  } else {
    for (fs::path d = dir;; d = d.parent_path()) {
      std::error_code ec;
      if (fs::is_regular_file(d / kDefaultBase, ec)) {
        s.base_path = d / kDefaultBase;
        break;
      }
      if (d == d.parent_path()) {
        throw Error::usage(
            std::string("no 'base' in ") + file + " and the default base config '" + kDefaultBase + "' is not in " +
                dir.string() + " or its parents",
            "set base = \"path/to/config.toml\" (relative to the spec), or base = \"\" for kiln's built-in defaults");
      }
    }
  }
}

}  // namespace kiln::sweep
