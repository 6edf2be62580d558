// The field table: every config key once, with a pointer into a RunConfig, its help text
// and its valid range. TOML loading, --set overrides, printing and validation all walk it,
// so adding a key means adding it to the struct and to fields.cpp, nothing else.
#pragma once
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/config.h"

namespace kiln::config {

using FieldPtr = std::variant<bool*, int64_t*, uint64_t*, double*, std::string*,
                              std::vector<int64_t>*, std::vector<double>*>;

struct Field {
  std::string key;                    // "optim.lr"
  FieldPtr ptr;
  std::string help;
  std::optional<double> min;          // inclusive lower bound for numbers / array elements
  std::optional<double> max;          // inclusive upper bound
  bool min_exclusive = false;         // lower bound is exclusive (e.g. lr > 0)
  std::vector<std::string> choices;   // allowed strings (empty = any)
  std::string why;                    // why the bounds are what they are, for the error message
};

// Every field of `cfg`, in printing order (section by section).
std::vector<Field> fields(RunConfig& cfg);

// All keys ("section.name"), and all section names, for suggestions.
std::vector<std::string> all_keys();
std::vector<std::string> all_sections();

// Type name of a field as users see it: "float", "integer", "boolean", "string", "array of integers" ...
std::string type_name(const FieldPtr& ptr);

}  // namespace kiln::config
