// run_trials: the sweep's event loop (one thread; children are polled every 100 ms).
#include "sweep/driver.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include "config/load.h"
#include "optuna/distribution_json.h"
#include "run/run_dir.h"
#include "run/train_process.h"
#include "util/error.h"
#include "util/log.h"

namespace kiln::sweep {
namespace fs = std::filesystem;
namespace {

struct Running {
  optuna::Asked asked;
  std::unique_ptr<run::TrainProcess> proc;
  fs::path run_dir;
  optuna::TrialState verdict = optuna::TrialState::kRunning;  // PRUNED / FAIL decided while it ran
  std::string reason;
  int slot = 0;   // GPU slot
  int evals = 0;  // evaluations reported so far: the pruner's step
};

std::string params_text(const std::map<std::string, nlohmann::json>& p) {
  std::string s;
  for (const auto& [k, v] : p) s += (s.empty() ? "" : ", ") + param_text(k, v);
  return s;
}

}  // namespace

std::string set_argument(const std::string& name, const optuna::Distribution& d, double internal) {
  // --set takes TOML values: floats always with '.' or 'e', strings quoted.
  const nlohmann::json v = optuna::to_external(d, internal);
  if (v.is_number_float()) return name + "=" + config::format_double(v.get<double>());
  if (v.is_string()) return name + "=" + config::toml_string(v.get<std::string>());
  return name + "=" + v.dump();  // integers and booleans read the same in TOML
}

std::string param_text(const std::string& name, const nlohmann::json& v) {
  if (v.is_number_float()) {
    char b[32];
    std::snprintf(b, sizeof b, "%.4g", v.get<double>());
    return name + "=" + b;
  }
  return name + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
}

std::vector<TrialResult> run_trials(const SweepSpec& spec, Backend& backend, const DriverOptions& o) {
  std::vector<TrialResult> done;
  std::vector<Running> running;
  std::vector<bool> slot_busy(size_t(std::max(o.parallel, 1)), false);
  int64_t launched = 0;
  bool study_full = false;  // ask_within: the study holds its trials
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  bool interrupted = false;
  bool requeue_missed = false;  // a backend that cannot queue retries (remote mode)

  auto finish = [&](Running& r) {
    TrialResult res;
    res.number = r.asked.number;
    res.seconds = r.proc->elapsed_s();
    res.run_dir = r.run_dir;
    for (const auto& [name, dist] : spec.space) res.params[name] = optuna::to_external(dist, r.asked.params.at(name));
    const auto summary = r.proc->summary();
    if (r.verdict != optuna::TrialState::kRunning) {
      res.state = r.verdict;
      res.reason = r.reason;
    } else if (r.proc->exit_code() == 0 && summary && (*summary)[spec.metric].is_number() &&
               std::isfinite((*summary)[spec.metric].get<double>())) {
      res.state = optuna::TrialState::kComplete;
      res.value = (*summary)[spec.metric].get<double>();
    } else {
      res.state = optuna::TrialState::kFail;
      const std::string how = r.proc->term_signal() ? "killed by signal " + std::to_string(r.proc->term_signal())
                                                    : "exit code " + std::to_string(r.proc->exit_code());
      res.reason = r.proc->exit_code() == 0 ? spec.metric + " missing or not finite in the trial's summary"
                                            : how + ": " + r.proc->last_error_line();
    }
    backend.tell(r.asked, res.state, res.value, res.state == optuna::TrialState::kFail ? res.reason : "");
    // A trial stopped by the user is not a result: the next run tries the same params again.
    if (res.state == optuna::TrialState::kFail && res.reason == "interrupted" && backend.requeue(res.number) < 0) {
      requeue_missed = true;
    }
    if (res.state == optuna::TrialState::kPruned) {
      const optuna::Study s = backend.snapshot();
      for (const auto& t : s.trials) {
        if (t.number == res.number) res.value = t.value;
      }
    }
    if (o.console) {
      char v[32] = "-";
      if (res.value) std::snprintf(v, sizeof v, "%.4f", *res.value);
      std::fprintf(stderr, "trial %3d %-8s %s %s  (%s) %.1f s%s%s\n", res.number, optuna::state_name(res.state),
                   spec.metric.c_str(), v, params_text(res.params).c_str(), res.seconds, res.reason.empty() ? "" : ": ",
                   res.reason.c_str());
    }
    slot_busy[size_t(r.slot)] = false;
    done.push_back(std::move(res));
  };

  for (;;) {
    const int sig = o.stop ? o.stop->load() : 0;
    if (sig != 0 && !interrupted) {
      interrupted = true;
      for (auto& r : running) {
        // A trial already decided (pruned, timed out) or already exited keeps its own result.
        if (r.verdict != optuna::TrialState::kRunning || !r.proc->running()) continue;
        r.verdict = optuna::TrialState::kFail;
        r.reason = "interrupted";
        r.proc->terminate();
      }
    }
    const bool out_of_time = spec.timeout_s > 0 && elapsed() >= spec.timeout_s;
    const bool more = !interrupted && !out_of_time && !study_full && (o.n_trials <= 0 || launched < o.n_trials);
    while (more && int(running.size()) < o.parallel && (o.n_trials <= 0 || launched < o.n_trials)) {
      Running r;
      if (o.study_trials > 0) {
        std::optional<optuna::Asked> asked = backend.ask_within(spec.space, o.study_trials);
        if (!asked) {
          study_full = true;  // other workers took the study's last trials
          break;
        }
        r.asked = std::move(*asked);
      } else {
        r.asked = backend.ask(spec.space);
      }
      for (size_t i = 0; i < slot_busy.size(); ++i) {
        if (!slot_busy[i]) {
          r.slot = int(i);
          slot_busy[i] = true;
          break;
        }
      }
      char name[32];
      std::snprintf(name, sizeof name, "%04d", r.asked.number);
      const fs::path tdir = o.dir / "trials" / name;
      fs::remove_all(tdir);  // a re-run of a number (another study in the same dir) starts clean
      r.run_dir = tdir / "run";
      std::vector<std::string> argv = {o.kiln_exe, "train"};
      if (!o.base_config.empty()) argv.push_back(o.base_config);
      nlohmann::json hparams = nlohmann::json::object();  // for TensorBoard's HParams view
      for (const auto& [pname, dist] : spec.space) {
        argv.insert(argv.end(), {"--set", set_argument(pname, dist, r.asked.params.at(pname))});
        hparams[pname] = optuna::to_external(dist, r.asked.params.at(pname));
      }
      argv.insert(argv.end(), {"--hparams", hparams.dump(), "--hparams-group", std::string("trial ") + name});
      for (const auto& s : o.extra_sets) argv.insert(argv.end(), {"--set", s});
      argv.insert(argv.end(), {"--set", "log.progress=off", "--run-dir", r.run_dir.string(), "--json"});
      std::vector<std::string> env;
      if (o.gpus > 1) env.push_back("CUDA_VISIBLE_DEVICES=" + std::to_string(r.slot % o.gpus));
      r.proc = std::make_unique<run::TrainProcess>(argv, env, tdir, run::RunDir{r.run_dir}.metrics());
      ++launched;
      running.push_back(std::move(r));
    }
    if (running.empty()) break;
    for (size_t i = 0; i < running.size();) {
      Running& r = running[i];
      if (r.verdict == optuna::TrialState::kRunning) {
        for (const auto& e : r.proc->new_evals()) {
          const double v = e.value(spec.metric, std::nan(""));
          // The pruner's step counts evaluations: epochs done with train.eval_every = 0, and
          // never repeated when a trial evaluates several times an epoch.
          const int step = ++r.evals;
          const std::string epoch = std::to_string(e.value("epoch", 0) + 1);
          if (!std::isfinite(v)) {
            r.verdict = optuna::TrialState::kFail;
            r.reason = spec.metric + " is not finite after epoch " + epoch;
          } else if (backend.report(r.asked, step, v)) {
            r.verdict = optuna::TrialState::kPruned;
            r.reason = "pruned after epoch " + epoch;
          }
          if (r.verdict != optuna::TrialState::kRunning) {
            r.proc->terminate();
            break;
          }
        }
        if (r.verdict == optuna::TrialState::kRunning && spec.trial_timeout_s > 0 &&
            r.proc->elapsed_s() > spec.trial_timeout_s) {
          r.verdict = optuna::TrialState::kFail;
          r.reason = "timed out after " + std::to_string(int(spec.trial_timeout_s)) + " s";
          r.proc->terminate();
        }
      }
      if (!r.proc->running()) {
        finish(r);
        running.erase(running.begin() + std::ptrdiff_t(i));
      } else {
        ++i;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (interrupted) {
    throw Error(o.stop->load() == SIGTERM ? ExitCode::kTerminated : ExitCode::kInterrupted,
                requeue_missed
                    ? "sweep interrupted: running trials were stopped and marked FAIL (interrupted)"
                    : "sweep interrupted: running trials were stopped, marked FAIL (interrupted) and queued again",
                "run the same `kiln sweep` command again to continue the study");
  }
  return done;
}

}  // namespace kiln::sweep
