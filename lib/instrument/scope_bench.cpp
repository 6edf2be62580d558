// `kiln bench scopes`: what one KILN_SCOPE costs, in and out of a profiling window.
#include "instrument/scope_bench.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <vector>

#include "instrument/recorder.h"
#include "instrument/scope.h"

namespace kiln::instrument {
namespace {

constexpr int kRepeats = 5;
// Spans per recorder: a window's worth (about 100 steps of ~10 scopes), so the span vector
// grows as in a real window instead of holding millions of spans.
constexpr int64_t kBlock = 1024;

using Clock = std::chrono::steady_clock;

// ns per open + close of `calls` scopes, best of kRepeats. With `window`, a fresh Recorder
// is active for every block of kBlock scopes; creating and finishing it is not timed.
double time_scopes(int64_t calls, bool window, int device_index) {
  Recorder* const outer = active_recorder();  // restored below; "off" means no recorder at all
  set_active_recorder(nullptr);
  double best = 1e300;
  for (int r = 0; r < kRepeats; ++r) {
    double ns = 0;
    for (int64_t done = 0; done < calls; done += kBlock) {
      const int64_t n = std::min(kBlock, calls - done);
      std::unique_ptr<Recorder> rec;
      if (window) {
        rec = std::make_unique<Recorder>(device_index);
        set_active_recorder(rec.get());
      }
      const auto t0 = Clock::now();
      for (int64_t i = 0; i < n; ++i) {
        Scope s(Phase::kForward);  // out of line (scope.cpp): the compiler cannot drop it
      }
      ns += std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
      if (rec) {
        set_active_recorder(nullptr);
        rec->finish();  // resolves the CUDA events, untimed
      }
    }
    best = std::min(best, ns / double(calls));
  }
  set_active_recorder(outer);
  return best;
}

}  // namespace

nlohmann::json bench_scopes(int64_t calls, int device_index) {
  time_scopes(std::min<int64_t>(calls, kBlock), true, device_index);  // warm-up: NVTX init, CUDA context
  const double off = time_scopes(calls, false, device_index);
  const double on = time_scopes(calls, true, device_index);
  return {{"calls", calls},
          {"repeats", kRepeats},
          {"device", device_index < 0 ? "cpu" : "cuda:" + std::to_string(device_index)},
          {"nvtx_compiled_in", nvtx_compiled_in()},
          {"off_ns", off},
          {"window_ns", on}};
}

}  // namespace kiln::instrument
