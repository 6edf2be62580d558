// sweep_data (see sweep_data.h).
#include "report/sweep_data.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <optional>

#include "optuna/distribution_json.h"
#include "optuna/journal.h"
#include "util/error.h"
#include "util/fs.h"

namespace kiln::report {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json read_summary(const fs::path& path) {
  if (!fs::exists(path)) return nullptr;
  json j = json::parse(util::read_file(path), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    throw Error::usage("sweep summary " + path.string() + " is not a JSON object (garbled or cut short)",
                       "remove it (kiln sweep writes it again at the end) and run kiln report again");
  }
  return j;
}

const char* kind_name(optuna::Distribution::Kind k) {
  switch (k) {
    case optuna::Distribution::Kind::kFloat:
      return "float";
    case optuna::Distribution::Kind::kInt:
      return "int";
    case optuna::Distribution::Kind::kCategorical:
      return "categorical";
  }
  return "";
}

// The space as the trials saw it: each param's distribution from the first trial having it.
json space_of(const optuna::Study& study) {
  json out = json::array();
  std::vector<std::string> seen;
  for (const auto& t : study.trials) {
    for (const auto& [name, d] : t.distributions) {
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
      seen.push_back(name);
      json p = {{"name", name}, {"kind", kind_name(d.kind)}, {"log", d.log}};
      if (d.kind == optuna::Distribution::Kind::kCategorical) {
        p["choices"] = d.choices;
      } else {
        p["low"] = d.low;
        p["high"] = d.high;
      }
      out.push_back(p);
    }
  }
  return out;
}

json trial_json(const optuna::Trial& t, const fs::path& dir) {
  json params = json::object();
  for (const auto& [name, internal] : t.params) params[name] = optuna::to_external(t.distributions.at(name), internal);
  json intermediate = json::array();
  for (const auto& [step, v] : t.intermediate) intermediate.push_back({step, v});
  json j = {
      {"number", t.number}, {"state", optuna::state_name(t.state)}, {"value", t.value ? json(*t.value) : json(nullptr)},
      {"params", params},   {"intermediate", intermediate},         {"start", t.datetime_start}};
  const double secs = seconds_between(t.datetime_start, t.datetime_complete);
  j["duration_s"] = secs >= 0 ? json(secs) : json(nullptr);
  if (t.user_attrs.contains("fail_reason")) j["fail_reason"] = t.user_attrs["fail_reason"];
  char number[16];
  std::snprintf(number, sizeof number, "%04d", t.number);
  const fs::path run = fs::path("trials") / number / "run";
  if (fs::exists(dir / run / "metrics.jsonl")) j["run_dir"] = run.string();
  return j;
}

}  // namespace

bool is_sweep_dir(const fs::path& dir) {
  if (fs::exists(dir / "study.journal")) return true;
  const fs::path summary = dir / "summary.json";
  if (!fs::is_regular_file(summary)) return false;
  const json j = json::parse(util::read_file(summary), nullptr, false);
  return j.is_object() && j.contains("study_name");
}

double seconds_between(const std::string& start, const std::string& end) {
  auto parse = [](const std::string& s, double& out) {
    std::tm tm{};
    double frac_s = 0;
    int n = std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                        &tm.tm_min, &tm.tm_sec);
    if (n != 6) return false;
    if (s.size() > 19 && s[19] == '.') frac_s = std::atof(s.c_str() + 19);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    // Both ends are the same naive local clock: read them as UTC, only the difference counts.
    out = double(timegm(&tm)) + frac_s;
    return true;
  };
  double a = 0, b = 0;
  if (!parse(start, a) || !parse(end, b) || b < a) return -1;
  return b - a;
}

json sweep_data(const fs::path& dir) {
  const json summary = read_summary(dir / "summary.json");
  fs::path journal_path = dir / "study.journal";
  if (summary.is_object() && summary.contains("study_file") && summary["study_file"].is_string()) {
    const fs::path named = summary["study_file"].get<std::string>();
    if (fs::exists(named)) journal_path = named;
  }
  if (!fs::exists(journal_path)) {
    throw Error::usage("sweep dir " + dir.string() + " has no study file (" + journal_path.string() + ")",
                       "a remote-mode sweep keeps its study on the Optuna server; report on a local one");
  }
  const optuna::Journal journal(journal_path);
  const bool named = summary.is_object() && summary.contains("study_name") && summary["study_name"].is_string();
  std::optional<optuna::Study> study;
  try {
    // A sweep still running has no summary yet: its journal's first study.
    study = named ? journal.load(summary["study_name"].get<std::string>()) : journal.load(0);
  } catch (const Error& e) {
    // The journal's own errors name the file and line already; all are bad input here.
    throw Error::usage(e.what(), e.hint());
  } catch (const json::exception& e) {
    throw Error::usage("garbled study file " + journal_path.string() + ": " + e.what(),
                       "the journal is not one kiln or Optuna wrote; restore it from a copy");
  }
  if (!study) {
    throw Error::usage("the study file " + journal_path.string() + " holds no study" +
                           (named ? " named " + summary["study_name"].dump() : std::string()),
                       "run kiln sweep first, or point kiln report at the sweep's own dir");
  }
  json trials = json::array();
  for (const auto& t : study->trials) trials.push_back(trial_json(t, dir));
  std::string metric;
  if (summary.is_object() && summary.contains("metric") && summary["metric"].is_string()) {
    metric = summary["metric"].get<std::string>();
  }
  const json names = study->system_attrs.value("study:metric_names", json::array());
  if (metric.empty() && names.is_array() && !names.empty() && names[0].is_string())
    metric = names[0].get<std::string>();
  return {{"kind", "sweep"},
          {"dir", fs::absolute(dir).lexically_normal().string()},
          {"name", study->name},
          {"study_file", journal_path.string()},
          {"metric", metric.empty() ? "objective" : metric},
          {"direction", study->direction == optuna::Direction::kMaximize ? "maximize" : "minimize"},
          {"space", space_of(*study)},
          {"trials", trials},
          {"summary", summary},
          {"status", summary.is_object() ? "finished" : "not finished (no summary.json)"}};
}

}  // namespace kiln::report
