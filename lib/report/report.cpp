// write_report (see report.h).
#include "report/report.h"

#include <unistd.h>

#include "report/page.h"
#include "report/run_data.h"
#include "report/sweep_data.h"
#include "run/run_dir.h"
#include "util/error.h"
#include "util/fs.h"

namespace kiln::report {
namespace fs = std::filesystem;

namespace {

// The output's dir must exist and be writable, and the output must not be a dir: checked
// first, so a bad -o costs no work and leaves nothing behind.
void check_output(const fs::path& out) {
  const fs::path parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  const std::string hint = "pass -o with a file path in a writable directory";
  if (fs::is_directory(out)) throw Error::usage("report output " + out.string() + " is a directory", hint);
  if (!fs::is_directory(parent)) {
    throw Error::usage("cannot write report " + out.string() + ": " + parent.string() +
                           (fs::exists(parent) ? " is not a directory" : " does not exist"),
                       hint);
  }
  if (access(parent.c_str(), W_OK | X_OK) != 0 || (fs::exists(out) && access(out.c_str(), W_OK) != 0)) {
    throw Error::usage("cannot write report " + out.string() + ": permission denied", hint);
  }
}

}  // namespace

InputKind input_kind(const fs::path& dir) {
  if (!fs::exists(dir)) throw Error::usage("no such directory: " + dir.string(), "pass a run dir or a sweep dir");
  if (!fs::is_directory(dir)) {
    throw Error::usage(dir.string() + " is not a directory",
                       "pass a run dir (runs/NAME-...) or a sweep dir (sweeps/NAME)");
  }
  if (is_sweep_dir(dir)) return InputKind::kSweep;
  const run::RunDir r{dir};
  if (fs::exists(r.metrics()) || fs::exists(r.manifest()) || fs::exists(r.config())) return InputKind::kRun;
  throw Error::usage(dir.string() + " is neither a run dir (no config.toml, manifest.json or metrics.jsonl) " +
                         "nor a sweep dir (no study.journal)",
                     "pass a dir written by `kiln train` or `kiln sweep`");
}

fs::path write_report(const Options& o) {
  const InputKind kind = input_kind(o.input);
  const fs::path out = o.output.empty() ? o.input / "report.html" : o.output;
  check_output(out);
  const nlohmann::json data = kind == InputKind::kSweep ? sweep_data(o.input) : run_data(run::RunDir{o.input});
  util::atomic_write(out, render_page(data));
  return out;
}

}  // namespace kiln::report
