// kiln export: check the paths, rebuild and load the net, write one format.
#include "exporter/export.h"

#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "exporter/safetensors.h"
#include "exporter/torchscript.h"
#include "run/run_model.h"
#include "util/error.h"
#include "util/fs.h"

namespace kiln::exporter {
namespace fs = std::filesystem;

namespace {

// Refuses an output that cannot be written before any work: a directory, a missing parent
// (other than the default export/ folder, created here) or one kiln may not write in.
void check_output(const fs::path& out, bool is_default) {
  if (fs::is_directory(out)) throw Error::usage("output " + out.string() + " is a directory", "name a file with -o");
  fs::path parent = out.parent_path();
  if (parent.empty()) parent = ".";
  if (is_default) {
    std::error_code ec;
    fs::create_directories(parent, ec);
  }
  if (!fs::is_directory(parent)) {
    throw Error::usage("cannot write " + out.string() + ": " + parent.string() + " is not a directory");
  }
  if (::access(parent.c_str(), W_OK) != 0 || (fs::exists(out) && ::access(out.c_str(), W_OK) != 0)) {
    throw Error::usage("cannot write " + out.string() + ": permission denied", "pick another path with -o");
  }
}

fs::path pick_checkpoint(const run::RunModel& rm, const fs::path& given) {
  if (!given.empty()) {
    if (!fs::is_regular_file(given)) throw Error::usage("checkpoint " + given.string() + " does not exist");
    return given;
  }
  const fs::path final_pt = rm.dir.final_checkpoint();
  if (!fs::exists(final_pt)) {
    std::string hint = "finish it (kiln train --resume auto --run-dir " + rm.dir.root.string() + ")";
    const auto steps = rm.dir.step_checkpoints();
    if (!steps.empty()) hint = "pass --checkpoint " + steps.front().string() + " (the newest), or " + hint;
    throw Error::usage(
        rm.dir.root.string() + " has no final checkpoint (" + final_pt.string() + "): the run did not finish", hint);
  }
  return final_pt;
}

}  // namespace

fs::path default_output(const fs::path& run_dir, const std::string& format) {
  return run_dir / "export" / (format == "safetensors" ? "model.safetensors" : "model.pt");
}

Result run(const Options& o) {
  if (o.format != "torchscript" && o.format != "safetensors") {
    throw Error::usage("unknown export format \"" + o.format + "\"", "use torchscript or safetensors");
  }
  const run::RunModel rm = run::read_run_model(o.run_dir);
  Result r;
  r.format = o.format;
  r.architecture = rm.cfg.model.name;
  r.checkpoint = pick_checkpoint(rm, o.checkpoint);
  r.path = o.output.empty() ? default_output(o.run_dir, o.format) : o.output;
  model::NetPtr net = rm.build();
  checkpoint::load_weights(r.checkpoint, *net);
  check_output(r.path, o.output.empty());

  const nlohmann::json meta = metadata(rm, r.checkpoint);
  if (o.format == "safetensors") {
    NamedTensors tensors;
    for (const auto& p : net->named_parameters()) tensors.emplace_back(p.key(), p.value());
    for (const auto& b : net->named_buffers()) tensors.emplace_back(b.key(), b.value());
    r.tensors = int64_t(tensors.size());
    // safetensors metadata values are strings: nested values go as JSON text.
    const std::map<std::string, std::string> md = {{"format", "pt"},
                                                   {"kiln_version", meta["kiln_version"]},
                                                   {"architecture", rm.cfg.model.name},
                                                   {"task", rm.cfg.train.task},
                                                   {"config", rm.config_toml},
                                                   {"classes", nlohmann::json(rm.classes).dump()},
                                                   {"input", meta["input"].dump()},
                                                   {"preprocessing", meta["preprocessing"].dump()}};
    write_safetensors(r.path, tensors, md);
  } else {
    const TorchScript ts = to_torchscript(rm, *net, meta);
    r.max_abs_diff = ts.max_abs_diff;
    r.tensors = int64_t(net->parameters().size() + net->buffers().size());
    util::atomic_write(r.path, torchscript_bytes(ts.module, meta));
  }
  r.bytes = int64_t(fs::file_size(r.path));
  return r;
}

}  // namespace kiln::exporter
