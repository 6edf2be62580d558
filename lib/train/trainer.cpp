// The training loop, one screen: build the components, open the run dir, then per step the
// step itself and the periodic work after it, as a flat list. KILN_SCOPE marks its phases
// (NVTX ranges, and spans for a profiling window when one is open).
#include "train/trainer.h"

#include "instrument/scope.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "train/components.h"
#include "train/evaluate.h"
#include "train/graph_step.h"
#include "train/session.h"
#include "train/step.h"
#include "util/error.h"

namespace kiln::train {
namespace {
bool every(int64_t step, int64_t n) { return n > 0 && step % n == 0; }

nlohmann::json loop(const config::RunConfig& cfg, const TrainOptions& opts, Components& c, Session& s) {
  const auto& tc = cfg.train;
  const StepOptions step_opts{tc.grad_clip,   tc.on_nonfinite == "skip", parse_precision(tc.precision),
                              c.scaler.get(), c.grad_sync.get(),         c.group.get(),
                              opts.stop};
  // A stop signal reaches the ranks at different steps (or one rank only): in a job the step
  // agrees on it (StepStats::stop_signal), so all stop after the same one.
  auto stop_signal = [&](const StepStats& st) -> int {
    if (c.group) return st.stop_signal;
    return opts.stop ? opts.stop->load() : 0;
  };
  checkpoint::TrainState at = s.start();  // after the newest step: where final.pt resumes
  int64_t step = at.step;
  const int64_t last = s.last_step();
  bool done = last <= step;
  auto evaluate_now = [&](int64_t epoch) {
    KILN_SCOPE(instrument::Phase::kEval);
    s.log().eval(step, epoch,
                 evaluate(*c.net, *c.test_loader, *c.task, "test", step_opts.precision,
                          c.eval_sharded ? c.group.get() : nullptr));
  };
  if (opts.hook) {
    opts.hook->start(s.dir().root);
    opts.hook->net_ready(*c.net, c.splits.train->spec());
  }
  // Resumed with no step left (killed after the last checkpoint, or while writing final.pt or
  // summary.json), or at a step whose evaluation the stop came before: owe the evaluation
  // an unbroken run does (resume trimmed metrics.jsonl back to before it).
  if ((done && opts.eval_at_stop) || (!done && s.resumed() && step > 0 && every(step, tc.eval_every))) {
    evaluate_now(at.epoch);
  }

  if (s.started_by_auto()) s.save_checkpoint(at);  // step 0: a restart can always resume
  // train.cuda_graph: captured at the first step, after the resume's load (check_cuda_graph
  // refused what cannot be captured).
  std::unique_ptr<GraphStep> graph;
  if (tc.cuda_graph) graph = std::make_unique<GraphStep>(*c.net, *c.optimizer, *c.task, step_opts);

  for (int64_t epoch = at.epoch; epoch < tc.epochs && !done; ++epoch) {
    instrument::set_current_step(epoch);
    KILN_SCOPE(instrument::Phase::kEpoch);
    c.train_loader->start(epoch, epoch == s.start().epoch ? s.start().next_batch : 0);
    for (;;) {
      if (opts.hook) opts.hook->before_step(step + 1);
      instrument::set_current_step(step + 1);
      StepStats st;
      {
        instrument::Scope step_scope(instrument::Phase::kStep);
        // Gather grad_accum micro-batches (fewer at the end of the epoch).
        std::vector<data::Batch> micro;
        double wait_ms = 0;
        while (int64_t(micro.size()) < tc.grad_accum) {
          std::optional<data::Batch> b;
          {
            KILN_SCOPE(instrument::Phase::kDataWait);
            b = c.train_loader->next();
          }
          if (!b) break;
          wait_ms += b->wait_ms;
          micro.push_back(std::move(*b));
        }
        if (micro.empty()) {
          step_scope.cancel();  // the epoch has ended: no step happened
          break;
        }
        const double lr = optim::lr_at(cfg.schedule, cfg.optim.lr, step, c.total_steps, c.steps_per_epoch);
        optim::set_lr(*c.optimizer, lr);
        st = graph ? graph->run(micro, lr) : train::step(*c.net, *c.optimizer, *c.task, micro, step_opts);
        ++step;
        s.log().step(step, epoch, st, lr, wait_ms, micro.back().copy_ms);
        at = {step, epoch, micro.back().index + 1};
        // Periodic work after the step, in this order (a checkpoint precedes its step's eval).
        if (every(step, cfg.checkpoint.every)) s.save_checkpoint(at);
      }
      if (opts.hook) opts.hook->after_step(step, st.samples);
      if (const int sig = stop_signal(st); sig != 0) s.interrupt(at, sig);  // throws
      if (step >= last) {
        done = true;
        break;
      }
      if (every(step, tc.eval_every)) evaluate_now(epoch);
    }
    if (done && !opts.eval_at_stop) break;
    // train.eval_every = 0: every epoch's end; else the last step, unless just evaluated.
    if (tc.eval_every == 0 || (done && s.log().last_eval_step() != step)) evaluate_now(epoch);
  }
  return s.finish(at);
}

}  // namespace

nlohmann::json run(const config::RunConfig& cfg, const TrainOptions& opts) {
  // Everything that can fail on bad input; in a data-parallel job, then the rendezvous.
  Components c = build_components(cfg, opts.world, std::chrono::milliseconds(int64_t(opts.dist_timeout_s * 1000)));
  Session s(cfg, opts, c);  // the run dir, created or resumed
  try {
    start_grad_sync(c, cfg.loader.batch_size);  // after a resume's load: the weights it starts from
    return loop(cfg, opts, c, s);
  } catch (const Error& e) {
    const bool stopped = e.code() == ExitCode::kInterrupted || e.code() == ExitCode::kTerminated;
    s.record_end(stopped ? "interrupted" : "failed", e.what());
    throw;
  } catch (const std::exception& e) {
    if (c.group) {
      // A peer that died or stopped answering surfaces here as c10d's error (from backward,
      // inside the Reducer): said as a kiln error naming this rank and the job.
      try {
        dist::rethrow_as_kiln(c.world, "training step", e);
      } catch (const Error& k) {
        s.record_end("failed", k.what());
        throw;
      }
    }
    s.record_end("failed", e.what());
    throw;
  }
}

}  // namespace kiln::train
