// profile::run: the training loop with a profiling window, in a scratch run dir.
#include "profile/run.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "profile/window.h"
#include "train/trainer.h"
#include "util/error.h"

namespace kiln::profile {
namespace fs = std::filesystem;
namespace {

// A temporary run dir for the profiled training (checkpoints and metrics are not the point
// of a profile), removed however the run ends.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "kiln-profile-XXXXXX").string();
    if (!mkdtemp(tmpl.data()))
      throw Error::runtime("cannot create a scratch directory in " + fs::temp_directory_path().string());
    path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// The nearest existing ancestor of `p` must be a writable directory (checked without
// creating anything, so a refused run writes nothing).
void check_writable(const fs::path& out) {
  fs::path p = fs::absolute(out);
  while (!p.empty() && !fs::exists(p)) p = p.parent_path();
  if (fs::exists(out) && !fs::is_directory(out)) {
    throw Error::usage("--out " + out.string() + " exists and is not a directory", "pass a directory path");
  }
  if (p.empty() || !fs::is_directory(p) || access(p.c_str(), W_OK) != 0) {
    throw Error::usage("--out " + out.string() + " cannot be written (" + p.string() + " is not a writable directory)",
                       "pass a directory you can write to");
  }
}

}  // namespace

void check_options(const ProfileOptions& o) {
  if (o.steps < 1)
    throw Error::usage("--steps must be at least 1 (got " + std::to_string(o.steps) + ")", "e.g. --steps 50");
  if (o.warmup < 0)
    throw Error::usage("--warmup must be 0 or more (got " + std::to_string(o.warmup) + ")", "e.g. --warmup 10");
  if (o.torch_trace && o.nvtx_ops) {
    // Both are modes of LibTorch's one autograd profiler: only one can be on at a time.
    throw Error::usage("--torch-trace and --nvtx-ops cannot be combined (both use LibTorch's autograd profiler)",
                       "run them separately: --torch-trace for torch_trace.json, --nvtx-ops under nsys");
  }
  check_writable(o.out_dir);
}

nlohmann::json run(const config::RunConfig& cfg, const ProfileOptions& o) {
  check_options(o);
  const std::string device = train::resolve_device(cfg.train.device);
  Window window({o.warmup + 1, o.warmup + o.steps, o.out_dir, device, o.torch_trace, o.nvtx_ops, cfg.train.precision,
                 cfg.model.channels_last, cfg.train.cuda_graph});
  ScratchDir scratch;
  train::TrainOptions t;
  t.run_dir = scratch.path / "run";
  t.stop_after = o.warmup + o.steps;
  t.command_line = o.command_line;
  t.stop = o.stop;
  t.console = o.console;
  t.hook = &window;
  t.eval_at_stop = false;  // the measurement is over when the window closes
  t.world = o.world;
  if (o.world.rank != 0) {
    t.hook = nullptr;
    t.console = false;
    train::run(cfg, t);
    return {{"rank", o.world.rank}};
  }
  train::run(cfg, t);
  if (!window.report()) throw Error::runtime("the profiling window did not close (the run stopped early)");
  const Report& r = *window.report();
  if (o.console) std::fputs(r.table().c_str(), stderr);
  nlohmann::json phases = nlohmann::json::object();
  for (const auto& p : r.phases) {
    phases[phase_name(p.phase)] = {{"mean_ms", p.mean_ms},
                                   {"p95_ms", p.p95_ms},
                                   {"share", p.share >= 0 ? nlohmann::json(p.share) : nlohmann::json(nullptr)}};
  }
  return {{"out_dir", o.out_dir.string()},
          {"profile_json", (o.out_dir / "profile.json").string()},
          {"trace_json", (o.out_dir / "trace.json").string()},
          {"device", r.device},
          {"timing", r.timing},
          {"precision", r.precision},
          {"channels_last", r.channels_last},
          {"graph", r.graph},
          {"tflops", r.tflops > 0 ? nlohmann::json(r.tflops) : nlohmann::json(nullptr)},
          {"warmup", o.warmup},
          {"steps", r.steps},
          {"samples_per_s", r.samples_per_s},
          {"step_ms", r.step_mean_ms},
          {"peak_memory_bytes", r.peak_memory_bytes},
          {"verdict", r.verdict.kind},
          {"phases", phases}};
}

}  // namespace kiln::profile
