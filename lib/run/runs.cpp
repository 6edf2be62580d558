// kiln runs (see runs.h).
#include "run/runs.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "config/load.h"
#include "run/metrics_log.h"
#include "run/run_dir.h"
#include "task/task.h"
#include "util/error.h"
#include "util/text.h"
#include "util/toml_parse.h"

namespace kiln::run {
namespace fs = std::filesystem;
namespace {

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return nullptr;
  return nlohmann::json::parse(in, nullptr, false);  // garbled: discarded, reads as "absent"
}

// The manifest's process is alive on this host (the pid could be reused; the start of its
// command line being a kiln is checked too).
bool process_alive(const nlohmann::json& m) {
  const int64_t pid = m.value("pid", int64_t(0));
  if (pid <= 0) return false;
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  if (m.value("host", std::string()) != host) return false;
  if (kill(pid_t(pid), 0) != 0 && errno != EPERM) return false;
  std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
  std::string argv0;
  std::getline(cmd, argv0, '\0');
  return argv0.find("kiln") != std::string::npos;
}

// The task's main metric: the first higher-is-better one, else the first (the loss), as a
// sweep's default objective picks it.
void main_metric(RunInfo& r, const fs::path& config) {
  try {
    const config::RunConfig cfg = config::load(config, {});
    r.task = cfg.train.task;
    r.model = cfg.model.name;
    const auto metrics = task::build(cfg)->metrics();
    for (const auto& m : metrics) r.higher_is_better_by_metric[task::metric_key("test", m)] = m.higher_is_better;
    const task::Metric* pick = metrics.empty() ? nullptr : &metrics.front();
    for (const auto& m : metrics) {
      if (m.higher_is_better) {
        pick = &m;
        break;
      }
    }
    if (pick) {
      r.metric = task::metric_key("test", *pick);
      r.higher_is_better = pick->higher_is_better;
    }
  } catch (const std::exception&) {
    // A config this version no longer reads (an older run): listed without a main metric.
  }
}

void flatten(const toml::table& t, const std::string& prefix, std::map<std::string, std::string>& out) {
  for (const auto& [k, node] : t) {
    const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const toml::table* sub = node.as_table()) {
      flatten(*sub, key, out);
      continue;
    }
    std::ostringstream os;
    node.visit([&os](const auto& v) {
      if constexpr (!toml::is_table<decltype(v)>) os << v;
    });
    out[key] = os.str();
  }
}

std::map<std::string, std::string> flat_config(const fs::path& p) {
  std::map<std::string, std::string> out;
  std::ifstream in(p);
  if (!in) return out;
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    flatten(util::parse_toml(ss.str(), p.string()), "", out);
  } catch (const std::exception&) {
  }
  return out;
}

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

}  // namespace

RunInfo read_run(const fs::path& dir, const fs::path& under) {
  const RunDir rd{dir};
  const nlohmann::json m = read_json(rd.manifest());
  if (!m.is_object()) {
    throw Error::usage(dir.string() + " is not a kiln run dir (no readable manifest.json)",
                       "pass a folder that `kiln train` wrote (it holds config.toml, manifest.json, metrics.jsonl)");
  }
  RunInfo r;
  r.dir = dir;
  r.name = under.empty() ? dir.string() : fs::relative(dir, under).lexically_normal().string();
  if (r.name == ".") r.name = dir.filename().string().empty() ? dir.string() : dir.filename().string();
  r.started_at = m.value("started_at", std::string());
  main_metric(r, rd.config());
  r.metrics = nlohmann::json::object();
  const nlohmann::json s = read_json(rd.summary());
  if (s.is_object()) {
    r.status = "finished";
    r.steps = s.value("steps", int64_t(0));
    r.wall_s = s.value("train_seconds", 0.0);
    r.weights_sha256 = s.value("weights_sha256", std::string());
    for (const auto& [k, v] : s.items()) {
      if (k.rfind("test_", 0) == 0 && v.is_number()) r.metrics[k] = v;
    }
  } else {
    const std::string st = m.value("status", std::string("running"));
    r.error = m.value("error", std::string());
    if (st == "interrupted" || st == "failed") {
      r.status = st;
    } else {
      // "running" in the manifest: live, or killed before it could say otherwise (kill -9,
      // a crash, a lost machine); such a run resumes from its newest checkpoint.
      r.status = process_alive(m) ? "running" : "failed";
      if (r.status == "failed" && r.error.empty()) r.error = "the process ended without recording why (killed?)";
    }
    for (const auto& rec : read_metrics(rd.metrics())) {
      if (record_type(rec) == "step") {
        r.steps = rec.value("step", r.steps);
        r.wall_s = rec.value("time_s", r.wall_s);
      } else if (record_type(rec) == "eval") {
        for (const auto& [k, v] : rec.items()) {
          if (k.rfind("test_", 0) == 0 && v.is_number()) r.metrics[k] = v;
        }
      }
    }
  }
  if (!r.metric.empty() && r.metrics.contains(r.metric)) r.metric_value = r.metrics[r.metric].get<double>();
  return r;
}

std::vector<RunInfo> list_runs(const fs::path& root, int max_depth) {
  if (!fs::is_directory(root)) {
    throw Error::usage(root.string() + " is not a folder", "pass the folder your runs are in (default: runs)");
  }
  std::vector<RunInfo> out;
  std::error_code ec;
  if (fs::exists(RunDir{root}.manifest())) out.push_back(read_run(root, root.parent_path()));
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it.depth() >= max_depth) it.disable_recursion_pending();
    if (!it->is_directory(ec)) continue;
    const fs::path d = it->path();
    const std::string leaf = d.filename().string();
    if (leaf == "checkpoints" || leaf == "tb" || leaf == "profile") {  // a run's own folders
      it.disable_recursion_pending();
      continue;
    }
    if (fs::exists(RunDir{d}.manifest(), ec)) {
      out.push_back(read_run(d, root));
      it.disable_recursion_pending();  // a run dir holds no runs
    }
  }
  std::sort(out.begin(), out.end(), [](const RunInfo& a, const RunInfo& b) { return a.name < b.name; });
  return out;
}

void sort_runs(std::vector<RunInfo>& runs, const std::string& key) {
  if (key == "name") return;  // list_runs' order
  auto by = [&](auto f) { std::stable_sort(runs.begin(), runs.end(), f); };
  if (key == "status") return by([](const RunInfo& a, const RunInfo& b) { return a.status < b.status; });
  if (key == "steps") return by([](const RunInfo& a, const RunInfo& b) { return a.steps > b.steps; });
  if (key == "time") return by([](const RunInfo& a, const RunInfo& b) { return a.wall_s > b.wall_s; });
  std::set<std::string> known;
  bool higher = true;
  for (const auto& r : runs) {
    for (const auto& [k, v] : r.metrics.items()) known.insert(k);
    if (const auto it = r.higher_is_better_by_metric.find(key); it != r.higher_is_better_by_metric.end()) {
      higher = it->second;
    }
  }
  if (!known.count(key)) {
    const std::vector<std::string> keys(known.begin(), known.end());
    std::string msg = "--sort " + key + ": no run has that metric";
    if (const auto dym = util::did_you_mean(key, keys); !dym.empty()) msg += "; " + dym;
    std::string list = "name, status, steps, time";
    for (const auto& k : keys) list += ", " + k;
    throw Error::usage(msg, "sort by one of: " + list);
  }
  by([&](const RunInfo& a, const RunInfo& b) {
    const bool ha = a.metrics.contains(key), hb = b.metrics.contains(key);
    if (ha != hb) return ha;  // runs without the value last
    if (!ha) return false;
    const double x = a.metrics[key].get<double>(), y = b.metrics[key].get<double>();
    return higher ? x > y : x < y;
  });
}

nlohmann::json to_json(const RunInfo& r) {
  nlohmann::json j = {{"name", r.name},
                      {"dir", r.dir.string()},
                      {"task", r.task},
                      {"model", r.model},
                      {"status", r.status},
                      {"steps", r.steps},
                      {"train_seconds", r.wall_s},
                      {"metrics", r.metrics},
                      {"started_at", r.started_at}};
  if (!r.metric.empty()) j["metric"] = r.metric;
  j["metric_value"] = r.metric_value ? nlohmann::json(*r.metric_value) : nlohmann::json(nullptr);
  if (!r.weights_sha256.empty()) j["weights_sha256"] = r.weights_sha256;
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

std::string runs_table(const std::vector<RunInfo>& runs) {
  std::vector<std::vector<std::string>> rows = {{"run", "task", "status", "steps", "metric", "time", "weights"}};
  for (const auto& r : runs) {
    rows.push_back({r.name, r.task.empty() ? "?" : r.task, r.status, std::to_string(r.steps),
                    r.metric_value ? r.metric + " " + number(*r.metric_value) : "-", util::format_duration(r.wall_s),
                    r.weights_sha256.empty() ? "-" : r.weights_sha256.substr(0, 12)});
  }
  std::vector<size_t> w(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(w[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

RunDiff diff_runs(const RunInfo& a, const RunInfo& b) {
  RunDiff d;
  const auto ca = flat_config(RunDir{a.dir}.config()), cb = flat_config(RunDir{b.dir}.config());
  std::set<std::string> keys;
  for (const auto& [k, v] : ca) keys.insert(k);
  for (const auto& [k, v] : cb) keys.insert(k);
  const std::string absent = "(absent)";
  for (const auto& k : keys) {
    const auto ia = ca.find(k), ib = cb.find(k);
    const std::string va = ia == ca.end() ? absent : ia->second, vb = ib == cb.end() ? absent : ib->second;
    if (va != vb) d.config.push_back({k, va, vb});
  }
  std::set<std::string> names;
  for (const auto& [k, v] : a.metrics.items()) names.insert(k);
  for (const auto& [k, v] : b.metrics.items()) names.insert(k);
  auto metric = [&](const RunInfo& r, const std::string& k) {
    return r.metrics.contains(k) ? number(r.metrics[k].get<double>()) : "-";
  };
  for (const auto& k : names) d.metrics.push_back({k, metric(a, k), metric(b, k)});
  d.metrics.push_back({"status", a.status, b.status});
  d.metrics.push_back({"steps", std::to_string(a.steps), std::to_string(b.steps)});
  d.metrics.push_back({"train_seconds", number(a.wall_s), number(b.wall_s)});
  d.metrics.push_back({"weights_sha256", a.weights_sha256.empty() ? "-" : a.weights_sha256,
                       b.weights_sha256.empty() ? "-" : b.weights_sha256});
  return d;
}

std::string diff_text(const RunInfo& a, const RunInfo& b, const RunDiff& d) {
  auto table = [](const std::string& title, const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> w(3, 0);
    for (const auto& row : rows) {
      for (size_t i = 0; i < 3; ++i) w[i] = std::max(w[i], row[i].size());
    }
    std::string out = title + "\n";
    for (const auto& row : rows) {
      out += "  " + row[0] + std::string(w[0] - row[0].size() + 2, ' ') + row[1] +
             std::string(w[1] - row[1].size() + 2, ' ') + row[2] + "\n";
    }
    return out;
  };
  std::vector<std::vector<std::string>> cfg = {{"key", "A", "B"}};
  for (const auto& k : d.config) cfg.push_back({k.key, k.a, k.b});
  std::vector<std::vector<std::string>> met = {{"metric", "A", "B"}};
  for (const auto& k : d.metrics) met.push_back({k.key, k.a, k.b});
  std::string out = "A: " + a.dir.string() + "\nB: " + b.dir.string() + "\n\n";
  out += d.config.empty() ? "config: identical\n"
                          : table("config (" + std::to_string(d.config.size()) + " keys differ)", cfg);
  return out + "\n" + table("metrics", met);
}

nlohmann::json to_json(const RunDiff& d) {
  auto list = [](const std::vector<RunDiff::Key>& v) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& k : v) j.push_back({{"key", k.key}, {"a", k.a}, {"b", k.b}});
    return j;
  };
  return {{"config", list(d.config)}, {"metrics", list(d.metrics)}};
}

}  // namespace kiln::run
