// Session: the run dir's lifecycle (see session.h).
#include "train/session.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <optional>

#include "config/load.h"
#include "instrument/scope.h"
#include "repro/repro.h"
#include "repro/rng_state.h"
#include "run/metrics_log.h"
#include "train/resume.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/temp_dir.h"

namespace kiln::train {
namespace fs = std::filesystem;

Session::Session(const config::RunConfig& cfg, const TrainOptions& opts, Components& c)
    : cfg_(cfg), opts_(opts), c_(c) {
  if (const auto names = c.splits.train->spec().class_names) classes_ = *names;
  last_step_ = opts.stop_after > 0 ? std::min(c.total_steps, opts.stop_after) : c.total_steps;
  if (opts.hook) opts.hook->fit(0, last_step_);  // refused before the run dir exists
  if (!owner()) {
    // The other ranks: no run dir, no sinks; the step log keeps the counters (and the nan/inf
    // policy, which sees the job's loss, so every rank decides alike). Resuming, each loads
    // the checkpoint rank 0 picked (the run dir must be where every rank can read it).
    if (!opts.resume.empty()) resume();
    c.net->train();
    log_ = std::make_unique<StepLog>(
        cfg, c.total_steps, std::vector<std::shared_ptr<metrics::Sink>>{},
        [this](const std::string& what, int64_t step, int64_t epoch) { diverged(what, step, epoch, step - 2); }, 0.0,
        0);
    gather_world();
    return;
  }
  if (!opts.resume.empty()) resume();
  if (!resumed()) dir_ = run::RunDir{make_run_dir(cfg.train.name, opts.run_dir)};
  // The run dir: effective config, manifest, metrics.
  fs::create_directories(dir_.checkpoints());
  const std::string toml = config::to_toml(cfg);
  util::atomic_write(dir_.config(), toml);
  manifest_.environment = repro::environment(c.device);
  manifest_.command_line = opts.command_line;
  manifest_.seed = cfg.repro.seed;
  manifest_.config_toml = toml;
  manifest_.dataset = {{"name", cfg.data.dataset},
                       {"dir", cfg.data.dir},
                       {"train_fingerprint", c.splits.train->fingerprint()},
                       {"test_fingerprint", c.splits.test->fingerprint()}};
  // What the model was built for (model::InputSpec): a tool that rebuilds it from the run dir
  // alone (kiln generate, an export) needs no dataset.
  const data::SampleSpec spec = c.splits.train->spec();
  manifest_.dataset["input"] = {{"dtype", data::dtype_name(spec.input.dtype)}, {"shape", spec.input.shape}};
  manifest_.dataset["outputs"] = c.task->outputs(spec);
  // Which label is which class, where the data names them: a model is useless without it.
  if (!classes_.empty()) manifest_.dataset["classes"] = classes_;
  // Preprocessing learned from the data (a table's standardisation), for export and use.
  if (const std::string pre = c.splits.train->preprocessing(); !pre.empty()) {
    util::atomic_write(dir_.preprocessing(), nlohmann::json::parse(pre).dump(2) + "\n");
    manifest_.dataset["preprocessing"] = dir_.preprocessing().filename().string();
  }
  // data.on_bad_image = "skip": which files were left out, all of them, one path a line.
  std::string skipped;
  for (const data::DatasetPtr& split : {c.splits.train, c.splits.test}) {
    for (const std::string& f : split->skipped()) skipped += f + "\n";
  }
  if (!skipped.empty()) {
    util::atomic_write(dir_.skipped(), skipped);
    manifest_.dataset["skipped"] = dir_.skipped().filename().string();
  }
  manifest_.started_at = run::now_iso();
  manifest_.pid = getpid();
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  manifest_.host = host;
  gather_world();
  run::write_manifest(dir_, manifest_);
  std::vector<std::shared_ptr<metrics::Sink>> sinks = {metrics::make_jsonl_sink(dir_.metrics())};
  if (opts.console) sinks.push_back(metrics::make_console_sink(cfg.log.progress, cfg.log.every));
  if (cfg.log.tensorboard) {
    metrics::TensorboardOptions tb;
    tb.dir = dir_.tensorboard();
    tb.every = cfg.log.every;
    tb.tokens_per_sample = c.task->tokens_per_sample(spec);
    tb.resumed_after = resumed() ? start_.step : -1;
    tb.config_toml = toml;
    tb.environment_json = manifest_.environment.dump(2);
    tb.hparams_json = opts.hparams_json;
    tb.hparams_group = opts.hparams_group;
    sinks.push_back(metrics::make_tensorboard_sink(tb));
  }
  for (const auto& s : opts.sinks) sinks.push_back(s);
  log::info("run dir " + dir_.root.string() + ", device " + c.device + ", " +
            std::to_string(model::count_parameters(*c.net)) + " parameters, " + std::to_string(c.total_steps) +
            " steps");
  c.net->train();
  log_ = std::make_unique<StepLog>(
      cfg, c.total_steps, std::move(sinks),
      // A nan/inf loss at step N came from the weights after step N-1: a checkpoint of those
      // would diverge again at once on resume (seen on CUDA), so the sound ones end at N-2.
      [this](const std::string& what, int64_t step, int64_t epoch) { diverged(what, step, epoch, step - 2); },
      resumed_seconds_, resumed_samples_);
  log_->set_tokens_per_sample(c.task->tokens_per_sample(c.splits.train->spec()));
}

void Session::gather_world() {
  if (!c_.group) return;
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  const nlohmann::json mine = {
      {"rank", c_.world.rank}, {"host", host}, {"pid", int64_t(getpid())}, {"device", c_.device}};
  nlohmann::json ranks = nlohmann::json::array();
  for (const std::string& r : c_.group->allgather("manifest/rank", mine.dump()))
    ranks.push_back(nlohmann::json::parse(r));
  manifest_.world = {{"size", c_.world.size}, {"launcher", c_.world.launcher}, {"ranks", ranks}};
}

void Session::resume() {
  // The checkpoint brings back weights, optimizer, counters and RNG states.
  dir_ = run::RunDir{opts_.resume == "auto" ? opts_.run_dir : run_dir_of(opts_.resume)};
  fs::path from;
  // --resume auto on a run dir that is not there yet (or empty) starts the run: the same
  // command then serves the first attempt and every restart (torchrun --max-restarts, a
  // requeued Slurm job). Rank 0 decides for the job: "" means start.
  const bool nothing_yet =
      opts_.resume == "auto" && !opts_.run_dir.empty() && (!fs::exists(opts_.run_dir) || fs::is_empty(opts_.run_dir));
  if (owner() && !nothing_yet) from = find_checkpoint(opts_.resume, dir_.root);
  if (c_.group) {
    // Every rank continues from the checkpoint rank 0 found.
    from = c_.group->allgather("resume/from", from.string()).at(0);
  }
  if (from.empty()) {
    if (owner()) log::info("--resume auto: nothing in " + dir_.root.string() + " yet, so the run starts there");
    started_by_auto_ = true;
    return;
  }
  // A rank on a machine that does not see rank 0's run dir (no shared filesystem) gets the
  // checkpoint through the group, into a scratch dir of its own, and loads it from there.
  std::optional<util::TempDir> scratch;
  const fs::path picked = from;
  if (c_.group) {
    const fs::path side = from.string() + ".sha256";
    const bool here = fs::exists(from) && fs::exists(side);
    const auto seen = c_.group->allgather("resume/seen", here ? "1" : "0");
    if (std::find(seen.begin(), seen.end(), "0") != seen.end()) {
      if (owner()) log::info("sending " + from.filename().string() + " to the ranks that cannot read it");
      std::string bytes = owner() ? util::read_file(from) : "", sum = owner() ? util::read_file(side) : "";
      c_.group->broadcast_bytes(bytes);
      c_.group->broadcast_bytes(sum);
      if (!here) {
        scratch.emplace("kiln-resume");
        const fs::path copy = scratch->path() / from.filename();
        util::atomic_write(copy, bytes);
        util::atomic_write(fs::path(copy.string() + ".sha256"), sum);
        from = copy;  // verified against its SHA-256 by the load, as any checkpoint
      }
    }
  }
  // Rank 0 checks the config against the run's (another rank may not see the run dir; when
  // rank 0 refuses, the others stop at their next collective).
  const auto changes = owner() ? config_changes(config::load(dir_.config(), {}), cfg_) : std::vector<std::string>{};
  if (!changes.empty() && !opts_.allow_config_change) {
    std::string list;
    for (const auto& ch : changes) list += "\n    " + ch;
    throw Error::usage(
        "the config differs from the run's " + dir_.config().string() + " in keys that change the computation:" + list,
        "resume with the run's own config (omit CONFIG and --set), or pass --allow-config-change");
  }
  start_ = checkpoint::load(from, *c_.net, *c_.optimizer, [this, &from](torch::serialize::InputArchive& a) {
    // A checkpoint without a scale (fp32 or bf16 before --allow-config-change) starts fp16 afresh.
    if (c_.scaler) train::load(a, *c_.scaler);
    read_world(a, from);
  });
  if (!start_.classes.empty() && start_.classes != classes_) {
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& n : v) s += (s.empty() ? "" : ", ") + n;
      return "[" + s + "]";
    };
    throw Error::usage("checkpoint " + from.string() + " was trained on the classes " + list(start_.classes) +
                           ", but the data now has " + list(classes_),
                       "resume on the folder the run started with (its label order follows the class folders)");
  }
  manifest_.resumed_from = picked.string();
  if (!owner()) return;                                      // the run dir is rank 0's to change
  if (opts_.hook) opts_.hook->fit(start_.step, last_step_);  // refused before the run dir changes
  log::info("resuming " + dir_.root.string() + " from " + from.filename().string() + " (step " +
            std::to_string(start_.step) + ", epoch " + std::to_string(start_.epoch + 1) + ")");
  const auto kept = trim_metrics(dir_.metrics(), start_);
  // A killed run leaves its atomic writes' temp files (.step-N.pt.tmp.PID) behind.
  for (const auto& d : {dir_.root, dir_.checkpoints()}) {
    for (const auto& p : util::remove_stale_temps(d)) log::info("removed " + p.string() + ", left by a killed run");
  }
  // The summary's samples/s and train time cover the whole run, as if it never stopped.
  for (const auto& j : kept) {
    if (run::record_type(j) != "step") continue;
    resumed_samples_ += j.value("samples", int64_t(0));
    resumed_seconds_ = j.value("time_s", 0.0);
  }
}

void Session::record_end(const std::string& status, const std::string& error) noexcept {
  if (!owner()) return;
  // Best effort: the error being reported matters more than this record of it.
  try {
    manifest_.status = status;
    manifest_.error = error;
    run::write_manifest(dir_, manifest_);
  } catch (const std::exception& e) {
    log::warn(std::string("could not record the run's end in its manifest: ") + e.what());
  }
}

std::vector<std::string> Session::gather_rng() {
  if (!c_.group) return {};
  // Every rank in the same order: the n-th exchange of each rank is the same checkpoint. Each
  // sends its weights' hash too: rank 0 checks that the ranks still hold the same model (an
  // all-reduce that silently did not happen would show here, not in a wrong result later).
  // Parameters, and with model.sync_bn the buffers too (without it BatchNorm's running
  // statistics are each rank's own).
  util::Sha256 h;
  std::vector<at::Tensor> held = c_.net->parameters();
  if (cfg_.model.sync_bn) {
    for (const auto& b : c_.net->buffers()) held.push_back(b);
  }
  for (const auto& p : held) {
    const at::Tensor t = p.detach().to(at::kCPU).contiguous();
    h.update(t.data_ptr(), t.nbytes());
  }
  const std::string hash = h.hex_digest();
  std::vector<std::string> all =
      c_.group->allgather("rng/" + std::to_string(++exchanges_), hash + repro::encode(repro::capture_rng()));
  for (size_t r = 0; r < all.size(); ++r) {
    if (all[r].compare(0, hash.size(), hash) != 0) {
      throw Error::runtime("rank " + std::to_string(r) + "'s weights differ from rank " +
                               std::to_string(c_.world.rank) +
                               "'s at this checkpoint: the ranks no longer train one "
                               "model",
                           "a bug in kiln's gradient averaging: please report it with the run dir");
    }
    all[r] = all[r].substr(hash.size());
  }
  return all;
}

checkpoint::WriteExtra Session::extra_writer(std::vector<std::string> rngs) const {
  if (!c_.scaler && rngs.empty()) return {};
  return [this, rngs = std::move(rngs)](torch::serialize::OutputArchive& a) {
    if (c_.scaler) train::save(a, *c_.scaler);  // fp16: the loss scale
    if (rngs.empty()) return;
    // A data-parallel job: its size, and every other rank's RNG states (rank 0's are the
    // checkpoint's own), so each rank draws on where it stopped.
    a.write("world_size", c10::IValue(c_.world.size));
    for (size_t r = 1; r < rngs.size(); ++r) {
      const repro::RngState st = repro::decode(rngs[r]);
      a.write("rng_rank" + std::to_string(r) + "_cpu", st.cpu);
      a.write("rng_rank" + std::to_string(r) + "_cuda_count", c10::IValue(int64_t(st.cuda.size())));
      for (size_t i = 0; i < st.cuda.size(); ++i)
        a.write("rng_rank" + std::to_string(r) + "_cuda_" + std::to_string(i), st.cuda[i]);
    }
  };
}

void Session::read_world(torch::serialize::InputArchive& a, const fs::path& from) const {
  c10::IValue v;
  const int64_t saved = a.try_read("world_size", v) ? v.toInt() : 1;
  if (saved != c_.world.size) {
    throw Error::usage("checkpoint " + from.string() + " was written by a job of " + std::to_string(saved) + " rank" +
                           (saved == 1 ? "" : "s") + "; this one has " + std::to_string(c_.world.size),
                       "resume with the world size it was trained with: each rank's data and random draws "
                       "depend on it, so another size would not continue the same run");
  }
  if (c_.world.rank == 0) return;
  const std::string k = "rng_rank" + std::to_string(c_.world.rank);
  repro::RngState st;
  a.read(k + "_cpu", st.cpu);
  a.read(k + "_cuda_count", v);
  st.cuda.resize(size_t(v.toInt()));
  for (size_t i = 0; i < st.cuda.size(); ++i) a.read(k + "_cuda_" + std::to_string(i), st.cuda[i]);
  repro::restore_rng(st);
}

checkpoint::TrainState Session::with_classes(const checkpoint::TrainState& st) const {
  checkpoint::TrainState s = st;
  s.classes = classes_;
  s.preprocessing = c_.splits.train->preprocessing();
  return s;
}

void Session::diverged(const std::string& what, int64_t step, int64_t epoch, int64_t sound_up_to) const {
  std::string last_good;  // the newest checkpoint at or before step sound_up_to
  for (const fs::path& p : owner() ? dir_.step_checkpoints() : std::vector<fs::path>{}) {  // newest first
    if (std::stoll(p.filename().string().substr(5)) <= sound_up_to) {                      // "step-00000025.pt"
      last_good = p.string();
      break;
    }
  }
  throw Error(
      ExitCode::kDiverged,
      "training diverged: " + what + " at step " + std::to_string(step) + " (epoch " + std::to_string(epoch + 1) +
          "); stopped" +
          (last_good.empty() ? " (no checkpoint was written before it)" : ", the last good checkpoint is " + last_good),
      "lower optim.lr, set train.grad_clip or warm up longer (schedule.warmup_steps)" +
          std::string(last_good.empty() ? "" : " and continue with --resume " + last_good + " --allow-config-change") +
          "; train.on_nonfinite = \"skip\" skips such steps instead");
}

void Session::check_weights(const checkpoint::TrainState& st) const {
  if (cfg_.train.on_nonfinite != "stop") return;
  // A finite loss can still come with an inf gradient whose update leaves nan weights: a
  // checkpoint of them would be the "last good" one. One reduction per checkpoint.
  if (!all_finite(c_.net->parameters()))
    diverged("the weights hold nan/inf after the update", st.step, st.epoch, st.step - 1);
}

void Session::save_checkpoint(const checkpoint::TrainState& st) {
  KILN_SCOPE(instrument::Phase::kCheckpoint);
  log_->flush();  // metrics.jsonl holds every step up to the checkpoint (resume trims to it)
  check_weights(st);
  std::vector<std::string> rngs = gather_rng();
  if (!owner()) return;  // every rank holds the same weights and optimizer state: rank 0 saves
  checkpoint::save(dir_.step_checkpoint(st.step), *c_.net, *c_.optimizer, with_classes(st),
                   extra_writer(std::move(rngs)));
  run::keep_newest_checkpoints(dir_, cfg_.checkpoint.keep);
}

void Session::interrupt(const checkpoint::TrainState& st, int signal) {
  log_->flush();
  save_checkpoint(st);
  const bool term = signal == SIGTERM;
  throw Error(term ? ExitCode::kTerminated : ExitCode::kInterrupted,
              std::string(term ? "SIGTERM" : "SIGINT") + " received: stopped after step " + std::to_string(st.step) +
                  "; checkpoint written to " + dir_.checkpoints().string(),
              "continue with: kiln train --resume auto --run-dir " + dir_.root.string());
}

nlohmann::json Session::finish(const checkpoint::TrainState& st) {
  log_->flush();
  check_weights(st);
  std::vector<std::string> rngs = gather_rng();
  if (owner()) {
    checkpoint::save(dir_.final_checkpoint(), *c_.net, *c_.optimizer, with_classes(st), extra_writer(std::move(rngs)));
  }
  const auto trace = owner() ? run::loss_trace(run::read_metrics(dir_.metrics())) : run::LossTrace{};
  const EvalResult* eval = log_->last_eval();
  const double secs = log_->train_seconds();
  nlohmann::json j;
  j["run_dir"] = dir_.root.string();
  // Epochs reached: the newest evaluation's epoch + 1 (today's record when none ran this time).
  j["epochs"] = eval ? log_->last_eval_epoch() + 1 : start_.epoch;
  j["steps"] = st.step;
  j["task"] = cfg_.train.task;
  // The task's metrics from the last evaluation (zeros when none ran: kiln profile).
  for (const auto& [name, v] : eval ? eval->values : zero_values(*c_.task)) j[name] = v;
  j["samples_per_s"] = secs > 0 ? double(log_->samples()) / secs : 0.0;
  if (const int64_t t = c_.task->tokens_per_sample(c_.splits.train->spec()); t > 0) {
    j["tokens_per_s"] = j["samples_per_s"].get<double>() * double(t);
  }
  j["train_seconds"] = secs;
  j["seed"] = cfg_.repro.seed;
  j["weights_sha256"] = repro::weights_sha256(*c_.net);
  j["loss_trace_sha256"] = trace.sha256;
  j["nonfinite_steps"] = trace.nonfinite;
  j["precision"] = cfg_.train.precision;
  if (c_.scaler) j["loss_scale"] = c_.scaler->current_scale();
  j["device"] = c_.device;
  j["model"] = cfg_.model.name;
  j["parameters"] = model::count_parameters(*c_.net);
  if (c_.group) {
    j["world_size"] = c_.world.size;
    j["rank"] = c_.world.rank;
  }
  if (owner()) {
    run::write_summary(dir_, j);
    run::write_manifest(dir_, manifest_, &j);
  }
  log_->finish();
  return j;
}

}  // namespace kiln::train
