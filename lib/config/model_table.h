// Per-model config tables: each model's own knobs live in [model.<name>] (`[model.mlp]
// hidden = [512, 256]`), described by the model itself and registered with it
// (model::register_model), so a new model adds its knobs without touching config/.
//
// A model's knobs are a plain struct T whose member initialisers are the defaults and whose
// `fields()` lists each knob once, as a Field with a bare key ("hidden"), its help and its
// range (like fields.cpp does for the shared keys). config/ stores T type-erased in
// ModelConfig::tables and reaches it only through those fields, which is how it loads,
// validates and prints knobs of models it has never heard of.
//
// Which tables count: only the chosen model's (model.name) is validated, printed
// (--print-config, the run dir's config.toml) and compared on resume. A key of another
// registered model's table is accepted with its type checked, then ignored (kiln train warns,
// see ignored_keys): a sweep that varies model.name sets every model's knobs on every trial,
// so refusing them would make such a sweep impossible. A key no registered table has is an
// unknown key, and an old flat key (model.hidden) is refused naming its new place.
#pragma once
#include <any>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/fields.h"
#include "config/load.h"

namespace kiln::config {

struct ModelTable {
  std::any defaults;                                    // a T holding its defaults
  std::function<std::vector<Field>(std::any&)> fields;  // the knobs of the T held in the any
};

// The table of knobs struct T (see above). T::fields() keys are bare names; config/ adds
// the "model.<name>." prefix.
template <class T>
ModelTable model_table() {
  return {T{}, [](std::any& values) {
            T* t = std::any_cast<T>(&values);
            if (!t) throw_wrong_knobs_type(typeid(T).name(), values.type().name());
            return t->fields();
          }};
}

// Adds (or replaces) the table of `model`. model::register_model calls it.
void register_model_table(const std::string& model, ModelTable table);

// Models that have a table, sorted; the table of one (nullopt: none registered).
std::vector<std::string> model_table_names();
std::optional<ModelTable> find_model_table(const std::string& model);

// The knobs of `model`'s table as fields of `cfg`, with full keys ("model.mlp.hidden"); the
// table's defaults go into cfg.model.tables first if it holds none. Empty: no such table.
std::vector<Field> table_fields(RunConfig& cfg, const std::string& model);

// Keys the config sets (origins) in tables of models other than model.name: accepted and
// unused, so `kiln train` says so.
std::vector<std::string> ignored_keys(const RunConfig& cfg, const Origins& origins);

}  // namespace kiln::config
