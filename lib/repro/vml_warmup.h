// MKL's vector math (VML) called once per function on every intra-op thread, one thread at a
// time, before training: LibTorch's sqrt, exp, log, tanh, erf, ... kernels call VML from all
// intra-op threads at once, and when a function's first calls race, one thread can compute
// that function at lower accuracy for the rest of the process (see docs/reproducibility.md).
#pragma once

namespace kiln::repro {

// Returns the number of VML functions found and warmed (0 where LibTorch has no MKL).
// Idempotent per thread team; cheap (microseconds per function and thread).
int warm_up_vml();

}  // namespace kiln::repro
