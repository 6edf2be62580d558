// Loading a RunConfig: TOML files, --set overrides, validation and printing as TOML.
// Every error is a kiln::Error::usage naming the file:line (or the --set), the key, and
// the nearest valid key.
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace kiln::config {

// Where each key's value came from: "configs/x.toml:7" or "--set optim.lr=3e-4".
using Origins = std::map<std::string, std::string>;

// Applies the keys of a TOML document to `cfg`; keys it does not mention keep their values.
// `source` names the document in messages (a path).
void apply_toml(RunConfig& cfg, std::string_view text, const std::string& source, Origins& origins);
void apply_toml_file(RunConfig& cfg, const std::filesystem::path& path, Origins& origins);

// Applies one "section.key=value" override. The value is TOML (3e-4, true, [64, 32],
// "text"); a bare word is taken as a string for string keys.
void apply_override(RunConfig& cfg, const std::string& assignment, Origins& origins);

// Checks ranges and choices; throws naming the key and where its value came from.
void validate(const RunConfig& cfg, const Origins& origins);

// Defaults, then the file (if any), then the overrides in order, then validation.
RunConfig load(const std::optional<std::filesystem::path>& path, const std::vector<std::string>& overrides,
               Origins* origins_out = nullptr);

// The effective config as TOML with a comment per key; feeding it back gives the same config.
std::string to_toml(const RunConfig& cfg);

// Every key ("optim.lr") with its value as TOML text, for comparing configs key by key.
std::map<std::string, std::string> flat_values(const RunConfig& cfg);

// A TOML basic string: quoted, with quotes, backslashes and control characters escaped.
std::string toml_string(const std::string& s);

// A number as TOML writes it: shortest round-trip form, always with '.', 'e', "inf" or "nan".
std::string format_double(double v);

}  // namespace kiln::config
