// read_run_model: config.toml + manifest.json -> what model::build needs.
#include "run/run_model.h"

#include "config/load.h"
#include "util/error.h"
#include "util/fs.h"

namespace kiln::run {

namespace fs = std::filesystem;

model::NetPtr RunModel::build() const { return model::build(cfg.model, input); }

RunModel read_run_model(const fs::path& run_dir) {
  RunModel m;
  m.dir = RunDir{run_dir};
  if (!fs::is_regular_file(m.dir.config()) || !fs::is_regular_file(m.dir.manifest())) {
    throw Error::usage(run_dir.string() + " is not a kiln run dir (no config.toml and manifest.json)",
                       "pass the run dir kiln train printed");
  }
  m.cfg = config::load(m.dir.config(), {});
  m.config_toml = util::read_file(m.dir.config());
  const nlohmann::json manifest = nlohmann::json::parse(util::read_file(m.dir.manifest()), nullptr, false);
  const nlohmann::json* ds = manifest.is_object() && manifest.contains("dataset") ? &manifest["dataset"] : nullptr;
  if (!ds || !ds->is_object() || !ds->contains("input") || !ds->contains("outputs")) {
    throw Error::usage(m.dir.manifest().string() + " does not record the model's input shape and output width",
                       "the run is older than this kiln: train it again");
  }
  try {
    m.dataset = *ds;
    m.input = {(*ds)["input"]["shape"].get<std::vector<int64_t>>(), (*ds)["outputs"].get<int64_t>()};
    m.input_dtype = (*ds)["input"].value("dtype", "");
    if (ds->contains("classes")) m.classes = (*ds)["classes"].get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error::usage(m.dir.manifest().string() + ": a malformed dataset record (" + e.what() + ")");
  }
  return m;
}

}  // namespace kiln::run
