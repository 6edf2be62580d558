// LR schedule formulas (see schedule.h).
#include "optim/schedule.h"

#include <algorithm>
#include <cmath>

#include "config/config.h"
#include "util/error.h"

namespace kiln::optim {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Cosine interpolation from `start` (t = 0) to `end` (t = 1).
double cos_anneal(double start, double end, double t) { return end + (start - end) * (1 + std::cos(kPi * t)) / 2; }

}  // namespace

double lr_at(const config::ScheduleConfig& cfg, double base_lr, int64_t step, int64_t total, int64_t steps_per_epoch) {
  total = std::max<int64_t>(total, 1);
  double lr = base_lr;
  if (cfg.name == "constant") {
    lr = base_lr;
  } else if (cfg.name == "step") {
    const int64_t size = cfg.step_size > 0 ? cfg.step_size : std::max<int64_t>(steps_per_epoch, 1);
    lr = base_lr * std::pow(cfg.gamma, static_cast<double>(step / size));
  } else if (cfg.name == "cosine") {
    // A one-step run takes the start value: its step is the first step, not the last.
    const double t = total > 1 ? std::min(1.0, double(step) / double(total - 1)) : 0.0;
    lr = cos_anneal(base_lr, cfg.min_lr, t);
  } else if (cfg.name == "onecycle") {
    // As torch.optim.lr_scheduler.OneCycleLR(anneal_strategy="cos", three_phase=False).
    const double initial = base_lr / cfg.div_factor;
    const double final_lr = initial / cfg.final_div_factor;
    // PyTorch's rise ends at pct_start * total - 1, which is below 0 for short runs
    // (pct_start * total < 1); it then skips the rise and starts part-way down. Clamped to
    // 0 here, so step 0 always gets the start value lr / div_factor, as in every longer run.
    const double up_end = std::max(0.0, cfg.pct_start * double(total) - 1);
    const double down_end = double(total) - 1;
    const double s = double(step);
    if (s <= up_end) {
      lr = cos_anneal(initial, base_lr, up_end > 0 ? s / up_end : 0.0);
    } else {
      const double span = down_end - up_end;
      lr = cos_anneal(base_lr, final_lr, span > 0 ? std::min(1.0, (s - up_end) / span) : 1.0);
    }
  } else {
    throw Error::usage("unknown schedule '" + cfg.name + "' (schedule.name)", "use constant, step, cosine or onecycle");
  }
  if (step < cfg.warmup_steps) lr *= double(step + 1) / double(cfg.warmup_steps);
  return lr;
}

}  // namespace kiln::optim
