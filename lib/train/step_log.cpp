// StepLog: buffered step records, evaluations, progress and the nan/inf loss policy.
#include "train/step_log.h"

#include <ATen/ops/stack.h>

#include <cmath>

#include "util/log.h"

namespace kiln::train {

StepLog::StepLog(const config::RunConfig& cfg, int64_t total_steps, std::vector<std::shared_ptr<metrics::Sink>> sinks,
                 Diverged diverged, double train_seconds, int64_t samples)
    : cfg_(cfg),
      total_steps_(total_steps),
      sinks_(std::move(sinks)),
      diverged_(std::move(diverged)),
      start_(std::chrono::steady_clock::now()),
      last_tick_(start_),
      train_seconds_(train_seconds),
      samples_(samples) {}

StepLog::~StepLog() {
  for (auto& s : sinks_) s->close();
}

void StepLog::step(int64_t step, int64_t epoch, const StepStats& st, double lr, double wait_ms, double copy_ms) {
  const auto now = std::chrono::steady_clock::now();
  train_seconds_ += std::chrono::duration<double>(now - last_tick_).count();
  last_tick_ = now;
  samples_ += st.samples;
  pending_.push_back({step, epoch, st.samples, lr, wait_ms, copy_ms, st.loss, st.grad_norm, st.loss_scale, st.skipped,
                      st.skip_flag, train_seconds_});
  if (step % cfg_.log.every == 0 || step == total_steps_) flush();
  metrics::Progress p{step,
                      total_steps_,
                      epoch,
                      cfg_.train.epochs,
                      train_seconds_ > 0 ? double(samples_) / train_seconds_ : 0.0,
                      train_seconds_,
                      last_loss_,
                      tokens_per_sample_};
  for (auto& s : sinks_) s->on_progress(p);
}

void StepLog::flush() {
  if (pending_.empty()) return;
  // One device-to-host copy for all pending losses.
  std::vector<at::Tensor> losses;
  for (const auto& p : pending_) losses.push_back(p.loss.to(at::kFloat));
  auto host = at::stack(losses).to(at::kCPU).to(at::kDouble);
  const double* l = host.data_ptr<double>();
  const Pending* bad = nullptr;  // the first step whose loss is nan/inf
  for (size_t i = 0; i < pending_.size(); ++i) {
    const auto& p = pending_[i];
    const bool skipped = p.skipped || (p.skip_flag.defined() && p.skip_flag.item<float>() != 0.0f);
    // A step skipped on the device still clipped (nan): no norm, as when the host skips it.
    const bool has_norm = p.grad_norm.defined() && !skipped;
    metrics::StepRecord r{p.step,
                          p.epoch,
                          l[i],
                          p.lr,
                          has_norm ? p.grad_norm.item<double>() : -1.0,
                          p.wait_ms,
                          p.copy_ms,
                          p.samples,
                          p.time_s,
                          skipped,
                          p.loss_scale.defined() ? p.loss_scale.item<double>() : -1.0};
    for (auto& s : sinks_) s->on_step(r);
    last_loss_ = l[i];
    if (!std::isfinite(l[i]) && !bad) bad = &p;
  }
  if (bad) {
    // Every step up to here is in metrics.jsonl (nan/inf shows as null) before any decision.
    const std::string what =
        "the training loss is " + std::string(std::isnan(l[bad - pending_.data()]) ? "nan" : "inf");
    const auto& policy = cfg_.train.on_nonfinite;
    if (policy == "stop") {
      const Pending p = *bad;
      pending_.clear();
      diverged_(what, p.step, p.epoch);
    }
    if (!warned_nonfinite_) {
      log::warn(what + " at step " + std::to_string(bad->step) + (policy == "skip" ? "; its update was skipped" : "") +
                " (train.on_nonfinite = " + policy + "; the summary counts such steps as nonfinite_steps)");
      warned_nonfinite_ = true;
    }
  }
  pending_.clear();
}

void StepLog::finish() {
  flush();
  for (auto& s : sinks_) s->on_finish();
}

void StepLog::eval(int64_t step, int64_t epoch, const EvalResult& r) {
  flush();
  last_eval_ = r;
  has_eval_ = true;
  last_eval_step_ = step;
  last_eval_epoch_ = epoch;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  for (auto& s : sinks_) s->on_eval({step, epoch, r.values, elapsed});
  last_tick_ = std::chrono::steady_clock::now();  // evaluation time is not training time
}

}  // namespace kiln::train
