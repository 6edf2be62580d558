// Remote mode: a Backend that asks, reports and tells through tools/optuna_server.py (real
// Optuna behind HTTP), so Optuna's sampler, pruner and any Optuna storage (a journal file,
// SQLite, PostgreSQL shared by many machines) do the work. Results survive a server that is
// down or restarting: every report/tell is kept in a pending file until the server has it.
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include "optuna/study.h"
#include "sweep/backend.h"

namespace kiln::sweep {

struct RemoteOptions {
  std::string url;         // http://host:port (an optional path prefix is kept: http://h/optuna)
  std::string token;       // "" = none (else "Authorization: Bearer ...")
  std::string study_name;  // created on the server if missing, loaded otherwise
  optuna::Direction direction = optuna::Direction::kMinimize;
  std::string metric;  // the objective's name (Optuna's metric_names), "" = unnamed
  // Unsent reports/tells, one JSON object a line; "" keeps nothing on disk. Refused records
  // (4xx other than 401/403) are moved to "<pending_file>.rejected" instead of being dropped.
  std::filesystem::path pending_file;
  // Per attempt (seconds); connection errors and 5xx are retried with backoff 0.2 s doubling
  // to 5 s until give_up_after_s have passed since the first attempt.
  double request_timeout_s = 10;
  double give_up_after_s = 120;
};

// Connects (creating or loading the study; a direction clash is a usage error), then sends
// whatever the pending file holds from an earlier run (tells with skip_if_finished, so a
// result the server already has is not an error). Throws kiln::Error: usage for a bad URL,
// a refused study or token (401), runtime when the server does not answer in time.
std::unique_ptr<Backend> make_remote_backend(const RemoteOptions& options);

}  // namespace kiln::sweep
