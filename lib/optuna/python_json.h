// JSON text exactly as Python's json module writes and reads it, for files that Optuna shares
// with kiln: floats in repr form ("1e-05", "0.1", "1.0"), NaN/Infinity/-Infinity as bare
// tokens (nlohmann writes null and refuses to read them), ensure_ascii escapes, and the
// separators of json.dumps. Also Python's == on JSON scalars (1 == 1.0 == True).
#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kiln::optuna {

// The (item, key) separators json.dumps takes.
struct JsonSeparators {
  const char* item;
  const char* key;
};
inline constexpr JsonSeparators kPythonDefaultSeparators{", ", ": "};  // json.dumps default
inline constexpr JsonSeparators kCompactSeparators{",", ":"};          // Optuna >= 4.0 records

// A double as json.dumps writes it: repr's shortest round-trip digits ("0.1", "1e-05",
// "1e+16", "-0.0", "1.0"), and NaN, Infinity, -Infinity for the non-finite values.
std::string python_json_float(double v);

// json.dumps(value, separators=seps) with ensure_ascii. Object keys come out in the json's
// own order (sorted for nlohmann::json, insertion order for ordered_json). Throws
// kiln::Error (usage) for a string that is not valid UTF-8.
std::string python_json_dumps(const nlohmann::json& j, JsonSeparators seps = kPythonDefaultSeparators);
std::string python_json_dumps(const nlohmann::ordered_json& j, JsonSeparators seps = kPythonDefaultSeparators);

// json.loads: strict JSON plus the bare NaN, Infinity and -Infinity tokens (as doubles).
// Throws nlohmann::json::parse_error on anything else that is not JSON.
nlohmann::json python_json_loads(std::string_view text);

// Python's `a == b` for JSON values: numbers and booleans compare by value across types
// (1 == 1.0 == true), strings by content, null only to null, arrays element-wise.
// With nan_equal, NaN equals NaN (Optuna's _categorical_choice_equal).
bool python_equal(const nlohmann::json& a, const nlohmann::json& b, bool nan_equal = false);

}  // namespace kiln::optuna
