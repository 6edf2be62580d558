// The TensorBoard sink (see sink.h). Step records arrive in the StepLog's flushes (every
// log.every steps), each with its own training-clock time_s. They are held until the
// on_progress that follows the flush: its elapsed_s is the training clock "now", so each
// record's wall time is now - (elapsed_s - time_s), the moment its step ended, not the
// flush's.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "metrics/event_file.h"
#include "metrics/sink.h"
#include "metrics/tb_event.h"
#include "util/error.h"
#include "util/log.h"

namespace kiln::metrics {
namespace {

// Markdown shows a block indented by four spaces verbatim (TensorBoard's text plugin).
std::string code_block(const std::string& text) {
  std::string out = "    ";
  for (const char c : text) {
    out.push_back(c);
    if (c == '\n') out += "    ";
  }
  return out;
}

class TensorboardSink : public Sink {
 public:
  explicit TensorboardSink(const TensorboardOptions& o) : opts_(o), file_(o.dir) {
    const double now = unix_seconds();
    std::vector<std::string> first;
    if (o.resumed_after >= 0) {
      // Drops the steps after the checkpoint that the earlier process logged before it
      // stopped: they are trained again now (metrics.jsonl was trimmed the same way).
      first.push_back(tb::session_start(now, o.resumed_after + 1));
    } else {
      if (!o.config_toml.empty()) first.push_back(tb::text(now, 0, "config", code_block(o.config_toml)));
      if (!o.environment_json.empty()) {
        first.push_back(tb::text(now, 0, "environment", code_block(o.environment_json)));
      }
      if (!o.hparams_json.empty()) {
        first.push_back(tb::hparams_session_start(now, nlohmann::json::parse(o.hparams_json), o.hparams_group));
      }
    }
    write(first);
  }

  void on_step(const StepRecord& r) override { held_.push_back(r); }

  void on_eval(const EvalRecord& r) override {
    write_held(unix_seconds(), -1);
    std::vector<std::pair<std::string, double>> v;
    for (const auto& [name, x] : r.values) v.emplace_back("eval/" + name, x);
    write({tb::scalars(unix_seconds(), r.step, v)});
  }

  void on_progress(const Progress& p) override {
    write_held(unix_seconds(), p.elapsed_s);
    // Throughput over the last `every` steps, from the session's training clock.
    const double samples = p.samples_per_s * p.elapsed_s;
    if (last_elapsed_ >= 0 && (p.step % opts_.every == 0 || p.step == p.total_steps) && p.elapsed_s > last_elapsed_) {
      const double rate = (samples - last_samples_) / (p.elapsed_s - last_elapsed_);
      const bool tokens = opts_.tokens_per_sample > 0;
      write({tb::scalars(unix_seconds(), p.step,
                         {{tokens ? "train/tokens_per_s" : "train/samples_per_s",
                           tokens ? rate * double(opts_.tokens_per_sample) : rate}})});
    }
    if (last_elapsed_ < 0 || p.step % opts_.every == 0) {
      last_elapsed_ = p.elapsed_s;
      last_samples_ = samples;
    }
  }

  void on_finish() override {
    write_held(unix_seconds(), -1);
    if (!opts_.hparams_json.empty()) write({tb::hparams_session_end(unix_seconds(), tb::SessionStatus::kSuccess)});
  }

  void close() override {
    write_held(unix_seconds(), -1);  // a flush that ended the run (a nan loss under "stop")
    if (failed_) return;
    try {
      file_.close();
    } catch (const Error& e) {
      log::warn(e.what());
    }
  }

 private:
  // The held step records at wall time now - (elapsed - time_s); elapsed < 0 (not known):
  // the newest held record's time_s stands for now.
  void write_held(double now, double elapsed) {
    if (held_.empty()) return;
    if (elapsed < 0) elapsed = held_.back().time_s;
    std::vector<std::string> events;
    for (const StepRecord& r : held_) {
      std::vector<std::pair<std::string, double>> v = {
          {"train/loss", r.loss}, {"train/lr", r.lr}, {"train/data_wait_ms", r.data_wait_ms}};
      if (r.grad_norm >= 0) v.emplace_back("train/grad_norm", r.grad_norm);
      if (r.copy_ms >= 0) v.emplace_back("train/copy_ms", r.copy_ms);
      if (r.skipped) v.emplace_back("train/skipped", 1.0);
      if (r.loss_scale > 0) v.emplace_back("train/loss_scale", r.loss_scale);
      events.push_back(tb::scalars(now - std::max(0.0, elapsed - r.time_s), r.step, v));
    }
    held_.clear();
    write(events);
  }

  void write(const std::vector<std::string>& events) {
    if (failed_ || events.empty()) return;
    try {
      file_.write(events);
    } catch (const Error& e) {
      failed_ = true;  // the record was cut back off; later ones would only fail too
      log::warn(std::string(e.what()) + "; TensorBoard logging stopped for this run (metrics.jsonl continues)");
    }
  }

  TensorboardOptions opts_;
  EventFile file_;
  bool failed_ = false;
  double last_elapsed_ = -1, last_samples_ = 0;
  std::vector<StepRecord> held_;  // this flush's step records, until the progress after it
};

}  // namespace

std::unique_ptr<Sink> make_tensorboard_sink(const TensorboardOptions& opts) {
  return std::make_unique<TensorboardSink>(opts);
}

}  // namespace kiln::metrics
