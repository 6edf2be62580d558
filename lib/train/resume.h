// Resuming a run: finding its newest complete checkpoint, checking that the config still
// describes the same computation, and trimming metrics.jsonl back to the checkpoint so that
// the resumed run's records continue it without duplicates.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "config/config.h"

namespace kiln::train {

// The run dir a checkpoint belongs to: <run>/checkpoints/step-N.pt -> <run>.
std::filesystem::path run_dir_of(const std::filesystem::path& checkpoint);

// `resume` = "auto": the newest complete, intact checkpoint in run_dir/checkpoints (others
// are skipped with a warning); else the checkpoint at that path, verified. Throws Error::usage.
std::filesystem::path find_checkpoint(const std::string& resume, const std::filesystem::path& run_dir);

// "key: saved -> now" for every key whose change alters what the run computes (everything
// but logging, checkpointing, loader threads/prefetch, LibTorch threads and the run name).
std::vector<std::string> config_changes(const config::RunConfig& saved, const config::RunConfig& now);

// Rewrites `file` keeping step records up to s.step and the evaluations before it (an
// evaluation at s.step itself came after the checkpoint, so the resumed run redoes it);
// returns the records kept.
std::vector<nlohmann::json> trim_metrics(const std::filesystem::path& file, const checkpoint::TrainState& s);

}  // namespace kiln::train
