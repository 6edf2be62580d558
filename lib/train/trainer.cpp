// The main training loop. Setup (data, model, optimizer, run dir, sinks) is in
// session.cpp; this file is the loop itself. KILN_SCOPE marks its phases (NVTX ranges, and
// spans for a profiling window when one is open).
#include "train/trainer.h"

#include <csignal>

#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "instrument/scope.h"
#include "repro/repro.h"
#include "train/evaluate.h"
#include "train/session.h"
#include "train/step.h"
#include "util/error.h"

namespace kiln::train {

nlohmann::json run(const config::RunConfig& cfg, const TrainOptions& opts) {
  Session s(cfg, opts);
  const auto& tc = cfg.train;
  const StepOptions step_opts{tc.label_smoothing, tc.grad_clip, tc.on_nonfinite == "skip"};
  int64_t step = s.state.step;
  checkpoint::TrainState at = s.state;  // after the newest step: where final.pt resumes
  const int64_t last = opts.stop_after > 0 ? std::min(s.total_steps, opts.stop_after) : s.total_steps;
  bool done = last <= step;
  if (opts.hook) opts.hook->start(s.run_dir);
  if (done && opts.eval_at_stop) {
    // Resumed with no step left (killed after the last step's checkpoint, or while writing
    // final.pt or summary.json): the end still owes the evaluation an unbroken run does.
    KILN_SCOPE(instrument::Phase::kEval);
    s.record_eval(step, at.epoch, evaluate(*s.net, *s.test_loader));
  }

  for (int64_t epoch = s.state.epoch; epoch < tc.epochs && !done; ++epoch) {
    instrument::set_current_step(epoch);
    KILN_SCOPE(instrument::Phase::kEpoch);
    s.train_loader->start(epoch, epoch == s.state.epoch ? s.state.next_batch : 0);
    for (;;) {
      if (opts.hook) opts.hook->before_step(step + 1);
      instrument::set_current_step(step + 1);
      StepStats st;
      int64_t next_batch = 0;
      {
        instrument::Scope step_scope(instrument::Phase::kStep);
        // Gather grad_accum micro-batches (fewer at the end of the epoch).
        std::vector<data::Batch> micro;
        double wait_ms = 0;
        while (int64_t(micro.size()) < tc.grad_accum) {
          std::optional<data::Batch> b;
          {
            KILN_SCOPE(instrument::Phase::kDataWait);
            b = s.train_loader->next();
          }
          if (!b) break;
          wait_ms += b->wait_ms;
          micro.push_back(std::move(*b));
        }
        if (micro.empty()) {
          step_scope.cancel();  // the epoch has ended: no step happened
          break;
        }
        const double lr = optim::lr_at(cfg.schedule, cfg.optim.lr, step, s.total_steps, s.steps_per_epoch);
        optim::set_lr(*s.optimizer, lr);
        st = train::step(*s.net, *s.optimizer, micro, step_opts);
        ++step;
        s.record_step(step, epoch, st, lr, wait_ms, micro.back().copy_ms);
        next_batch = micro.back().index + 1;
        at = {step, epoch, next_batch};
        if (cfg.checkpoint.every > 0 && step % cfg.checkpoint.every == 0) s.save_checkpoint(at);
      }
      if (opts.hook) opts.hook->after_step(step, st.samples);
      if (opts.stop && opts.stop->load() != 0) {
        s.interrupt(at, opts.stop->load());  // throws
      }
      if (step >= last) {
        done = true;
        break;
      }
    }
    if (done && !opts.eval_at_stop) break;
    KILN_SCOPE(instrument::Phase::kEval);
    s.record_eval(step, epoch, evaluate(*s.net, *s.test_loader));
  }
  return s.finish(at);
}

}  // namespace kiln::train
