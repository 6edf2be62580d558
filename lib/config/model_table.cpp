// The registry of per-model config tables (model_table.h) and the fields of one table.
#include "config/model_table.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "util/error.h"

namespace kiln::config {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, ModelTable> tables;
};

Registry& registry() {
  // Built on first use: model/ registers the built-ins from a static initialiser.
  static Registry* r = new Registry;
  return *r;
}

// Model and knob names become key parts ("model.<model>.<knob>"): as TOML bare keys they
// need no quoting and a dotted key splits back into exactly these parts.
bool bare_key(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

}  // namespace

void throw_wrong_knobs_type(const char* wanted, const char* held) {
  throw Error::runtime(std::string("internal error: a model's knobs were read as ") + wanted + " but hold " + held,
                       "the model's factory and its registered table must use the same knobs struct");
}

void register_model_table(const std::string& model, ModelTable table) {
  if (!bare_key(model)) {
    throw Error::runtime("model name '" + model + "' cannot name a config table",
                         "use letters, digits, '_' and '-' only (it becomes [model." + model + "])");
  }
  for (const auto& f : table.fields(table.defaults)) {
    if (!bare_key(f.key)) throw Error::runtime("knob '" + f.key + "' of model '" + model + "' is not a bare TOML key");
  }
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.tables[model] = std::move(table);
}

std::vector<std::string> model_table_names() {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> out;
  for (const auto& [name, t] : r.tables) out.push_back(name);
  return out;
}

std::optional<ModelTable> find_model_table(const std::string& model) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  const auto it = r.tables.find(model);
  if (it == r.tables.end()) return std::nullopt;
  return it->second;
}

std::vector<Field> table_fields(RunConfig& cfg, const std::string& model) {
  const auto table = find_model_table(model);
  if (!table) return {};
  auto it = cfg.model.tables.try_emplace(model, table->defaults).first;
  auto out = table->fields(it->second);
  for (auto& f : out) f.key = "model." + model + "." + f.key;
  return out;
}

std::vector<std::string> ignored_keys(const RunConfig& cfg, const Origins& origins) {
  std::vector<std::string> out;
  const std::string mine = "model." + cfg.model.name + ".";
  for (const auto& [key, at] : origins) {
    const bool in_a_table = key.rfind("model.", 0) == 0 && std::count(key.begin(), key.end(), '.') == 2;
    if (in_a_table && key.rfind(mine, 0) != 0) out.push_back(key);
  }
  return out;
}

}  // namespace kiln::config
