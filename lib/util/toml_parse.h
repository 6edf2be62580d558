// The one way kiln parses TOML from users (config files, --set values, sweep specs): a cheap
// pre-scan bounds the size and the nesting depth before toml++ sees the text, because toml++
// builds (and destroys) nested tables recursively, so a header like [a.a.a...] with 50,000
// parts overflows the stack (a segfault, not an error). Parse errors become Error::usage.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include <toml++/toml.h>

namespace kiln::util {

// kiln's own files nest 3 levels at most ([space."optim.lr"] in a sweep spec, [base.optim]);
// 64 leaves room for any hand-written or generated file and is far below the depth
// (thousands) at which toml++'s recursion runs out of stack, with or without sanitizers.
inline constexpr int kMaxTomlDepth = 64;
// The largest config is a few kB; 16 MiB is surely not a hand-written config (a wrong
// path, a data file), and keeps the parse of a mistaken file quick.
inline constexpr size_t kMaxTomlBytes = size_t(16) << 20;

// Throws Error::usage naming `source` and the line when `text` is larger than
// kMaxTomlBytes or nests deeper than kMaxTomlDepth. Depth counts every level toml++ would
// build: the parts of a table header or dotted key, each array and each inline table.
void check_toml_shape(std::string_view text, const std::string& source);

// check_toml_shape, then toml::parse; a parse error becomes "invalid TOML at SOURCE:LINE: ...".
toml::table parse_toml(std::string_view text, const std::string& source);

// Reads a TOML file of at most kMaxTomlBytes (also from a pipe such as <(...)); `what`
// names the file in errors ("config file", "sweep spec"). Throws Error::usage.
std::string read_toml_file(const std::string& path, const std::string& what);

}  // namespace kiln::util
