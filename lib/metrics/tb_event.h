// TensorBoard's Event records, serialized (tensorboard/compat/proto/event.proto, summary.proto,
// tensor.proto; the HParams plugin's plugin_data.proto and api.proto). Each function returns
// one serialized `Event`, ready for a TFRecord frame (metrics/event_file.h).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace kiln::metrics::tb {

// The first record of every event file: file_version "brain.Event:2". Version 2 makes
// TensorBoard purge events from a run's restart (see session_start).
std::string file_version(double wall_time);

// Scalars at one step, one Summary.Value each (simple_value: TensorBoard stores float32).
std::string scalars(double wall_time, int64_t step, const std::vector<std::pair<std::string, double>>& values);

// A text summary (the text plugin; rendered as Markdown) under `tag`.
std::string text(double wall_time, int64_t step, const std::string& tag, const std::string& markdown);

// SessionLog START at `step`: TensorBoard's reader drops every event of this run at or after
// `step` written before it, which is how a resumed run's replayed steps are not shown twice.
std::string session_start(double wall_time, int64_t step);

// The HParams plugin. A trial's hyperparameters (`hparams`: a JSON object of numbers,
// strings and bools) as its session's start, and the session's end; the experiment (the
// sweep: which hyperparameters and which metric tags to compare) for the sweep dir.
std::string hparams_session_start(double wall_time, const nlohmann::json& hparams, const std::string& group);
enum class SessionStatus { kSuccess = 1, kFailure = 2, kRunning = 3 };
std::string hparams_session_end(double wall_time, SessionStatus status);
std::string hparams_experiment(double wall_time, const std::string& name, const nlohmann::json& hparams,
                               const std::vector<std::string>& metric_tags);

}  // namespace kiln::metrics::tb
