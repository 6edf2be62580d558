// Session setup, logging, checkpoints and the final summary.
#include "train/session.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <csignal>
#include <ctime>

#include "config/load.h"
#include "optim/optimizer.h"
#include "instrument/scope.h"
#include "repro/repro.h"
#include "repro/rng.h"
#include "run/run_dir.h"
#include "train/resume.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/sha256.h"

namespace kiln::train {
namespace fs = std::filesystem;
namespace {

std::string now_iso() {
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm);
  return buf;
}


struct LossTrace {
  std::string sha256;     // over "step loss" lines of every step record (losses as JSON writes
                          // them: shortest round-trip form): are two runs' loss curves identical?
  int64_t nonfinite = 0;  // steps whose loss was nan/inf (JSON null) or whose update was skipped
};

LossTrace loss_trace(const fs::path& metrics) {
  std::string text;
  LossTrace t;
  for (const auto& j : metrics::read_jsonl(metrics)) {
    if (j.value("type", "") != "step") continue;
    text += std::to_string(j.value("step", int64_t(0))) + " " + j["loss"].dump() + "\n";
    if (!j["loss"].is_number() || j.value("skipped", false)) ++t.nonfinite;
  }
  t.sha256 = util::sha256_hex(text);
  return t;
}

}  // namespace

Session::Session(const config::RunConfig& c, const TrainOptions& opts) : cfg(c), opts_(opts) {
  // 1. Everything that can fail on bad input, before anything is written.
  device = resolve_device(cfg.train.device);
  if (cfg.train.threads > 0) at::set_num_threads(static_cast<int>(cfg.train.threads));
  repro::set_deterministic(cfg.repro.deterministic);
  splits = data::load_splits(cfg.data);
  const auto shape = splits.train->shape();
  const model::InputSpec input{shape.channels, shape.height, shape.width, splits.train->num_classes()};
  repro::seed_torch(cfg.repro.seed, "model_init");
  net = model::build(cfg.model, input);
  net->to(c10::Device(device));
  optimizer = optim::build(cfg.optim, net->parameters());
  train_loader = data::make_loader(splits.train, data::loader_options(cfg, device, true));
  test_loader = data::make_loader(splits.test, data::loader_options(cfg, device, false));
  const int64_t batches = train_loader->batches_per_epoch();
  if (batches == 0) {
    throw Error::usage("the training set (" + std::to_string(splits.train->size()) + " samples) has no full batch of " +
                       std::to_string(cfg.loader.batch_size) + " with loader.drop_last = true");
  }
  steps_per_epoch = (batches + cfg.train.grad_accum - 1) / cfg.train.grad_accum;
  total_steps = steps_per_epoch * cfg.train.epochs;
  if (cfg.train.max_steps > 0) total_steps = std::min(total_steps, cfg.train.max_steps);
  const int64_t last_step = opts.stop_after > 0 ? std::min(total_steps, opts.stop_after) : total_steps;
  if (opts.hook) opts.hook->fit(0, last_step);  // refused before the run dir exists
  repro::seed_torch(cfg.repro.seed, "train");  // dropout and any other draw during training
  if (!opts.resume.empty()) {
    // Resuming: the checkpoint brings back weights, optimizer, counters and RNG states.
    run_dir = opts.resume == "auto" ? opts.run_dir : run_dir_of(opts.resume);
    resumed_from_ = find_checkpoint(opts.resume, run_dir);
    const auto changes = config_changes(config::load(run::RunDir{run_dir}.config(), {}), cfg);
    if (!changes.empty() && !opts.allow_config_change) {
      std::string list;
      for (const auto& c : changes) list += "\n    " + c;
      throw Error::usage("the config differs from the run's " + run::RunDir{run_dir}.config().string() +
                             " in keys that change the computation:" + list,
                         "resume with the run's own config (omit CONFIG and --set), or pass --allow-config-change");
    }
    state = checkpoint::load(resumed_from_, *net, *optimizer);
    if (opts.hook) opts.hook->fit(state.step, last_step);  // refused before the run dir changes
    log::info("resuming " + run_dir.string() + " from " + resumed_from_.filename().string() + " (step " +
              std::to_string(state.step) + ", epoch " + std::to_string(state.epoch + 1) + ")");
    const auto kept = trim_metrics(run::RunDir{run_dir}.metrics(), state);
    // A killed run leaves its atomic writes' temp files (.step-N.pt.tmp.PID) behind.
    for (const auto& d : {run_dir, run::RunDir{run_dir}.checkpoints()}) {
      for (const auto& p : util::remove_stale_temps(d)) log::info("removed " + p.string() + ", left by a killed run");
    }
    // The summary's samples/s and train time cover the whole run, as if it never stopped.
    for (const auto& j : kept) {
      if (j.value("type", "") != "step") continue;
      samples_ += j.value("samples", int64_t(0));
      train_seconds_ = j.value("time_s", 0.0);
    }
  } else {
    // 2. The run dir: effective config, manifest, metrics.
    run_dir = make_run_dir(cfg.train.name, opts.run_dir);
  }
  last_eval_epoch_ = state.epoch - 1;
  fs::create_directories(run::RunDir{run_dir}.checkpoints());
  util::atomic_write(run::RunDir{run_dir}.config(), config::to_toml(cfg));
  started_at_ = now_iso();
  write_manifest(nullptr);
  sinks_.push_back(metrics::make_jsonl_sink(run::RunDir{run_dir}.metrics()));
  if (opts.console) sinks_.push_back(metrics::make_console_sink(cfg.log.progress, cfg.log.every));
  for (const auto& s : opts.sinks) sinks_.push_back(s);
  log::info("run dir " + run_dir.string() + ", device " + device + ", " +
            std::to_string(model::count_parameters(*net)) + " parameters, " + std::to_string(total_steps) + " steps");
  net->train();
  start_ = last_tick_ = std::chrono::steady_clock::now();
}

Session::~Session() {
  for (auto& s : sinks_) s->close();
}

void Session::write_manifest(const nlohmann::json* end) {
  nlohmann::json m;
  m["environment"] = repro::environment(device);
  m["command_line"] = opts_.command_line;
  m["seed"] = cfg.repro.seed;
  const std::string toml = config::to_toml(cfg);
  m["config_toml"] = toml;  // the effective config itself, as config.toml holds it
  m["config_sha256"] = util::sha256_hex(toml);
  m["dataset"] = {{"name", cfg.data.dataset},
                  {"dir", cfg.data.dir},
                  {"train_fingerprint", splits.train->fingerprint()},
                  {"test_fingerprint", splits.test->fingerprint()}};
  m["started_at"] = started_at_;
  if (!resumed_from_.empty()) m["resumed_from"] = resumed_from_.string();
  m["ended_at"] = end ? nlohmann::json(now_iso()) : nlohmann::json(nullptr);
  if (end) m["result"] = *end;
  util::atomic_write(run::RunDir{run_dir}.manifest(), m.dump(2) + "\n");
}

void Session::record_step(int64_t step, int64_t epoch, const StepStats& st, double lr, double wait_ms,
                          double copy_ms) {
  const auto now = std::chrono::steady_clock::now();
  train_seconds_ += std::chrono::duration<double>(now - last_tick_).count();
  last_tick_ = now;
  samples_ += st.samples;
  pending_.push_back({step, epoch, st.samples, lr, wait_ms, copy_ms, st.loss, st.grad_norm, st.skipped});
  if (step % cfg.log.every == 0 || step == total_steps) flush();
  metrics::Progress p{step, total_steps, epoch, cfg.train.epochs,
                      train_seconds_ > 0 ? double(samples_) / train_seconds_ : 0.0, train_seconds_, last_loss_};
  for (auto& s : sinks_) s->on_progress(p);
}

void Session::flush() {
  if (pending_.empty()) return;
  // One device-to-host copy for all pending losses.
  std::vector<at::Tensor> losses;
  for (const auto& p : pending_) losses.push_back(p.loss.to(at::kFloat));
  auto host = at::stack(losses).to(at::kCPU).to(at::kDouble);
  const double* l = host.data_ptr<double>();
  const Pending* bad = nullptr;  // the first step whose loss is nan/inf
  for (size_t i = 0; i < pending_.size(); ++i) {
    const auto& p = pending_[i];
    metrics::StepRecord r{p.step, p.epoch, l[i], p.lr,
                          p.grad_norm.defined() ? p.grad_norm.item<double>() : -1.0,
                          p.wait_ms, p.copy_ms, p.samples, train_seconds_, p.skipped};
    for (auto& s : sinks_) s->on_step(r);
    last_loss_ = l[i];
    if (!std::isfinite(l[i]) && !bad) bad = &p;
  }
  if (bad) {
    // Every step up to here is in metrics.jsonl (nan/inf shows as null) before any decision.
    const std::string what = "the training loss is " + std::string(std::isnan(l[bad - pending_.data()]) ? "nan" : "inf");
    const auto& policy = cfg.train.on_nonfinite;
    if (policy == "stop") diverged(what, bad->step, bad->epoch);
    if (!warned_nonfinite_) {
      log::warn(what + " at step " + std::to_string(bad->step) + (policy == "skip" ? "; its update was skipped" : "") +
                " (train.on_nonfinite = " + policy + "; the summary counts such steps as nonfinite_steps)");
      warned_nonfinite_ = true;
    }
  }
  pending_.clear();
}

void Session::diverged(const std::string& what, int64_t step, int64_t epoch) const {
  std::string last_good;  // what --resume auto would take; every checkpoint holds finite weights
  try {
    last_good = find_checkpoint("auto", run_dir).string();
  } catch (const Error&) {
  }
  throw Error(ExitCode::kDiverged,
              "training diverged: " + what + " at step " + std::to_string(step) + " (epoch " + std::to_string(epoch + 1) +
                  "); stopped" + (last_good.empty() ? " (no checkpoint was written before it)"
                                                    : ", the last good checkpoint is " + last_good),
              "lower optim.lr, set train.grad_clip or warm up longer (schedule.warmup_steps)" +
                  std::string(last_good.empty() ? "" : " and continue with --resume " + last_good +
                                                            " --allow-config-change") +
                  "; train.on_nonfinite = \"skip\" skips such steps instead");
}

void Session::check_weights(const checkpoint::TrainState& st) const {
  if (cfg.train.on_nonfinite != "stop") return;
  // A finite loss can still come with an inf gradient whose update leaves nan weights: a
  // checkpoint of them would be the "last good" one. One reduction per checkpoint.
  if (!all_finite(net->parameters())) diverged("the weights hold nan/inf after the update", st.step, st.epoch);
}

void Session::record_eval(int64_t step, int64_t epoch, const EvalResult& r) {
  flush();
  last_eval_ = r;
  last_eval_epoch_ = epoch;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  for (auto& s : sinks_) s->on_eval({step, epoch, r.loss, r.accuracy, elapsed});
  last_tick_ = std::chrono::steady_clock::now();  // evaluation time is not training time
}

void Session::save_checkpoint(const checkpoint::TrainState& st) {
  char name[64];
  std::snprintf(name, sizeof name, "step-%08lld.pt", static_cast<long long>(st.step));
  KILN_SCOPE(instrument::Phase::kCheckpoint);
  flush();  // metrics.jsonl holds every step up to the checkpoint (resume trims to it)
  check_weights(st);
  checkpoint::save(run::RunDir{run_dir}.checkpoints() / name, *net, *optimizer, st);
  const auto all = checkpoint::list(run::RunDir{run_dir}.checkpoints());  // newest first
  for (size_t i = size_t(cfg.checkpoint.keep); i < all.size(); ++i) checkpoint::remove(all[i]);
}

void Session::interrupt(const checkpoint::TrainState& st, int signal) {
  flush();
  save_checkpoint(st);
  const bool term = signal == SIGTERM;
  throw Error(term ? ExitCode::kTerminated : ExitCode::kInterrupted,
              std::string(term ? "SIGTERM" : "SIGINT") + " received: stopped after step " + std::to_string(st.step) +
                  "; checkpoint written to " + run::RunDir{run_dir}.checkpoints().string(),
              "continue with: kiln train --resume auto --run-dir " + run_dir.string());
}

nlohmann::json Session::finish(const checkpoint::TrainState& st) {
  flush();
  check_weights(st);
  const int64_t step = st.step;
  checkpoint::save(run::RunDir{run_dir}.final_checkpoint(), *net, *optimizer, st);
  const auto trace = loss_trace(run::RunDir{run_dir}.metrics());
  nlohmann::json j;
  j["run_dir"] = run_dir.string();
  j["epochs"] = last_eval_epoch_ + 1;
  j["steps"] = step;
  j["test_accuracy"] = last_eval_.accuracy;
  j["test_loss"] = last_eval_.loss;
  j["samples_per_s"] = train_seconds_ > 0 ? double(samples_) / train_seconds_ : 0.0;
  j["train_seconds"] = train_seconds_;
  j["seed"] = cfg.repro.seed;
  j["weights_sha256"] = repro::weights_sha256(*net);
  j["loss_trace_sha256"] = trace.sha256;
  j["nonfinite_steps"] = trace.nonfinite;
  j["device"] = device;
  j["model"] = cfg.model.name;
  j["parameters"] = model::count_parameters(*net);
  util::atomic_write(run::RunDir{run_dir}.summary(), j.dump(2) + "\n");
  write_manifest(&j);
  return j;
}

}  // namespace kiln::train
