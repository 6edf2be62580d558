// MKL's vector math (VML) called once per function on every intra-op thread, one thread at a
// time, before training: LibTorch's sqrt, exp, log, tanh, erf, ... kernels call VML from all
// intra-op threads at once; in about 1 of 100-300 fresh processes one thread's share of a
// sqrt came out up to 3.7e-4 off (a race in MKL's lazy set-up is the likely cause, not
// proven; the warm-up removed it in 693 of 693 runs, see docs/reproducibility.md).
#pragma once

namespace kiln::repro {

// Returns the number of VML functions found and warmed (0 where LibTorch has no MKL).
// Idempotent per thread team; cheap (microseconds per function and thread).
int warm_up_vml();

}  // namespace kiln::repro
