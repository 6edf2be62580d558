// The phases kiln marks: one NVTX range colour and one row of `kiln profile`'s table each.
#pragma once
#include <cstdint>

namespace kiln::instrument {

enum class Phase : int {
  kEpoch = 0,
  kStep,      // one optimizer step, data wait included
  kDataWait,  // the training thread blocked on the loader
  kCopy,      // issuing the host-to-device copy of a batch (the copy runs on its own stream)
  kForward,   // forward + loss, per micro-batch
  kBackward,
  kOptimizer,  // zero_grad, gradient clipping and the parameter update
  kEval,
  kCheckpoint,
  kLoadBatch,  // a loader worker filling one batch (loader threads)
  kComm,       // data-parallel communication the step waits for outside backward (the loss's
               // all-reduce, the stop check); the gradients' all-reduce overlaps backward
  kCount
};
constexpr int kPhaseCount = static_cast<int>(Phase::kCount);

// "data_wait", "forward", ...: the names used in NVTX, profile.json and trace.json.
const char* phase_name(Phase p);
// 0xAARRGGBB colour of the phase's NVTX ranges (fixed, so nsys timelines read the same).
uint32_t phase_colour(Phase p);

}  // namespace kiln::instrument
