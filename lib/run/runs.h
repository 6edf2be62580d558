// `kiln runs`: the runs under a folder, each read from its run dir alone (manifest.json,
// summary.json, metrics.jsonl, config.toml), and the difference between two of them.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::run {

struct RunInfo {
  std::filesystem::path dir;
  std::string name;    // the path under the listed folder
  std::string task;    // train.task
  std::string model;   // model.name
  std::string status;  // finished | interrupted | failed | running
  std::string error;   // why it failed or stopped, when the manifest says
  int64_t steps = 0;   // optimizer steps done (the summary's, else the newest step record)
  std::string metric;  // the task's main metric (test_accuracy, test_loss, ...), "" if unknown
  bool higher_is_better = true;
  std::map<std::string, bool> higher_is_better_by_metric;  // every metric of the task
  std::optional<double> metric_value;                      // from the summary, else the newest evaluation
  double wall_s = 0;                                       // training seconds so far
  std::string weights_sha256;                              // finished runs only
  std::string started_at;
  nlohmann::json metrics;  // every metric of the newest evaluation / the summary, by name
};

// Reads one run dir; Error::usage when `dir` has no manifest.json.
RunInfo read_run(const std::filesystem::path& dir, const std::filesystem::path& under = {});

// Every run dir (a folder with a manifest.json) under `root`, `root` itself included, down to
// `max_depth` levels (a sweep's trials/NNNN/run is 3 below the sweep). Sorted by name.
std::vector<RunInfo> list_runs(const std::filesystem::path& root, int max_depth = 4);

// Sorts by `key`: name, status, steps, time, or a metric (best first, in the metric's
// direction where the runs' task says it; runs without the value last). Error::usage for a
// key no run has.
void sort_runs(std::vector<RunInfo>& runs, const std::string& key);

nlohmann::json to_json(const RunInfo& r);

// The table `kiln runs` prints: name, task, status, steps, main metric, time, weights hash.
std::string runs_table(const std::vector<RunInfo>& runs);

// `kiln runs diff A B`: config keys whose values differ (flattened "section.key", from each
// run's config.toml) and the two runs' metrics side by side.
struct RunDiff {
  struct Key {
    std::string key, a, b;  // values as TOML writes them; "(absent)" where one has no such key
  };
  std::vector<Key> config;
  std::vector<Key> metrics;  // every metric either run has, plus steps, time and weights hash
};
RunDiff diff_runs(const RunInfo& a, const RunInfo& b);
std::string diff_text(const RunInfo& a, const RunInfo& b, const RunDiff& d);
nlohmann::json to_json(const RunDiff& d);

}  // namespace kiln::run
