// StepHook: work a caller plugs into the training loop around every optimizer step, without
// the loop knowing what it is. A profiling window (profile::Window, for `kiln profile` and
// `kiln train --profile-steps`) is one; profile/ sits above train/ and implements it.
#pragma once
#include <cstdint>
#include <filesystem>

#include "data/dataset.h"
#include "model/registry.h"

namespace kiln::train {

class StepHook {
 public:
  virtual ~StepHook() = default;
  // Called before anything is written, once the run's steps are known: it goes from step
  // done + 1 to `last` (done > 0 when resuming). Throws Error::usage when the hook has
  // nothing to do in that range; may narrow itself to it.
  virtual void fit(int64_t done, int64_t last) = 0;
  // The run dir, once it exists (where the hook may write its files).
  virtual void start(const std::filesystem::path& run_dir) = 0;
  // The net as it will train (on its device, weights loaded when resuming) and its input:
  // a hook may look (a profiling window counts the FLOPs of a sample); it must change nothing.
  virtual void net_ready(model::Net& net, const data::SampleSpec& spec) {}
  virtual void before_step(int64_t step) = 0;                  // step: 1-based, about to run
  virtual void after_step(int64_t step, int64_t samples) = 0;  // samples: in that step
};

}  // namespace kiln::train
