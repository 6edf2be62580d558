// TOML file loading and --set overrides, both through the field table.
#include "config/load.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "config/fields.h"
#include "config/model_table.h"
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

// A model knob under its old flat key (model.hidden, before each model had its own table):
// refused naming the key's new place. Any registered model's knob is found, not only the
// built-ins', so a custom model's knob written into [model] gets the same answer.
void refuse_moved_key(const std::string& key, const std::string& at) {
  if (key.rfind("model.", 0) != 0 || key.find('.', 6) != std::string::npos) return;
  const std::string knob = key.substr(6);
  std::vector<std::string> places;
  RunConfig scratch;
  for (const auto& model : model_table_names()) {
    if (find_field(scratch, "model." + model + "." + knob)) places.push_back("model." + model + "." + knob);
  }
  if (places.empty()) return;
  std::string list;
  for (const auto& p : places) list += (list.empty() ? "'" : "' or '") + p;
  const std::string model = places[0].substr(6, places[0].rfind('.') - 6);
  throw Error::usage("'" + key + "' at " + at + " moved to " + list + "'",
                     "each model's knobs are in its own table: [model." + model + "] " + knob +
                         " = ... in a file, --set " + places[0] + "=... on the command line");
}

[[noreturn]] void unknown_key(const std::string& key, const std::string& at) {
  refuse_moved_key(key, at);
  std::string msg = "unknown key '" + util::shorten(key) + "' at " + at;
  auto candidates = all_keys();
  for (const auto& model : model_table_names()) candidates.push_back("model." + model);
  const std::string hint = util::did_you_mean(key, candidates);
  if (!hint.empty()) msg += "; " + hint;
  throw Error::usage(msg,
                     "`kiln train --print-config` lists every key with its default (another model's knobs: add --set "
                     "model.name=NAME)");
}

[[noreturn]] void wrong_type(const Field& f, const std::string& at, const std::string& got) {
  throw Error::usage("key '" + f.key + "' at " + at + " must be " +
                     std::string(type_name(f.ptr) == "integer" ? "an " : "a ") + type_name(f.ptr) + ", got " + got);
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
      if (!n.is_integer() || n.as_integer()->get() < 0)
        wrong_type(f, at, n.is_integer() ? "a negative integer" : util::toml_kind(n));
      *p = static_cast<uint64_t>(n.as_integer()->get());
    }
    void operator()(double* p) const {
      auto v = as_number(n);
      if (!v) wrong_type(f, at, util::toml_kind(n));
      *p = *v;
    }
    void operator()(std::string* p) const {
      if (n.is_boolean() && takes_bool(f)) {
        *p = n.as_boolean()->get() ? "true" : "false";
        return;
      }
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
    void operator()(std::vector<std::string>* p) const {
      const auto* arr = n.as_array();
      if (!arr) wrong_type(f, at, util::toml_kind(n));
      std::vector<std::string> out;
      for (const auto& el : *arr) {
        if (!el.is_string()) wrong_type(f, at, "an array holding " + util::toml_kind(el));
        out.push_back(el.as_string()->get());
      }
      *p = out;
    }
  };
  std::visit(Setter{n, f, at}, f.ptr);
}

// Applies the keys of `table`, the TOML table at `prefix` ("optim", or "model.mlp" for a
// model's own table, which a [model.mlp] header, dotted keys or an inline table all make).
void apply_table(RunConfig& cfg, const toml::table& table, const std::string& prefix, const std::string& source,
                 Origins& origins) {
  for (auto&& [key, node] : table) {
    const std::string full = prefix + "." + std::string(key.str());
    const std::string at = where(source, key.source());
    if (auto f = find_field(cfg, full)) {
      assign(*f, node, at);
      origins[full] = at;
    } else if (node.is_table() && prefix == "model" && find_model_table(std::string(key.str()))) {
      apply_table(cfg, *node.as_table(), full, source, origins);
    } else {
      unknown_key(full, at);
    }
  }
}

}  // namespace

void apply_toml(RunConfig& cfg, std::string_view text, const std::string& source, Origins& origins) {
  const toml::table root = util::parse_toml(text, source);
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
      throw Error::usage(
          msg, "sections are: " + [&] {
            std::string s;
            for (const auto& x : sections) s += (s.empty() ? "" : ", ") + x;
            return s;
          }());
    }
    apply_table(cfg, *table, section, source, origins);
  }
}

void apply_toml_file(RunConfig& cfg, const std::filesystem::path& path, Origins& origins) {
  util::check_user_path(path, "config file");
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw Error::usage("config file not found: " + path.string(),
                       "give a path to a .toml file, e.g. configs/default.toml");
  }
  apply_toml(cfg, util::read_toml_file(path.string(), "config file"), path.string(), origins);
}

void apply_override(RunConfig& cfg, const std::string& assignment, Origins& origins) {
  const std::string at = "--set " + util::shorten(assignment);
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw Error::usage("bad override '" + util::shorten(assignment) + "': expected section.key=value",
                       "e.g. --set optim.lr=3e-4");
  }
  const std::string key = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  auto f = find_field(cfg, key);
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
  // An image folder of RGB photos normalises with ImageNet's statistics unless told otherwise
  // (as torchvision's pretrained models do); gray folders with 0.5 / 0.5.
  if (cfg.data.dataset == "image-folder" && !origins.count("data.mean") && !origins.count("data.std")) {
    cfg.data.mean = cfg.data.channels == 3 ? std::vector<double>{0.485, 0.456, 0.406} : std::vector<double>{0.5};
    cfg.data.std = cfg.data.channels == 3 ? std::vector<double>{0.229, 0.224, 0.225} : std::vector<double>{0.5};
  }
  // kiln's own printouts (a run dir's config.toml, --print-config) hold every key. One with
  // all the other [optim] keys but no optim.fused was written before that key existed, when
  // every run used LibTorch's optimizer: it replays that way, so kiln verify, --resume and
  // `kiln train RUN_DIR/config.toml` still give the recorded weights ("auto" is fused now).
  if (path && !origins.count("optim.fused")) {
    bool printout = true;
    for (const char* k : {"name", "lr", "weight_decay", "momentum", "nesterov", "beta1", "beta2", "eps"}) {
      printout = printout && origins.count(std::string("optim.") + k);
    }
    if (printout) cfg.optim.fused = "false";
  }
  validate(cfg, origins);
  if (origins_out) *origins_out = origins;
  return cfg;
}

}  // namespace kiln::config
