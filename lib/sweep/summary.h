// The end of a sweep: the best trial, DIR/best.toml (the base config with its params, ready
// for `kiln train`) and DIR/summary.json (what `kiln sweep --json` prints).
#pragma once
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "optuna/study.h"
#include "sweep/spec.h"

namespace kiln::sweep {

// Counts the study's trials by state, finds the best COMPLETE trial (the first of equal
// values), writes best.toml when there is one and summary.json always, and returns the
// summary (its keys: see sweep::run). `base` is the trials' base config (nullopt: kiln's
// defaults); `study_file` goes into the summary when the study is a local file. With
// `console`, the best trial is named on stderr.
nlohmann::json write_summary(const optuna::Study& study, const SweepSpec& spec, const std::filesystem::path& dir,
                             const std::optional<std::filesystem::path>& base,
                             const std::optional<std::filesystem::path>& study_file, bool console);

}  // namespace kiln::sweep
