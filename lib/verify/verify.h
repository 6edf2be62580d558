// kiln verify: re-runs a recorded run from its saved config and seed and compares it with
// the record, step by step (training loss) and at the end (weights SHA-256).
#pragma once
#include <filesystem>

#include <nlohmann/json.hpp>

#include "dist/world.h"

namespace kiln::verify {

struct VerifyOptions {
  int64_t steps = 0;      // compare only the first N steps (0 = the whole run)
  bool progress = false;  // console output of the replayed run
  // Under a launcher (kiln launch, torchrun, srun): this process's rank of the job that
  // replays a data-parallel run, which must have the recorded run's world size.
  dist::World world;
  double dist_timeout_s = 300;
};

// Returns {"match", "steps_compared", "first_divergent_step" (or null), "recorded_loss",
// "replayed_loss", "weights_match" (or null when not compared), "environment_diff", ...}.
// Throws Error::usage when run_dir is not a complete kiln run dir, or was trained by a job of
// another world size than opts.world's. In a job every rank calls it; only rank 0's result
// holds the comparison (the other ranks return {"rank": r}).
nlohmann::json verify_run(const std::filesystem::path& run_dir, const VerifyOptions& opts);

}  // namespace kiln::verify
