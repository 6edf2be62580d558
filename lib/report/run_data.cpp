// run_data (see run_data.h).
#include "report/run_data.h"

#include <unistd.h>

#include <cmath>
#include <string>
#include <vector>

#include "run/metrics_log.h"
#include "run/runs.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/toml_parse.h"

namespace kiln::report {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A trace with more events than this is cut (the page draws one rectangle per event).
constexpr size_t kMaxTraceEvents = 20000;

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// A JSON file of the run dir, or null when it is absent; garbled is bad input.
json read_json_file(const fs::path& path, const std::string& what) {
  if (!fs::exists(path)) return nullptr;
  const std::string text = util::read_file(path);
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    throw Error::usage(what + " " + path.string() + " is not a JSON object (garbled or cut short)",
                       "restore or remove the file, then run kiln report again");
  }
  return j;
}

// A record's number, or `fallback` when the key is absent or not a number (a record of
// another kiln version, or edited): never a JSON type error.
double number(const json& record, const char* key, double fallback) {
  const auto it = record.find(key);
  return it != record.end() && it->is_number() ? it->get<double>() : fallback;
}

json number_or_null(const json& record, const char* key) {
  const auto it = record.find(key);
  return it != record.end() && it->is_number() ? *it : json(nullptr);
}

// metrics.jsonl's records; a garbled line anywhere but the last is bad input.
std::vector<json> read_records(const fs::path& path, json& notes) {
  if (!fs::exists(path)) {
    notes.push_back("no metrics.jsonl: the run logged no steps");
    return {};
  }
  if (access(path.c_str(), R_OK) != 0) {
    throw Error::usage("cannot read " + path.string() + ": permission denied", "make it readable (chmod u+r)");
  }
  run::SkippedLines skipped;
  std::vector<json> records = run::read_metrics(path, &skipped);
  const std::vector<int64_t>& bad = skipped.numbers;
  if (bad.empty()) return records;
  // One bad line at the very end, after good records, is a record cut short by a kill:
  // every reader skips it. Anything else is not a log kiln wrote.
  if (bad.size() == 1 && bad[0] == skipped.lines && !records.empty()) {
    notes.push_back("metrics.jsonl line " + std::to_string(bad[0]) + " is cut short (a killed run?) and left out");
    return records;
  }
  throw Error::usage("garbled " + path.string() + ": line " + std::to_string(bad[0]) + " is not a JSON record (" +
                         std::to_string(bad.size()) + " such line" + (bad.size() == 1 ? "" : "s") + ")",
                     "this is not a metrics log kiln wrote, or it was edited; restore it from a copy");
}

// Throughput per logged interval. The trainer buffers step records and stamps each flush
// with one time_s (log.every steps share it), so a rate is taken per run of records with the
// same time_s: their samples over the time since the previous run (since the start, time 0,
// for the first), set on the run's last record; the others are null.
json throughput_column(const std::vector<double>& time_s, const std::vector<double>& samples,
                       double tokens_per_sample) {
  json out = json::array();
  double prev = 0, pending = 0;
  for (size_t i = 0; i < time_s.size(); ++i) {
    pending += samples[i];
    const bool last_of_run = i + 1 == time_s.size() || time_s[i + 1] != time_s[i];
    const double dt = time_s[i] - prev;
    if (!last_of_run || !std::isfinite(dt)) {
      out.push_back(nullptr);
      continue;
    }
    out.push_back(dt > 0 && pending > 0 ? json(pending * tokens_per_sample / dt) : json(nullptr));
    prev = time_s[i];
    pending = 0;
  }
  return out;
}

// A rolling rate over the per-interval one: at each interval's point, the samples of the
// last `window` intervals over the time they took (a rate of sums, not a mean of rates, so a
// short interval weighs what it lasted); null where the per-interval rate is null. The
// window: a twentieth of the intervals, so a long run's line follows the trend without the
// per-flush jitter; below 2 there is nothing to smooth and the column is all null.
int64_t rolling_window(const json& rate) {
  int64_t n = 0;
  for (const auto& v : rate) n += !v.is_null();
  return n / 20;
}

json rolling_column(const std::vector<double>& time_s, const std::vector<double>& samples, const json& rate,
                    int64_t window, double tokens_per_sample) {
  json out = json::array();
  std::vector<double> ends = {0}, sums = {0};  // per interval: its end time, cumulative samples
  double pending = 0;
  for (size_t i = 0; i < time_s.size(); ++i) {
    pending += samples[i];
    if (rate[i].is_null()) {
      // a record inside a flush, or one that added no time: its samples count in the next
      out.push_back(nullptr);
      continue;
    }
    ends.push_back(time_s[i]);
    sums.push_back(sums.back() + pending);
    pending = 0;
    const size_t j = ends.size() - 1, from = j >= size_t(window) ? j - size_t(window) : 0;
    const double dt = ends[j] - ends[from];
    out.push_back(window >= 2 && dt > 0 ? json((sums[j] - sums[from]) * tokens_per_sample / dt) : json(nullptr));
  }
  return out;
}

// Step records as columns: x and y arrays the page plots without reshaping.
json step_columns(const std::vector<json>& records, double tokens_per_sample) {
  json step = json::array(), loss = json::array(), lr = json::array(), time_s = json::array(), wait = json::array(),
       grad_norm = json::array();
  std::vector<double> times, samples;
  for (const auto& r : records) {
    if (run::record_type(r) != "step") continue;
    step.push_back(number_or_null(r, "step"));
    loss.push_back(number_or_null(r, "loss"));  // null: a nan/inf loss
    lr.push_back(number_or_null(r, "lr"));
    time_s.push_back(number_or_null(r, "time_s"));
    wait.push_back(number_or_null(r, "data_wait_ms"));
    grad_norm.push_back(number_or_null(r, "grad_norm"));
    times.push_back(number(r, "time_s", NAN));
    samples.push_back(number(r, "samples", 0));
  }
  const json rate = throughput_column(times, samples, tokens_per_sample);
  const int64_t window = rolling_window(rate);
  return {{"step", step},
          {"loss", loss},
          {"lr", lr},
          {"time_s", time_s},
          {"data_wait_ms", wait},
          {"throughput", rate},
          {"throughput_rolling", rolling_column(times, samples, rate, window, tokens_per_sample)},
          {"throughput_window", window},
          {"grad_norm", grad_norm}};
}

// Evaluation records as columns, one array per metric key.
json eval_columns(const std::vector<json>& records) {
  json step = json::array(), epoch = json::array(), metrics = json::object();
  std::vector<std::string> keys;
  for (const auto& r : records) {
    if (run::record_type(r) != "eval") continue;
    for (const auto& [k, v] : r.items()) {
      if (k == "type" || k == "step" || k == "epoch" || k == "time_s" || !v.is_number()) continue;
      if (!metrics.contains(k)) {
        metrics[k] = json::array();
        // A metric that appears later is null for the evaluations before it.
        for (size_t i = 0; i < step.size(); ++i) metrics[k].push_back(nullptr);
        keys.push_back(k);
      }
    }
    step.push_back(number_or_null(r, "step"));
    epoch.push_back(number_or_null(r, "epoch"));
    for (const auto& k : keys) metrics[k].push_back(number_or_null(r, k.c_str()));
  }
  return {{"step", step}, {"epoch", epoch}, {"metrics", metrics}, {"main", main_metric(keys)}};
}

// profile/: the report (profile.json as written) and the trace's spans, one {name, tid, ts,
// dur} per complete event (µs since the window opened), with the thread names.
json profile_data(const fs::path& dir, json& notes) {
  const json profile = read_json_file(dir / "profile.json", "profile");
  if (profile.is_null()) return nullptr;
  json out = {{"report", profile}, {"events", json::array()}, {"threads", json::object()}};
  const fs::path trace_path = dir / "trace.json";
  if (!fs::exists(trace_path)) {
    notes.push_back("profile/trace.json is missing: no timeline");
    return out;
  }
  const json trace = json::parse(util::read_file(trace_path), nullptr, false);
  const json* events = nullptr;
  if (trace.is_object() && trace.contains("traceEvents") && trace["traceEvents"].is_array()) {
    events = &trace["traceEvents"];
  } else if (trace.is_array()) {
    events = &trace;
  }
  if (!events) {
    throw Error::usage("profile trace " + trace_path.string() + " is not a Chrome trace (garbled or cut short)",
                       "re-run the profile, or remove profile/trace.json");
  }
  for (const auto& e : *events) {
    if (!e.is_object() || !e.contains("ph") || !e["ph"].is_string()) continue;
    const std::string ph = e["ph"].get<std::string>();
    const std::string name = e.contains("name") && e["name"].is_string() ? e["name"].get<std::string>() : "";
    const int64_t tid = static_cast<int64_t>(number(e, "tid", 0));
    if (ph == "M" && name == "thread_name" && e.contains("args") && e["args"].is_object()) {
      const json& args = e["args"];
      if (args.contains("name") && args["name"].is_string()) out["threads"][std::to_string(tid)] = args["name"];
    } else if (ph == "X" && std::isfinite(number(e, "ts", NAN)) && std::isfinite(number(e, "dur", NAN))) {
      if (out["events"].size() >= kMaxTraceEvents) {
        notes.push_back("the timeline shows the first " + std::to_string(kMaxTraceEvents) + " spans of the trace");
        break;
      }
      out["events"].push_back({{"name", name}, {"tid", tid}, {"ts", number(e, "ts", 0)}, {"dur", number(e, "dur", 0)}});
    }
  }
  return out;
}

}  // namespace

std::string main_metric(const std::vector<std::string>& keys) {
  for (const auto& k : keys)
    if (k.find("accuracy") != std::string::npos) return k;
  for (const auto& k : keys)
    if (!ends_with(k, "loss")) return k;
  return keys.empty() ? "" : keys.front();
}

json run_data(const run::RunDir& dir) {
  json notes = json::array();
  const json manifest = read_json_file(dir.manifest(), "manifest");
  const json summary = read_json_file(dir.summary(), "summary");
  std::string config_text;
  std::string name = dir.root.filename().string(), task;
  if (fs::exists(dir.config())) {
    config_text = util::read_file(dir.config());
    try {
      const toml::table t = util::parse_toml(config_text, dir.config().string());
      task = t["train"]["task"].value_or(std::string());
      if (const auto n = t["train"]["name"].value<std::string>()) name = *n;
    } catch (const Error& e) {
      notes.push_back(std::string("config.toml does not parse: ") + e.what());
    }
  } else {
    notes.push_back("no config.toml in the run dir");
  }
  if (task.empty() && summary.is_object() && summary.contains("task") && summary["task"].is_string()) {
    task = summary["task"].get<std::string>();
  }
  // A language model's throughput is in tokens: the summary's two rates give tokens/sample.
  double tokens_per_sample = 1;
  if (summary.is_object() && number(summary, "tokens_per_s", 0) > 0 && number(summary, "samples_per_s", 0) > 0) {
    tokens_per_sample = number(summary, "tokens_per_s", 0) / number(summary, "samples_per_s", 0);
  }
  const std::vector<json> records = read_records(dir.metrics(), notes);
  json d = {{"kind", "run"},
            {"dir", fs::absolute(dir.root).lexically_normal().string()},
            {"name", name},
            {"task", task},
            {"status", summary.is_object() ? "finished" : "not finished (no summary.json)"},
            {"steps", step_columns(records, tokens_per_sample)},
            {"evals", eval_columns(records)},
            {"throughput_unit", tokens_per_sample != 1 ? "tokens/s" : "samples/s"},
            {"profile", profile_data(dir.profile(), notes)},
            {"config_toml", config_text},
            {"summary", summary},
            {"environment", manifest.is_object() ? manifest.value("environment", json(nullptr)) : json(nullptr)},
            {"notes", notes}};
  // The headline metric is the task's own choice, as `kiln runs` and a sweep's default
  // objective make it (its first higher-is-better metric); the name heuristic only where
  // the run's config no longer builds a task (an older run, a hand-made dir).
  if (manifest.is_object()) {
    try {
      const run::RunInfo info = run::read_run(dir.root);
      if (!info.metric.empty() && d["evals"]["metrics"].contains(info.metric)) d["evals"]["main"] = info.metric;
    } catch (const std::exception&) {
      // read_run's own errors are about the manifest, which was read above: keep the heuristic
    }
  }
  if (manifest.is_object()) {
    for (const char* k : {"started_at", "ended_at", "command_line", "seed", "resumed_from"}) {
      if (manifest.contains(k)) d["manifest"][k] = manifest[k];
    }
  }
  return d;
}

}  // namespace kiln::report
