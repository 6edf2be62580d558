// The instrumentation's own cost, behind `kiln bench scopes`: nanoseconds per KILN_SCOPE
// (open + close) outside a profiling window (what every `kiln train` pays: the NVTX calls,
// no-ops without a tool attached, and one atomic load) and inside one (plus the recorder's
// clock reads, lock and span; on a GPU also two CUDA event records). Multiplied by the
// scopes a step opens and divided by the step time, it bounds the overhead far below the
// run-to-run noise of timing whole training runs (bench/profile_overhead.sh does both).
#pragma once
#include <cstdint>

#include <nlohmann/json_fwd.hpp>

namespace kiln::instrument {

// Times `calls` scopes per variant on the calling thread (best of 5 repeats, to drop
// scheduler noise) on `device_index` (-1: the CPU; >= 0: that CUDA device, spans also get
// CUDA events as in a real window). Returns {"off_ns", "window_ns", "calls", "device",
// "nvtx_compiled_in", "repeats"}.
nlohmann::json bench_scopes(int64_t calls, int device_index);

}  // namespace kiln::instrument
