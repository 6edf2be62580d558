// manifest.json and summary.json: what a run dir says about its run. The manifest is
// written when the run starts (ended_at null) and again at its end with the summary as
// "result"; summary.json is written last, so its presence means the run finished.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "run/run_dir.h"

namespace kiln::run {

struct Manifest {
  nlohmann::json environment;  // repro::environment(): versions, CPU, device, thread counts
  std::string command_line;
  uint64_t seed = 0;
  std::string config_toml;   // the effective config itself, as config.toml holds it
  nlohmann::json dataset;    // name, dir, train/test fingerprints
  std::string started_at;    // local time, ISO 8601
  std::string resumed_from;  // the checkpoint this run continues ("" for a fresh run)
  // "running" while the process trains (with its pid and host, so `kiln runs` can tell a live
  // run from one that was killed), then "finished", "interrupted" (SIGINT/SIGTERM, resumable)
  // or "failed" (with `error`: diverged, a runtime failure).
  std::string status = "running";
  std::string error;
  int64_t pid = 0;
  std::string host;
  // A data-parallel job: {"size": N, "launcher": ..., "ranks": [{"rank", "host", "pid",
  // "device"}, ...]}; null for one process.
  nlohmann::json world;
};

// Writes manifest.json atomically; `result` (the summary) marks the run's end (status
// "finished"); a status other than "running" sets ended_at too.
void write_manifest(const RunDir& dir, const Manifest& m, const nlohmann::json* result = nullptr);

// Writes summary.json atomically.
void write_summary(const RunDir& dir, const nlohmann::json& summary);

// The local time as "2026-12-02T05:10:24+0000".
std::string now_iso();

}  // namespace kiln::run
