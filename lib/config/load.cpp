// TOML file loading and --set overrides, both through the field table.
#include "config/load.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "config/fields.h"
#include "util/error.h"
#include "util/text.h"
#include "util/toml_kind.h"
#include "util/toml_parse.h"
#include "util/user_path.h"

namespace kiln::config {
namespace {

std::string where(const std::string& source, const toml::source_region& r) {
  return r.begin.line ? source + ":" + std::to_string(r.begin.line) : source;
}

Field* find_field(std::vector<Field>& fs, const std::string& key) {
  for (auto& f : fs) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

[[noreturn]] void unknown_key(const std::string& key, const std::string& at) {
  std::string msg = "unknown key '" + util::shorten(key) + "' at " + at;
  const std::string hint = util::did_you_mean(key, all_keys());
  if (!hint.empty()) msg += "; " + hint;
  throw Error::usage(msg, "`kiln train --print-config` lists every key with its default");
}

[[noreturn]] void wrong_type(const Field& f, const std::string& at, const std::string& got) {
  throw Error::usage("key '" + f.key + "' at " + at + " must be " + std::string(type_name(f.ptr) == "integer" ? "an " : "a ") +
                     type_name(f.ptr) + ", got " + got);
}

std::optional<double> as_number(const toml::node& n) {
  if (auto i = n.as_integer()) return static_cast<double>(i->get());
  if (auto d = n.as_floating_point()) return d->get();
  return std::nullopt;
}

// Stores node `n` into field `f`, checking its type.
void assign(Field& f, const toml::node& n, const std::string& at) {
  struct Setter {
    const toml::node& n;
    const Field& f;
    const std::string& at;
    void operator()(bool* p) const {
      if (!n.is_boolean()) wrong_type(f, at, util::toml_kind(n));
      *p = n.as_boolean()->get();
    }
    void operator()(int64_t* p) const {
      if (!n.is_integer()) wrong_type(f, at, util::toml_kind(n));
      *p = n.as_integer()->get();
    }
    void operator()(uint64_t* p) const {
      if (!n.is_integer() || n.as_integer()->get() < 0) wrong_type(f, at, n.is_integer() ? "a negative integer" : util::toml_kind(n));
      *p = static_cast<uint64_t>(n.as_integer()->get());
    }
    void operator()(double* p) const {
      auto v = as_number(n);
      if (!v) wrong_type(f, at, util::toml_kind(n));
      *p = *v;
    }
    void operator()(std::string* p) const {
      if (!n.is_string()) wrong_type(f, at, util::toml_kind(n));
      *p = n.as_string()->get();
    }
    void operator()(std::vector<int64_t>* p) const {
      const auto* arr = n.as_array();
      if (!arr) wrong_type(f, at, util::toml_kind(n));
      std::vector<int64_t> out;
      for (const auto& el : *arr) {
        if (!el.is_integer()) wrong_type(f, at, "an array holding " + util::toml_kind(el));
        out.push_back(el.as_integer()->get());
      }
      *p = out;
    }
    void operator()(std::vector<double>* p) const {
      const auto* arr = n.as_array();
      if (!arr) wrong_type(f, at, util::toml_kind(n));
      std::vector<double> out;
      for (const auto& el : *arr) {
        auto v = as_number(el);
        if (!v) wrong_type(f, at, "an array holding " + util::toml_kind(el));
        out.push_back(*v);
      }
      *p = out;
    }
  };
  std::visit(Setter{n, f, at}, f.ptr);
}

}  // namespace

void apply_toml(RunConfig& cfg, std::string_view text, const std::string& source, Origins& origins) {
  const toml::table root = util::parse_toml(text, source);
  auto fs = fields(cfg);
  const auto sections = all_sections();
  for (auto&& [section_key, section_node] : root) {
    const std::string section(section_key.str());
    const std::string at = where(source, section_key.source());
    const auto* table = section_node.as_table();
    if (!table) {
      // A top-level plain key: the user probably forgot the [section] header.
      unknown_key(section, at);
    }
    if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
      std::string msg = "unknown section '[" + util::shorten(section) + "]' at " + at;
      const std::string hint = util::did_you_mean(section, sections);
      if (!hint.empty()) msg += "; " + hint;
      throw Error::usage(msg, "sections are: " + [&] {
        std::string s;
        for (const auto& x : sections) s += (s.empty() ? "" : ", ") + x;
        return s;
      }());
    }
    for (auto&& [key, node] : *table) {
      const std::string full = section + "." + std::string(key.str());
      const std::string key_at = where(source, key.source());
      Field* f = find_field(fs, full);
      if (!f) unknown_key(full, key_at);
      assign(*f, node, key_at);
      origins[full] = key_at;
    }
  }
}

void apply_toml_file(RunConfig& cfg, const std::filesystem::path& path, Origins& origins) {
  util::check_user_path(path, "config file");
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw Error::usage("config file not found: " + path.string(), "give a path to a .toml file, e.g. configs/default.toml");
  }
  apply_toml(cfg, util::read_toml_file(path.string(), "config file"), path.string(), origins);
}

void apply_override(RunConfig& cfg, const std::string& assignment, Origins& origins) {
  const std::string at = "--set " + util::shorten(assignment);
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw Error::usage("bad override '" + util::shorten(assignment) + "': expected section.key=value", "e.g. --set optim.lr=3e-4");
  }
  const std::string key = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  auto fs = fields(cfg);
  Field* f = find_field(fs, key);
  if (!f) unknown_key(key, at);
  // Bounded like a file: a value such as [[[[... nested 100,000 deep must be an error, not a crash.
  const std::string doc = "v = " + value;
  util::check_toml_shape(doc, "--set " + key);
  toml::table parsed;
  bool ok = true;
  try {
    parsed = toml::parse(doc);
  } catch (const toml::parse_error&) {
    ok = false;
  }
  if (ok && parsed.contains("v")) {
    // A bare word that happens to be valid TOML for another type (e.g. `true`) still
    // becomes a string when the key is a string.
    if (std::holds_alternative<std::string*>(f->ptr) && !parsed["v"].is_string()) {
      *std::get<std::string*>(f->ptr) = value;
    } else {
      assign(*f, *parsed.get("v"), at);
    }
  } else if (std::holds_alternative<std::string*>(f->ptr)) {
    *std::get<std::string*>(f->ptr) = value;
  } else {
    throw Error::usage("cannot parse value '" + util::shorten(value) + "' of " + at + " as " + type_name(f->ptr));
  }
  origins[key] = at;
}

RunConfig load(const std::optional<std::filesystem::path>& path, const std::vector<std::string>& overrides,
               Origins* origins_out) {
  RunConfig cfg;
  Origins origins;
  if (path) apply_toml_file(cfg, *path, origins);
  for (const auto& o : overrides) apply_override(cfg, o, origins);
  validate(cfg, origins);
  if (origins_out) *origins_out = origins;
  return cfg;
}

}  // namespace kiln::config
