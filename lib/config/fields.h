// The field table: every config key once, with a pointer into a RunConfig, its help text
// and its valid range. TOML loading, --set overrides, printing and validation all walk it,
// so adding a key means adding it to the struct and to fields.cpp, nothing else. A model's
// own knobs are fields too, listed by the model (config/model_table.h).
#pragma once
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/config.h"

namespace kiln::config {

using FieldPtr = std::variant<bool*, int64_t*, uint64_t*, double*, std::string*, std::vector<int64_t>*,
                              std::vector<double>*, std::vector<std::string>*>;

struct Field {
  std::string key;  // "optim.lr"
  FieldPtr ptr;
  std::string help;
  std::optional<double> min;         // inclusive lower bound for numbers / array elements
  std::optional<double> max;         // inclusive upper bound
  bool min_exclusive = false;        // lower bound is exclusive (e.g. lr > 0)
  std::vector<std::string> choices;  // allowed strings (empty = any)
  std::string why;                   // why the bounds are what they are, for the error message
  size_t min_items = 0;              // arrays: at least this many elements
  std::string item = "value";        // what an element is, for that message ("width")
};

// A number, boolean or array field; a string field (choices: the allowed values, or any); an
// array of strings (column names).
Field num(std::string key, FieldPtr p, std::string help, std::optional<double> min = {}, std::optional<double> max = {},
          bool min_exclusive = false, std::string why = {});
Field str(std::string key, std::string* p, std::string help, std::vector<std::string> choices = {});
Field strs(std::string key, std::vector<std::string>* p, std::string help);
// A string field whose choices include "true" and "false" (optim.fused: "auto" | true |
// false): a TOML boolean sets it too, and those two values print as bare booleans.
bool takes_bool(const Field& f);
// `f`, an array, with at least one element (an `item`, named in the message).
Field nonempty(Field f, std::string item);

// Bounds for layer widths, shared by the models' knobs: far above any real model, they only
// catch a typo or a missing exponent sign.
inline constexpr double kMaxWidth = 1 << 16;
inline constexpr const char* kWidthWhy = "a layer over 65536 wide holds more than 2^32 weights (16 GiB) by itself";

// Every field of `cfg` that is in use, in printing order (section by section): the shared
// keys and the knobs of the chosen model's table only.
std::vector<Field> fields(RunConfig& cfg);

// The field of any key a config may set, in use or not: the above, or a knob of another
// registered model's table ("model.cnn.fc" while model.name is mlp). nullopt: no such key.
std::optional<Field> find_field(RunConfig& cfg, const std::string& key);

// All keys ("section.name", every registered model's knobs too), and all section names, for
// suggestions.
std::vector<std::string> all_keys();
std::vector<std::string> all_sections();

// Type name of a field as users see it: "float", "integer", "boolean", "string", "array of integers" ...
std::string type_name(const FieldPtr& ptr);

}  // namespace kiln::config
