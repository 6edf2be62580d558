// Bounded TOML parsing (see toml_parse.h). The pre-scan is a small lexer that knows just
// enough TOML to tell keys from values: strings and comments are skipped, the dots of a key
// or table header count as levels, dots inside values (1.5, 12:00:00.5) do not.
#include "util/toml_parse.h"

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "util/error.h"
#include "util/user_path.h"

namespace kiln::util {
namespace {

[[noreturn]] void too_deep(const std::string& source, size_t line) {
  throw Error::usage(source + ":" + std::to_string(line) + ": TOML nests more than " + std::to_string(kMaxTomlDepth) +
                         " levels deep (table header parts, dotted key parts, arrays and inline tables together)",
                     "kiln's configs nest 2 or 3 levels; a file this deep is generated or corrupt");
}

// TOML allows non-ASCII only in strings and comments, and toml++ 3.3's check for Unicode
// whitespace reaches __builtin_unreachable on the code points U+00A1..U+0499 and
// U+FBC6..U+FEFE (U+FCFF found by fuzz/config_fuzz, U+03E1 by fuzz/spec_fuzz): undefined
// behaviour in release builds. Refused here instead, wherever toml++ would check.
[[noreturn]] void non_ascii(const std::string& source, size_t line) {
  throw Error::usage("invalid TOML at " + source + ":" + std::to_string(line) +
                     ": a non-ASCII character outside a string or comment");
}

// Whether the UTF-8 character at t[k] is one of those code points.
bool unreachable_in_tomlpp(std::string_view t, size_t k) {
  if (k >= t.size()) return false;
  const auto b = [&](size_t n) { return k + n < t.size() ? static_cast<unsigned char>(t[k + n]) : 0u; };
  uint32_t cp = 0;
  if (b(0) >= 0xc2 && b(0) <= 0xdf) {
    cp = ((b(0) & 0x1fu) << 6) | (b(1) & 0x3fu);
  } else if (b(0) >= 0xe0 && b(0) <= 0xef) {
    cp = ((b(0) & 0x0fu) << 12) | ((b(1) & 0x3fu) << 6) | (b(2) & 0x3fu);
  }
  return (cp >= 0xa1 && cp <= 0x499) || (cp >= 0xfbc6 && cp <= 0xfefe);
}

// Skips the string that starts at text[i] (a quote that opens one), returns the index of its last
// character; counts the newlines it spans. Unterminated strings end at the newline (or the
// end): toml++ reports them, the scan only must not lose its place.
size_t skip_string(std::string_view t, size_t i, size_t& line, const std::string& source) {
  const char q = t[i];
  const bool multi = t.compare(i, 3, std::string(3, q)) == 0;
  size_t j = i + (multi ? 3 : 1);
  for (; j < t.size(); ++j) {
    const char c = t[j];
    if (c == '\\' && q == '"') {  // escapes exist in basic strings only
      if (multi) {
        // A line-ending backslash: toml++ checks the first character after the whitespace
        // it trims (or right after the backslash) for Unicode whitespace.
        size_t k = j + 1;
        while (k < t.size() && (t[k] == ' ' || t[k] == '\t' || t[k] == '\r' || t[k] == '\n')) ++k;
        if (unreachable_in_tomlpp(t, k)) {
          throw Error::usage("invalid TOML at " + source + ":" + std::to_string(line) +
                                 ": toml++ cannot read this character after a backslash in a multi-line string",
                             "write it as a \\u escape");
        }
      }
      if (j + 1 < t.size() && t[j + 1] == '\n') ++line;
      ++j;
      continue;
    }
    if (c == '\n') {
      if (!multi) return j - 1;
      ++line;
      continue;
    }
    if (c != q) continue;
    if (!multi) return j;
    if (t.compare(j, 3, std::string(3, q)) == 0) {
      j += 2;
      while (j + 1 < t.size() && t[j + 1] == q) ++j;  // """a"""" ends with a quote in the string
      return j;
    }
  }
  return t.size() - 1;
}

}  // namespace

void check_toml_shape(std::string_view t, const std::string& source) {
  if (t.size() > kMaxTomlBytes) {
    throw Error::usage(source + " is " + std::to_string(t.size()) + " bytes; kiln reads TOML files of at most " +
                           std::to_string(kMaxTomlBytes >> 20) + " MiB",
                       "is this the right file? kiln configs and sweep specs are a few kB");
  }
  enum class Mode { kKeyStart, kKey, kHeader, kSkipLine, kValue };
  struct Open {
    char close;  // ']' or '}'
    int levels;  // levels this container adds
  };
  std::vector<Open> stack;  // never deeper than kMaxTomlDepth: too_deep throws first
  Mode mode = Mode::kKeyStart;
  int table_levels = 0;            // parts of the current [header]
  int nested = 0;                  // levels of the open arrays and inline tables
  int parts = 0;                   // parts of the key or header being read
  size_t header_start = 0;         // where the current [header] opened
  bool header_named = false;       // its name has begun
  bool array_element_due = false;  // after '[' or ',' in an array
  // A quote opens a string only where toml++ reads one: at the start of a key part or a
  // value. Elsewhere (0"...) toml++ reads it as part of a bad value, non-ASCII included
  // (found by fuzz/spec_fuzz), so the scan must not skip what follows as a string.
  bool token_start = false;
  size_t line = 1;
  auto check = [&](int depth) {
    if (depth > kMaxTomlDepth) too_deep(source, line);
  };
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (mode == Mode::kHeader && !header_named) {
      // Found by fuzz/config_fuzz and spec_fuzz: toml++ 3.3 asserts (in release builds:
      // assumes, undefined behaviour) that a header's name starts with a key character, as
      // in "[[[a]]]", "[\x01]" or "[#". Such a header is refused here, before toml++ sees it.
      if (c == ' ' || c == '\t' || (c == '[' && i == header_start + 1)) continue;
      const bool bare = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
      if (!bare && c != '"' && c != '\'' && c != ']') {
        throw Error::usage("invalid TOML at " + source + ":" + std::to_string(line) +
                           ": a table header's name must start with a letter, digit, '_', '-' or a quote");
      }
      header_named = true;
    }
    if (c == '\n') {
      if (mode == Mode::kKey || mode == Mode::kHeader) check(table_levels + nested + parts);
      if (stack.empty()) mode = Mode::kKeyStart;
      ++line;
      continue;
    }
    if (c == '#') {
      while (i + 1 < t.size() && t[i + 1] != '\n') ++i;
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80) non_ascii(source, line);
    if (mode == Mode::kSkipLine || ((c == ' ' || c == '\t' || c == '\r') && mode != Mode::kKey)) continue;
    switch (mode) {
      case Mode::kKeyStart:
        if (c == '[' && stack.empty()) {
          mode = Mode::kHeader;
          parts = 1;
          table_levels = 0;
          header_start = i;
          header_named = false;
          token_start = true;
          break;
        }
        if (c == '}' && !stack.empty() && stack.back().close == '}') {  // an empty inline table
          nested -= stack.back().levels;
          stack.pop_back();
          mode = Mode::kValue;
          break;
        }
        mode = Mode::kKey;
        parts = 1;
        token_start = true;
        [[fallthrough]];
      case Mode::kKey:
      case Mode::kHeader:
        if ((c == '"' || c == '\'') && token_start) {
          i = skip_string(t, i, line, source);
          token_start = false;
        } else if (c == '.') {
          check(table_levels + nested + ++parts);
          token_start = true;
        } else if (mode == Mode::kHeader && c == ']') {
          table_levels = parts + 1;  // +1: an array of tables ([[x]]) adds its element
          check(table_levels);
          mode = Mode::kSkipLine;
        } else if (mode == Mode::kKey && c == '=') {
          check(table_levels + nested + parts);
          mode = Mode::kValue;
          token_start = true;
        } else if (c != ' ' && c != '\t') {
          token_start = false;
        }
        break;
      case Mode::kValue:
        if (c == '}' && array_element_due) {
          // Found by fuzz/set_fuzz: toml++ 3.3 asserts (release builds: assumes) that an
          // array element never starts with '}', as in "[}" or "[1, }".
          throw Error::usage("invalid TOML at " + source + ":" + std::to_string(line) +
                             ": '}' where an array element belongs");
        }
        array_element_due = false;
        if (token_start && c != '"' && c != '\'' && c != '[' && c != '{' && c != ']' && c != '}' && c != ',') {
          // A bare value (a number, date, bool or garbage): toml++ scans it to a value
          // terminator (whitespace , ] } #), quotes and brackets included, and checks each
          // character for Unicode whitespace on the way. Found by fuzz/spec_fuzz: in
          // `=3"x"["...` the scan went on through what looked like an array and a string.
          size_t j = i;
          auto terminator = [](char v) {  // not strchr: it would match the NUL a fuzzer sends
            return v == ' ' || v == '\t' || v == '\r' || v == '\n' || v == ',' || v == ']' || v == '}' || v == '#';
          };
          for (; j < t.size() && !terminator(t[j]); ++j) {
            if (static_cast<unsigned char>(t[j]) >= 0x80) non_ascii(source, line);
          }
          i = j - 1;
          token_start = false;
        } else if ((c == '"' || c == '\'') && token_start) {
          i = skip_string(t, i, line, source);
          token_start = false;
        } else if (c == '[' || c == '{') {
          const int levels = c == '[' ? 1 : parts;  // an inline table sits at the end of its key's parts
          stack.push_back({c == '[' ? ']' : '}', levels});
          nested += levels;
          parts = 1;  // an inline table directly in an array adds one level
          array_element_due = c == '[';
          check(table_levels + nested);
          token_start = true;
          if (c == '{') mode = Mode::kKeyStart;
        } else if ((c == ']' || c == '}') && !stack.empty() && stack.back().close == c) {
          nested -= stack.back().levels;
          stack.pop_back();
          token_start = false;
        } else if (c == ',' && !stack.empty() && stack.back().close == '}') {
          mode = Mode::kKeyStart;
        } else if (c == ',' && !stack.empty()) {
          array_element_due = true;
          token_start = true;
        } else {
          token_start = false;
        }
        break;
      case Mode::kSkipLine:
        break;
    }
  }
}

toml::table parse_toml(std::string_view text, const std::string& source) {
  check_toml_shape(text, source);
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto line = e.source().begin.line;
    throw Error::usage("invalid TOML at " + (line ? source + ":" + std::to_string(line) : source) + ": " +
                       std::string(e.description()));
  }
}

std::string read_toml_file(const std::string& path, const std::string& what) {
  check_user_path(path, what);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw Error::usage(what + " " + path + " is a directory", "give the path of a .toml file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error::usage("cannot read " + what + " " + path + ": " + std::strerror(errno));
  // Read at most one byte past the limit, so /dev/zero or a huge file costs 16 MiB, not all memory.
  std::string text(kMaxTomlBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw Error::usage("cannot read " + what + " " + path + ": " + std::strerror(errno));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxTomlBytes) {
    throw Error::usage(what + " " + path + " is larger than " + std::to_string(kMaxTomlBytes >> 20) + " MiB",
                       "is this the right file? kiln configs and sweep specs are a few kB");
  }
  return text;
}

}  // namespace kiln::util
