// Recorder: collects the spans that KILN_SCOPE reports while a profiling window is open:
// host start/end (steady clock, microseconds since the window opened) from every thread,
// and, on a GPU, a CUDA event pair per span of the training thread, resolved after the
// window with one synchronisation.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "instrument/device_timer.h"
#include "instrument/phase.h"

namespace kiln::instrument {

struct Span {
  Phase phase = Phase::kStep;
  int64_t step = 0;
  int thread = 0;           // index into Recorder::threads(); 0 = the training thread
  double begin_us = 0.0;    // host clock, since the window opened
  double end_us = -1.0;     // -1 while open
  double device_ms = -1.0;  // CUDA event time of the span; -1 on the CPU / other threads
  int ev_begin = -1, ev_end = -1;
  bool discarded = false;  // a step that turned out not to happen (the epoch had ended)
};

class Recorder {
 public:
  // The calling thread is the training thread. device_index >= 0: time its spans with CUDA
  // events on that device's current stream as well.
  explicit Recorder(int device_index = -1);

  int begin(Phase p, int64_t step);  // thread-safe
  void end(int span);                // thread-safe
  // Drops span `first` and every later span of the same thread (a cancelled step).
  void discard_from(int first);
  // Resolves device times (waits for the recorded events); call after the window.
  void finish();

  // Copies taken under the lock: loader workers may still close spans they opened before the
  // window ended (those stay open, end_us = -1, in the copy).
  std::vector<Span> spans();
  std::vector<std::string> threads();
  bool device_timed() const { return timer_ != nullptr; }
  double elapsed_us() const;  // host time since the window opened

 private:
  int thread_index();  // under mu_

  std::mutex mu_;
  std::chrono::steady_clock::time_point t0_;
  std::thread::id main_;
  std::unique_ptr<DeviceTimer> timer_;
  std::vector<Span> spans_;
  std::vector<std::thread::id> ids_;
  std::vector<std::string> names_;
};

}  // namespace kiln::instrument
