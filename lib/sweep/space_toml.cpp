// The [space] table of a sweep spec (see space_toml.h): flattens quoted and nested
// param names, checks each param's keys and value types with file:line in every message, and
// builds the distributions with the same rules as make_float/make_int/make_categorical.
#include "sweep/space_toml.h"

#include <algorithm>
#include <map>

#include "optuna/distribution_build.h"
#include "sweep/toml_read.h"
#include "util/error.h"
#include "util/text.h"

namespace kiln::sweep {
namespace {

const char* kSpaceHint = "e.g. [space.\"optim.lr\"] type = \"float\", low = 1e-5, high = 0.1, log = true";

struct Param {
  std::string name;
  const toml::table* tbl;
  toml::source_region at;  // of the param's key: orders params as the file lists them
};

// Flattens nested tables down to the ones with a `type` key; the dotted path is the name.
void collect(const toml::table& t, const std::string& prefix, const std::string& file, std::vector<Param>& out) {
  for (auto&& [key, node] : t) {
    const std::string name = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    const auto* sub = node.as_table();
    const std::string at = toml_where(file, key.source());
    if (!sub) throw Error::usage("space param '" + name + "' at " + at + " must be a table with a `type`", kSpaceHint);
    // A `type` that is itself a table is a deeper name segment, not the param's type.
    if (sub->contains("type") && !(*sub)["type"].is_table()) {
      out.push_back({name, sub, key.source()});
      continue;
    }
    const bool nested =
        !sub->empty() && std::all_of(sub->begin(), sub->end(), [](auto&& kv) { return kv.second.is_table(); });
    if (!nested) {
      throw Error::usage("space param '" + name + "' at " + at + " has no `type` (float, int or categorical)",
                         kSpaceHint);
    }
    collect(*sub, name, file, out);
  }
}

// Reads the keys of one param table, checking names and types, and builds its distribution.
class ParamReader {
 public:
  ParamReader(const Param& p, const std::string& file)
      : p_(p), file_(file), param_("space param '" + p.name + "'"), ctx_(param_ + " at " + toml_where(file, p.at)) {}

  optuna::Distribution read() {
    const toml::node& type_node = *p_.tbl->get("type");
    const std::vector<std::string> types = {"float", "int", "categorical"};
    const auto* type = type_node.as_string();
    if (!type || std::find(types.begin(), types.end(), type->get()) == types.end()) {
      std::string msg = "key 'type' of " + param_ + " at " + toml_where(file_, type_node.source()) +
                        " must be \"float\", \"int\" or \"categorical\", got " +
                        (type ? "\"" + type->get() + "\"" : toml_kind(type_node));
      const std::string dym = type ? util::did_you_mean(type->get(), types) : "";
      throw Error::usage(dym.empty() ? msg : msg + "; " + dym);
    }
    const std::string kind = type->get();
    const std::vector<std::string> keys = kind == "categorical"
                                              ? std::vector<std::string>{"type", "choices"}
                                              : std::vector<std::string>{"type", "low", "high", "log", "step"};
    for (auto&& [key, node] : *p_.tbl) {
      const std::string k(key.str());
      if (std::find(keys.begin(), keys.end(), k) != keys.end()) continue;
      std::string msg = "unknown key '" + k + "' in " + param_ + " at " + toml_where(file_, key.source());
      const std::string dym = util::did_you_mean(k, keys);
      if (!dym.empty()) msg += "; " + dym;
      throw Error::usage(msg, "a " + kind + " param takes: " + join_names(keys));
    }
    if (kind == "categorical") return optuna::build_categorical(ctx_, choices());
    const bool log = flag("log");
    if (kind == "int")
      return optuna::build_int(ctx_, integer("low", true).value(), integer("high", true).value(), log,
                               integer("step", false).value_or(1));
    return optuna::build_float(ctx_, number("low", true).value(), number("high", true).value(), log,
                               number("step", false));
  }

 private:
  const toml::node* get(const std::string& key, bool required) {
    const toml::node* n = p_.tbl->get(key);
    if (!n && required) throw Error::usage(ctx_ + " needs `" + key + "`", kSpaceHint);
    return n;
  }
  [[noreturn]] void wrong(const std::string& key, const toml::node& n, const std::string& want) {
    throw Error::usage("key '" + key + "' of " + param_ + " at " + toml_where(file_, n.source()) + " must be " + want +
                       ", got " + toml_kind(n));
  }
  std::optional<double> number(const std::string& key, bool required) {
    const toml::node* n = get(key, required);
    if (!n) return std::nullopt;
    if (auto i = n->as_integer()) return static_cast<double>(i->get());
    if (auto f = n->as_floating_point()) return f->get();
    wrong(key, *n, "a number");
  }
  std::optional<int64_t> integer(const std::string& key, bool required) {
    const toml::node* n = get(key, required);
    if (!n) return std::nullopt;
    if (auto i = n->as_integer()) return i->get();
    wrong(key, *n, "an integer (the param is type = \"int\")");
  }
  bool flag(const std::string& key) {
    const toml::node* n = get(key, false);
    if (!n) return false;
    if (auto b = n->as_boolean()) return b->get();
    wrong(key, *n, "true or false");
  }
  std::vector<nlohmann::json> choices() {
    const toml::node* n = get("choices", true);
    const auto* arr = n->as_array();
    if (!arr) wrong("choices", *n, "an array");
    std::vector<nlohmann::json> out;
    for (const auto& el : *arr) {
      if (auto s = el.as_string())
        out.emplace_back(s->get());
      else if (auto i = el.as_integer())
        out.emplace_back(i->get());
      else if (auto f = el.as_floating_point())
        out.emplace_back(f->get());
      else if (auto b = el.as_boolean())
        out.emplace_back(b->get());
      else
        throw Error::usage("element " + std::to_string(out.size()) + " of key 'choices' of " + param_ + " at " +
                           toml_where(file_, el.source()) + " must be a string, number or boolean, got " +
                           toml_kind(el));
    }
    return out;
  }

  const Param& p_;
  const std::string& file_;
  std::string param_;  // "space param 'optim.lr'"
  std::string ctx_;    // ... with the param's file:line, for errors about the whole param
};

}  // namespace

optuna::Space parse_space(const toml::table& tbl, const std::string& file) {
  std::vector<Param> params;
  collect(tbl, "", file, params);
  if (params.empty())
    throw Error::usage("the [space] table at " + toml_where(file, tbl.source()) + " is empty", kSpaceHint);
  // toml++ iterates keys sorted by name; the file order is the source order.
  std::stable_sort(params.begin(), params.end(), [](const Param& a, const Param& b) {
    return std::pair(a.at.begin.line, a.at.begin.column) < std::pair(b.at.begin.line, b.at.begin.column);
  });
  optuna::Space space;
  std::map<std::string, std::string> seen;  // name -> file:line
  for (const auto& p : params) {
    const std::string at = toml_where(file, p.at);
    if (auto [it, fresh] = seen.emplace(p.name, at); !fresh) {
      throw Error::usage("space param '" + p.name + "' is given twice: at " + it->second + " and at " + at,
                         "[space.\"a.b\"] and [space.a.b] name the same param");
    }
    space.emplace_back(p.name, ParamReader(p, file).read());
  }
  return space;
}

}  // namespace kiln::sweep
