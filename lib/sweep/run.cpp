// sweep::run (see run.h). The order of the steps is part of the behaviour: every check that
// can refuse the sweep (the spec, the overrides, the space against kiln's config) runs
// before the sweep directory is created, and the study is opened before the budget is
// counted, because a continued study has trials already.
#include "sweep/run.h"

#include <torch/cuda.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "config/load.h"
#include "metrics/event_file.h"
#include "metrics/tb_event.h"
#include "optuna/sampler.h"
#include "sweep/config_check.h"
#include "sweep/driver.h"
#include "sweep/leaderboard.h"
#include "sweep/local.h"
#include "sweep/objective.h"
#include "sweep/remote.h"
#include "sweep/summary.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

namespace kiln::sweep {
namespace fs = std::filesystem;
namespace {

void write_tensorboard_experiment(const SweepSpec& spec, const fs::path& dir) {
  // TensorBoard's HParams view over `tensorboard --logdir SWEEP_DIR`: which params to compare
  // (each trial's run writes its values) and the objective as the metric.
  nlohmann::json hparams = nlohmann::json::object();  // name -> a value of its type
  for (const auto& [name, dist] : spec.space) {
    hparams[name] = dist.kind == optuna::Distribution::Kind::kCategorical ? dist.choices.front() : nlohmann::json(0.0);
  }
  try {
    metrics::EventFile f(dir / "tb");
    f.write({metrics::tb::hparams_experiment(metrics::unix_seconds(), spec.name, hparams, {"eval/" + spec.metric})});
    f.close();
  } catch (const Error& e) {
    log::warn(std::string(e.what()) + " (the TensorBoard experiment is not written; the sweep goes on)");
  }
}

}  // namespace
namespace {

constexpr size_t kLeaderboardRows = 20;

// The spec with the options' overrides of its budget.
SweepSpec load_with_overrides(const SweepOptions& a) {
  SweepSpec spec = load_spec(a.spec);
  if (a.trials >= 0) spec.n_trials = a.trials;
  if (a.parallel >= 0) {
    if (a.parallel < 1) throw Error::usage("--parallel must be at least 1", "e.g. --parallel 2");
    spec.parallel = a.parallel;
  }
  if (spec.n_trials == 0 && spec.timeout_s <= 0) {
    throw Error::usage("--trials 0 with no [budget] timeout_s would run forever", "give --trials N or a timeout_s");
  }
  return spec;
}

std::unique_ptr<Backend> open_backend(const SweepOptions& a, const SweepSpec& spec, const fs::path& dir,
                                      const fs::path& study_file) {
  if (a.optuna_url.empty()) return make_local_backend(study_file, spec, {{"kiln_spec", spec.spec_path.string()}});
  RemoteOptions r;
  r.url = a.optuna_url;
  r.token = a.optuna_token;
  r.study_name = spec.name;
  r.direction = spec.direction;
  r.metric = spec.metric;
  r.pending_file = dir / "pending.jsonl";
  return make_remote_backend(r);
}

// The study's finished trials, which the budget counts, so a continued sweep runs only what
// is left; trials a stopped sweep left behind (FAIL "interrupted") do not count: they run again.
int64_t finished_trials(Backend& backend) {
  int64_t finished = 0;
  for (const auto& t : backend.snapshot().trials) {
    const bool interrupted = t.user_attrs.value("fail_reason", "") == "interrupted";
    if (optuna::is_finished(t.state) && !interrupted) ++finished;
  }
  return finished;
}

// Parallel trials share the cores: each gets its share unless the base config pins threads.
std::vector<std::string> thread_shares(const std::optional<fs::path>& base, int parallel) {
  std::vector<std::string> sets;
  const config::RunConfig base_cfg = config::load(base, {});
  const int share = std::max(1, int(std::thread::hardware_concurrency()) / std::max(1, parallel));
  if (parallel > 1 && base_cfg.train.threads == 0) sets.push_back("train.threads=" + std::to_string(share));
  if (parallel > 1 && base_cfg.loader.threads == 0) sets.push_back("loader.threads=" + std::to_string(share));
  return sets;
}

// The GPUs the trials are spread over (CUDA_VISIBLE_DEVICES round-robin), 0 without CUDA.
// LibTorch answers this here in sweep/; optuna/ below never sees it.
int cuda_devices() { return torch::cuda::is_available() ? int(torch::cuda::device_count()) : 0; }

}  // namespace

nlohmann::json run(const SweepOptions& a) {
  SweepSpec spec = load_with_overrides(a);
  const fs::path dir = a.dir.empty() ? fs::path("sweeps") / spec.name : a.dir;
  // The base config: a file, or the spec's inline [base] table written beside the trials.
  std::optional<fs::path> base;
  if (!spec.base_path.empty()) base = spec.base_path;
  const config::RunConfig base_cfg = check_against_config(spec, base);  // before anything is written
  resolve_objective(spec, base_cfg);
  if (spec.sampler.name == "grid" && (spec.n_trials == 0 || size_t(spec.n_trials) > optuna::grid_size(spec.space))) {
    spec.n_trials = int64_t(optuna::grid_size(spec.space));  // Optuna's GridSampler stops when the grid is done
  }
  fs::create_directories(dir);
  if (!spec.base_inline.empty()) {
    base = fs::absolute(dir / "base.toml");
    util::atomic_write(*base, spec.base_inline);
  }
  const fs::path study_file = a.study_file.empty() ? dir / "study.journal" : a.study_file;
  write_tensorboard_experiment(spec, dir);
  const std::unique_ptr<Backend> backend = open_backend(a, spec, dir, study_file);
  const int64_t finished = finished_trials(*backend);

  DriverOptions o;
  o.dir = dir;
  o.kiln_exe = a.kiln_exe;
  o.base_config = base ? fs::absolute(*base).string() : "";
  o.n_trials = spec.n_trials > 0 ? std::max<int64_t>(0, spec.n_trials - finished) : 0;
  // Remote: other workers may share the study; the server keeps its total at n_trials.
  if (!a.optuna_url.empty()) o.study_trials = spec.n_trials;
  o.parallel = spec.parallel;
  o.extra_sets = thread_shares(base, o.parallel);
  o.gpus = cuda_devices();
  o.stop = a.install_stop ? a.install_stop() : nullptr;
  o.console = a.console;
  log::info("sweep " + spec.name + ": " +
            (spec.n_trials > 0 ? std::to_string(o.n_trials) + " trials to run" : "until the timeout") +
            (finished ? " (" + std::to_string(finished) + " already in the study)" : "") + ", " +
            std::to_string(o.parallel) + " at a time; study " +
            (a.optuna_url.empty() ? study_file.string() : a.optuna_url));
  if (spec.n_trials == 0 || o.n_trials > 0) run_trials(spec, *backend, o);

  const optuna::Study study = backend->snapshot();
  if (a.console) std::fputs(leaderboard(study, spec, kLeaderboardRows).c_str(), stderr);
  return write_summary(study, spec, dir, base,
                       a.optuna_url.empty() ? std::optional<fs::path>(study_file) : std::nullopt, a.console);
}

void require_best(const nlohmann::json& summary) {
  if (summary.contains("best")) return;
  const fs::path dir = summary.at("dir").get<std::string>();
  throw Error::runtime("no trial completed", "see the trials' stderr.log under " + (dir / "trials").string());
}

}  // namespace kiln::sweep
