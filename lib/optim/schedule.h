// Learning-rate schedules as pure functions of the optimizer step, so resuming needs only
// the step counter. `step` counts from 0; `total` is the run's number of optimizer steps.
//   constant:  lr
//   step:      lr * gamma^floor(step / step_size)
//   cosine:    min_lr + (lr - min_lr) * (1 + cos(pi * t)) / 2,  t = step / (total - 1)
//   onecycle:  PyTorch OneCycleLR (cosine annealing): from lr/div_factor up to lr over
//              pct_start of the steps, then down to lr/(div_factor*final_div_factor)
// Warm-up (any schedule): for step < warmup_steps, multiply by (step + 1) / warmup_steps.
// At the ends: step 0 always gets the schedule's start value (lr, or lr / div_factor for
// onecycle; times 1 / warmup_steps with warm-up), also when total is 1; the last step
// (total - 1) gets its end value (min_lr, or onecycle's final lr) when total >= 2. A warm-up
// longer than the run keeps ramping: the run ends below the peak lr.
#pragma once
#include <cstdint>

namespace kiln::config {
struct ScheduleConfig;
}

namespace kiln::optim {

// `steps_per_epoch` is used when schedule.step_size is 0 (decay once per epoch).
double lr_at(const config::ScheduleConfig& cfg, double base_lr, int64_t step, int64_t total, int64_t steps_per_epoch);

}  // namespace kiln::optim
