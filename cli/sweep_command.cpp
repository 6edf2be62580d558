// `kiln sweep SPEC.toml [--trials N] [--parallel N] [--study-file PATH] [--dir DIR]
//                       [--optuna-url URL] [--json]`

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <thread>

#include <torch/cuda.h>

#include "commands.h"
#include "config/load.h"
#include "optuna/distribution_json.h"
#include "optuna/sampler.h"
#include "sweep/driver.h"
#include "sweep/local.h"
#include "sweep/remote.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

namespace kiln::cli {
namespace fs = std::filesystem;
namespace {

struct SweepArgs {
  std::string spec;
  int64_t trials = -1;
  int parallel = -1;
  std::string study_file, dir, optuna_url;
  bool json = false;
};


// Seconds between two journal datetimes ("YYYY-MM-DDTHH:MM:SS.ffffff"); -1 if unknown.
double seconds_between(const std::string& a, const std::string& b) {
  auto parse = [](const std::string& s) -> double {
    std::tm tm{};
    if (s.size() < 19 || !strptime(s.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return NAN;
    tm.tm_isdst = -1;
    return double(std::mktime(&tm)) + (s.size() > 20 && s[19] == '.' ? std::stod("0" + s.substr(19, 7)) : 0.0);
  };
  const double d = parse(b) - parse(a);
  return std::isfinite(d) ? d : -1;
}

std::vector<std::string> param_sets(const optuna::Trial& t) {
  std::vector<std::string> sets;
  for (const auto& [name, internal] : t.params) sets.push_back(sweep::set_argument(name, t.distributions.at(name), internal));
  return sets;
}

// Loads the base config with each param at its low end (and every categorical choice), so
// a param that is not a kiln config key, or a value kiln refuses, stops the sweep before it
// starts (exit 2) instead of failing every trial.
void check_space_against_config(const sweep::SweepSpec& spec, const std::optional<fs::path>& base) {
  std::vector<std::string> sets;
  for (const auto& [name, d] : spec.space) {
    const double first = d.kind == optuna::Distribution::Kind::kCategorical ? 0.0 : d.low;
    sets.push_back(sweep::set_argument(name, d, first));
  }
  config::load(base, sets);
  for (size_t i = 0; i < spec.space.size(); ++i) {
    const auto& [name, d] = spec.space[i];
    for (size_t c = 1; c < d.choices.size(); ++c) {
      auto s = sets;
      s[i] = sweep::set_argument(name, d, double(c));
      config::load(base, s);
    }
  }
}


std::string leaderboard(const optuna::Study& study, const sweep::SweepSpec& spec, size_t max_rows) {
  std::vector<const optuna::Trial*> rows;
  for (const auto& t : study.trials) {
    if (optuna::is_finished(t.state)) rows.push_back(&t);
  }
  const bool maximize = spec.direction == optuna::Direction::kMaximize;
  std::stable_sort(rows.begin(), rows.end(), [&](const optuna::Trial* a, const optuna::Trial* b) {
    const auto rank = [](const optuna::Trial* t) { return t->state == optuna::TrialState::kComplete ? 0 : t->state == optuna::TrialState::kPruned ? 1 : 2; };
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    if (a->value && b->value && *a->value != *b->value) return maximize ? *a->value > *b->value : *a->value < *b->value;
    return a->number < b->number;
  });
  std::string out = "\n  trial  state     " + spec.metric + "  time     params\n";
  char line[512];
  for (size_t i = 0; i < rows.size() && i < max_rows; ++i) {
    const auto* t = rows[i];
    std::string params;
    for (const auto& [name, internal] : t->params) params += (params.empty() ? "" : "  ") + sweep::param_text(name, optuna::to_external(t->distributions.at(name), internal));
    const double secs = seconds_between(t->datetime_start, t->datetime_complete);
    char value[32] = "-";
    if (t->value) std::snprintf(value, sizeof value, "%.4f", *t->value);
    std::snprintf(line, sizeof line, "  %5d  %-8s  %-*s  %6.1fs  %s\n", t->number, optuna::state_name(t->state),
                  int(spec.metric.size()), value, secs, params.c_str());
    out += line;
  }
  if (rows.size() > max_rows) out += "  ... " + std::to_string(rows.size() - max_rows) + " more\n";
  return out;
}

int run_sweep(const SweepArgs& a, const Globals& g) {
  sweep::SweepSpec spec = sweep::load_spec(a.spec);
  if (a.trials >= 0) spec.n_trials = a.trials;
  if (a.parallel >= 0) {
    if (a.parallel < 1) throw Error::usage("--parallel must be at least 1", "e.g. --parallel 2");
    spec.parallel = a.parallel;
  }
  if (spec.n_trials == 0 && spec.timeout_s <= 0) {
    throw Error::usage("--trials 0 with no [budget] timeout_s would run forever", "give --trials N or a timeout_s");
  }
  const fs::path dir = a.dir.empty() ? fs::path("sweeps") / spec.name : fs::path(a.dir);
  // The base config: a file, or the spec's inline [base] table written beside the trials.
  std::optional<fs::path> base;
  if (!spec.base_path.empty()) base = spec.base_path;
  check_space_against_config(spec, base);  // before anything is written
  if (!spec.base_inline.empty()) {
    config::RunConfig probe;
    config::Origins origins;
    config::apply_toml(probe, spec.base_inline, spec.spec_path.string(), origins);
    config::validate(probe, origins);
  }
  if (spec.sampler.name == "grid" && (spec.n_trials == 0 || size_t(spec.n_trials) > optuna::grid_size(spec.space))) {
    spec.n_trials = int64_t(optuna::grid_size(spec.space));  // Optuna's GridSampler stops when the grid is done
  }
  fs::create_directories(dir);
  if (!spec.base_inline.empty()) {
    base = fs::absolute(dir / "base.toml");
    util::atomic_write(*base, spec.base_inline);
  }
  const fs::path study_file = a.study_file.empty() ? dir / "study.journal" : fs::path(a.study_file);
  std::unique_ptr<sweep::Backend> backend;
  if (!a.optuna_url.empty()) {
    sweep::RemoteOptions r;
    r.url = a.optuna_url;
    const char* tok = std::getenv("KILN_OPTUNA_TOKEN");
    r.token = tok ? tok : "";
    r.study_name = spec.name;
    r.direction = spec.direction;
    r.metric = spec.metric;
    r.pending_file = dir / "pending.jsonl";
    backend = sweep::make_remote_backend(r);
  } else {
    backend = sweep::make_local_backend(study_file, spec, {{"kiln_spec", spec.spec_path.string()}});
  }
  // The budget counts the study's finished trials, so a resumed sweep runs only what is left;
  // trials a stopped sweep left behind (FAIL "interrupted") are run again.
  int64_t finished = 0;
  for (const auto& t : backend->snapshot().trials) {
    const bool interrupted = t.user_attrs.value("fail_reason", "") == "interrupted";
    if (optuna::is_finished(t.state) && !interrupted) ++finished;
  }
  sweep::SweepOptions o;
  o.dir = dir;
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  o.kiln_exe = n > 0 ? std::string(exe, size_t(n)) : g.argv.at(0);
  o.base_config = base ? fs::absolute(*base).string() : "";
  o.n_trials = spec.n_trials > 0 ? std::max<int64_t>(0, spec.n_trials - finished) : 0;
  o.parallel = spec.parallel;
  {
    // Parallel trials share the cores: each gets its share unless the config pins threads.
    const config::RunConfig base_cfg = config::load(base, {});
    const int share = std::max(1, int(std::thread::hardware_concurrency()) / std::max(1, o.parallel));
    if (o.parallel > 1 && base_cfg.train.threads == 0) o.extra_sets.push_back("train.threads=" + std::to_string(share));
    if (o.parallel > 1 && base_cfg.loader.threads == 0) o.extra_sets.push_back("loader.threads=" + std::to_string(share));
  }
  o.gpus = torch::cuda::is_available() ? int(torch::cuda::device_count()) : 0;
  o.stop = install_stop_handlers();
  o.console = !g.quiet;
  log::info("sweep " + spec.name + ": " + (spec.n_trials > 0 ? std::to_string(o.n_trials) + " trials to run" : "until the timeout") +
            (finished ? " (" + std::to_string(finished) + " already in the study)" : "") + ", " +
            std::to_string(o.parallel) + " at a time; study " + (a.optuna_url.empty() ? study_file.string() : a.optuna_url));
  if (spec.n_trials == 0 || o.n_trials > 0) sweep::run_trials(spec, *backend, o);

  const optuna::Study study = backend->snapshot();
  if (!g.quiet) std::fputs(leaderboard(study, spec, 20).c_str(), stderr);
  const optuna::Trial* best = nullptr;
  int complete = 0, pruned = 0, failed = 0;
  for (const auto& t : study.trials) {
    complete += t.state == optuna::TrialState::kComplete;
    pruned += t.state == optuna::TrialState::kPruned;
    failed += t.state == optuna::TrialState::kFail;
    if (t.state != optuna::TrialState::kComplete || !t.value) continue;
    const bool better = !best || (spec.direction == optuna::Direction::kMaximize ? *t.value > *best->value : *t.value < *best->value);
    if (better) best = &t;
  }
  nlohmann::json j = {{"study_name", spec.name}, {"dir", dir.string()},         {"trials", study.trials.size()},
                      {"complete", complete},    {"pruned", pruned},            {"failed", failed},
                      {"metric", spec.metric},   {"direction", spec.direction == optuna::Direction::kMaximize ? "maximize" : "minimize"}};
  if (a.optuna_url.empty()) j["study_file"] = study_file.string();
  if (best) {
    // best.toml: the base config with the best trial's params applied, ready for `kiln train`.
    const config::RunConfig cfg = config::load(base, param_sets(*best));
    util::atomic_write(dir / "best.toml", config::to_toml(cfg));
    nlohmann::json params;
    for (const auto& [name, internal] : best->params) params[name] = optuna::to_external(best->distributions.at(name), internal);
    j["best"] = {{"number", best->number}, {"value", *best->value}, {"params", params}};
    j["best_toml"] = (dir / "best.toml").string();
    if (!g.quiet) std::fprintf(stderr, "\n  best: trial %d, %s %.4f; config in %s\n", best->number, spec.metric.c_str(), *best->value, (dir / "best.toml").c_str());
  }
  util::atomic_write(dir / "summary.json", j.dump(2) + "\n");
  if (a.json) std::cout << j.dump() << std::endl;
  if (!best) throw Error::runtime("no trial completed", "see the trials' stderr.log under " + (dir / "trials").string());
  return 0;
}

}  // namespace

void add_sweep_command(CLI::App& app, const Globals& g, Runner& run) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand("sweep", "Search hyperparameters (Optuna semantics, native TPE, pruning, parallel trials)");
  cmd->footer(
      "Each trial is a child `kiln train` with --set overrides and its own run dir under\n"
      "DIR/trials/NNNN/run; per-epoch results go to the pruner; the study is an Optuna journal file\n"
      "(optuna-dashboard DIR/study.journal). Running the same command again continues the study.\n"
      "At the end: a leaderboard, DIR/best.toml (ready for `kiln train`) and DIR/summary.json.\n"
      "Examples:\n"
      "  kiln sweep configs/sweeps/fashion_cnn_lr.toml\n"
      "  kiln sweep spec.toml --trials 40 --parallel 2 --json\n"
      "  kiln sweep spec.toml --optuna-url http://127.0.0.1:8765   (tools/optuna_server.py; token: KILN_OPTUNA_TOKEN)");
  cmd->add_option("spec", args->spec, "sweep spec TOML (see docs/sweeps.md)")->required()->check(user_path());
  cmd->add_option("--trials", args->trials, "trials in the study when done (overrides [budget] n_trials)");
  cmd->add_option("--parallel", args->parallel, "trials at once (overrides [budget] parallel)");
  cmd->add_option("--dir", args->dir, "sweep directory (default sweeps/<name>)")->check(user_path());
  cmd->add_option("--study-file", args->study_file, "Optuna journal file (default DIR/study.journal)")->check(user_path());
  cmd->add_option("--optuna-url", args->optuna_url, "ask an Optuna server (tools/optuna_server.py) instead of the native sampler");
  cmd->add_flag("--json", args->json, "print the summary as one JSON object on the last stdout line");
  cmd->callback([&run, &g, args] { run = [args, &g] { return run_sweep(*args, g); }; });
}

}  // namespace kiln::cli
