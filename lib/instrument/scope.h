// KILN_SCOPE(Phase::kForward): the one line that instruments a phase. It opens an NVTX range
// (domain "kiln", the phase's colour, the current step as payload) in every build that has
// the NVTX headers, and, while a profiling window is open on this process, reports the span
// to the active Recorder (host clock, plus CUDA events on a GPU). Without a tool attached and
// outside a window it costs an NVTX no-op call and one relaxed atomic load.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

#include "instrument/phase.h"

namespace kiln::instrument {

class Recorder;

// The process's active recorder, installed by a profiling window and null otherwise. A
// process-wide pointer (not a parameter) so instrumentation sites keep their signatures:
// the step that `train` runs is the step that `profile` measures.
Recorder* active_recorder();
void set_active_recorder(Recorder* r);

// The step number the calling thread is working on (NVTX payload, trace args).
void set_current_step(int64_t step);
int64_t current_step();

// Names the calling OS thread in NVTX (shown by nsys) and in trace.json.
void name_this_thread(const char* name);
const std::string& this_thread_name();

// Whether this build opens NVTX ranges (false with -DKILN_NVTX=OFF or without CUDA headers).
bool nvtx_compiled_in();

class Scope {
 public:
  explicit Scope(Phase p);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  // The span did not happen after all (a step opened at the end of an epoch): the recorder
  // drops it and the spans opened inside it. The NVTX range still closes normally.
  void cancel();

 private:
  Phase phase_;
  Recorder* rec_;
  int span_ = -1;  // the recorder's handle for this span
};

}  // namespace kiln::instrument

#define KILN_SCOPE_CAT2(a, b) a##b
#define KILN_SCOPE_CAT(a, b) KILN_SCOPE_CAT2(a, b)
#define KILN_SCOPE(phase) ::kiln::instrument::Scope KILN_SCOPE_CAT(kiln_scope_, __LINE__)(phase)
