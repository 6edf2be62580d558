// RemoteBackend: Backend over tools/optuna_server.py's endpoints (docs/optuna_server.md).
// Every call is safe to repeat, which is what makes retrying through an outage harmless:
// ask carries a request id (the server hands the same trial back), a repeated report step
// is ignored by Optuna, and tells go with skip_if_finished.
#include "sweep/remote.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <random>
#include <sstream>

#include "optuna/distribution_json.h"
#include "sweep/remote_http.h"
#include "sweep/remote_pending.h"
#include "sweep/worker.h"
#include "util/error.h"
#include "util/log.h"

namespace kiln::sweep {

namespace {

using nlohmann::json;

// The dashboard's spelling ("Complete"), as the server's JSON uses it.
const char* dashboard_state_name(optuna::TrialState s) {
  switch (s) {
    case optuna::TrialState::kRunning:
      return "Running";
    case optuna::TrialState::kComplete:
      return "Complete";
    case optuna::TrialState::kPruned:
      return "Pruned";
    case optuna::TrialState::kFail:
      return "Fail";
    case optuna::TrialState::kWaiting:
      return "Waiting";
  }
  return "?";
}

optuna::TrialState state_from_name(const std::string& s) {
  for (optuna::TrialState t : {optuna::TrialState::kRunning, optuna::TrialState::kComplete, optuna::TrialState::kPruned,
                               optuna::TrialState::kFail, optuna::TrialState::kWaiting}) {
    if (s == dashboard_state_name(t)) return t;
  }
  throw Error::runtime("the Optuna server sent an unknown trial state '" + s + "'");
}

// [{"key": k, "value": v}, ...] (the dashboard's shape) -> {k: v, ...}
json attrs_object(const json& list) {
  json out = json::object();
  if (list.is_array()) {
    for (const auto& kv : list) out[kv.at("key").get<std::string>()] = kv.at("value");
  }
  return out;
}

std::string text_or_empty(const json& j) { return j.is_string() ? j.get<std::string>() : ""; }

optuna::Trial trial_from_json(const json& j) {
  optuna::Trial t;
  t.id = j.at("trial_id").get<int>();
  t.number = j.at("number").get<int>();
  t.state = state_from_name(j.at("state").get<std::string>());
  for (const auto& p : j.at("params")) {
    const std::string name = p.at("name").get<std::string>();
    t.distributions[name] = optuna::distribution_from_json(p.at("distribution_json"));
    t.params[name] = number_from_json(p.at("param_internal_value"));
  }
  const json& values = j.at("values");
  if (values.is_array() && !values.empty()) t.value = number_from_json(values[0]);
  for (const auto& iv : j.at("intermediate_values")) {
    t.intermediate[iv.at("step").get<int>()] = number_from_json(iv.at("value"));
  }
  t.user_attrs = attrs_object(j.value("user_attrs", json::array()));
  t.system_attrs = attrs_object(j.value("system_attrs", json::array()));
  t.datetime_start = text_or_empty(j.value("datetime_start", json()));
  t.datetime_complete = text_or_empty(j.value("datetime_complete", json()));
  return t;
}

std::string random_request_id() {
  std::random_device rd;
  std::ostringstream s;
  s << std::hex << rd() << rd() << rd();
  return s.str();
}

class RemoteBackend final : public Backend {
 public:
  explicit RemoteBackend(const RemoteOptions& o)
      : opts_(o),
        http_(o.url, o.token, o.request_timeout_s, o.give_up_after_s, o.pending_file.string()),
        pending_(o.pending_file) {
    if (o.study_name.empty()) {
      throw Error::usage("remote mode needs a study name", "set the sweep spec's study name");
    }
    open_study();
    send_pending();
    recover();
  }

  optuna::Asked ask(const optuna::Space& space) override { return *ask_for(space, 0); }

  std::optional<optuna::Asked> ask_within(const optuna::Space& space, int64_t study_trials) override {
    return ask_for(space, study_trials);
  }

  // max_trials > 0: the server, under its lock, answers {"done": true} instead of a trial once
  // the study holds that many trials that count.
  std::optional<optuna::Asked> ask_for(const optuna::Space& space, int64_t max_trials) {
    nlohmann::ordered_json search_space = nlohmann::ordered_json::object();  // spec order
    for (const auto& [name, dist] : space) {
      search_space[name] = nlohmann::ordered_json::parse(optuna::distribution_to_json(dist));
    }
    nlohmann::ordered_json body{{"search_space", search_space},
                                {"request_id", random_request_id()},
                                {"user_attrs", {{"kiln_worker", worker_}}}};
    if (max_trials > 0) body["max_trials"] = max_trials;
    const std::string path = "/api/studies/" + std::to_string(study_id_) + "/ask";
    const HttpReply r = http_.call("POST", path, body.dump());
    if (r.status >= 300) {
      http_.throw_refused("the search space (POST " + path + ")", r, "fix the search space in the sweep spec");
    }
    if (r.body.is_object() && r.body.value("done", false)) return std::nullopt;
    optuna::Asked a;
    try {
      a.trial_id = r.body.at("trial_id").get<int>();
      a.number = r.body.at("number").get<int>();
      const json& internal = r.body.at("params_internal");
      for (const auto& [name, dist] : space) a.params[name] = number_from_json(internal.at(name));
    } catch (const json::exception& e) {
      throw Error::runtime("the Optuna server's answer to ask is missing something (" + std::string(e.what()) +
                           "): " + r.body.dump());
    }
    return a;
  }

  bool report(const optuna::Asked& trial, int step, double value) override {
    json rec{{"op", "report"}, {"study", opts_.study_name},  {"trial_id", trial.trial_id}, {"number", trial.number},
             {"step", step},   {"value", json_number(value)}};
    rec = pending_.add(std::move(rec));
    const HttpReply r = deliver(rec, /*from_earlier_run=*/false);
    pending_.remove(rec["id"].get<std::string>());
    return r.body.value("should_prune", false);
  }

  void tell(const optuna::Asked& trial, optuna::TrialState state, std::optional<double> value,
            const std::string& reason) override {
    json rec{{"op", "tell"}, {"study", opts_.study_name}, {"trial_id", trial.trial_id}, {"number", trial.number}};
    std::string fail_reason = reason;
    if (state == optuna::TrialState::kComplete) {
      if (!value) throw Error::runtime("tell: a COMPLETE trial needs its objective value");
      if (std::isnan(*value)) {  // Optuna refuses NaN as a result; its own tell() fails the trial
        state = optuna::TrialState::kFail;
        if (fail_reason.empty()) fail_reason = "the objective value was NaN";
      } else {
        rec["values"] = json::array({json_number(*value)});
      }
    } else if (state != optuna::TrialState::kPruned && state != optuna::TrialState::kFail) {
      throw Error::runtime(std::string("tell: cannot finish a trial as ") + dashboard_state_name(state));
    }
    // PRUNED sends no value: Optuna stores the last reported one itself.
    rec["state"] = dashboard_state_name(state);
    if (state == optuna::TrialState::kFail && !fail_reason.empty()) {
      rec["user_attrs"] = json{{"fail_reason", fail_reason}};
    }
    rec = pending_.add(std::move(rec));
    deliver(rec, /*from_earlier_run=*/false);
    pending_.remove(rec["id"].get<std::string>());
  }

  // POST /api/trials/<id>/requeue: the server queues the FAIL trial's params again
  // (idempotently). Kept in the pending file like a tell, so a server that is down gets it
  // at the next run's start, before that run asks.
  int requeue(int number) override {
    int trial_id = -1;
    for (const auto& t : snapshot().trials) {
      if (t.number == number) trial_id = t.id;
    }
    if (trial_id < 0) return -1;
    json rec{{"op", "requeue"}, {"study", opts_.study_name}, {"trial_id", trial_id}, {"number", number}};
    rec = pending_.add(std::move(rec));
    try {
      const HttpReply r = deliver(rec, /*from_earlier_run=*/false);
      pending_.remove(rec["id"].get<std::string>());
      return r.body.value("number", -1);
    } catch (const Error& e) {  // refused (set aside), or not delivered yet (stays pending)
      std::cerr << "kiln: warning: trial " << number << " was not queued again: " << e.what() << "\n";
      return -1;
    }
  }

  optuna::Study snapshot() override {
    const std::string path = "/api/studies/" + std::to_string(study_id_);
    const HttpReply r = http_.call("GET", path);
    if (r.status >= 300) http_.throw_refused("GET " + path, r);
    optuna::Study s;
    try {
      s.id = r.body.at("study_id").get<int>();
      s.name = r.body.at("name").get<std::string>();
      s.direction = r.body.at("directions").at(0).get<std::string>() == "maximize" ? optuna::Direction::kMaximize
                                                                                   : optuna::Direction::kMinimize;
      s.user_attrs = attrs_object(r.body.value("user_attrs", json::array()));
      s.system_attrs = attrs_object(r.body.value("system_attrs", json::array()));
      for (const auto& t : r.body.at("trials")) s.trials.push_back(trial_from_json(t));
    } catch (const json::exception& e) {
      throw Error::runtime("the Optuna server's study " + path + " is not in the expected shape (" + e.what() + ")");
    }
    std::sort(s.trials.begin(), s.trials.end(),
              [](const optuna::Trial& a, const optuna::Trial& b) { return a.number < b.number; });
    return s;
  }

 private:
  void open_study() {
    const char* dir = opts_.direction == optuna::Direction::kMaximize ? "maximize" : "minimize";
    json body{{"study_name", opts_.study_name}, {"directions", json::array({dir})}};
    if (!opts_.metric.empty()) body["metric_names"] = json::array({opts_.metric});
    const HttpReply r = http_.call("POST", "/api/studies", body.dump());
    if (r.status >= 300) {
      http_.throw_refused("study '" + opts_.study_name + "' (POST /api/studies)", r,
                          "use another study name, or the direction the study was created with");
    }
    study_id_ = r.body.at("study_id").get<int>();
  }

  // Sends what an earlier run could not. Refused records are set aside, not retried forever.
  void send_pending() {
    for (const json& rec : pending_.load()) {
      deliver(rec, /*from_earlier_run=*/true);
      pending_.remove(rec.value("id", std::string()));
    }
  }

  // POSTs one pending record. A 4xx other than 401/403 cannot succeed by retrying: the record
  // moves to the .rejected file and, in a live call, the error goes up. 401/403 keep it.
  HttpReply deliver(const json& rec, bool from_earlier_run) {
    const std::string op = rec.value("op", std::string());
    json body;
    if (op == "report") {
      body = json{{"step", rec.at("step")}, {"value", rec.at("value")}};
    } else if (op == "tell") {
      body = json{{"state", rec.at("state")}, {"skip_if_finished", true}};
      if (rec.contains("values")) body["values"] = rec["values"];
      if (rec.contains("user_attrs")) body["user_attrs"] = rec["user_attrs"];
    } else if (op == "requeue") {
      body = json::object();
    } else {
      pending_.reject(rec, "unknown op");
      return HttpReply{};
    }
    const std::string path = "/api/trials/" + std::to_string(rec.at("trial_id").get<int>()) + "/" + op;
    const HttpReply r = http_.call("POST", path, body.dump());
    if (r.status < 300) return r;
    if (r.status == 401 || r.status == 403) http_.throw_refused(op + " (POST " + path + ")", r);
    const std::string why = "HTTP " + std::to_string(r.status) + " " + r.reason();
    pending_.reject(rec, why);
    const std::string what =
        "the " + op + " of trial " + std::to_string(rec.value("number", -1)) + " (POST " + path + ")";
    if (!from_earlier_run) http_.throw_refused(what, r);
    std::cerr << "kiln: warning: the Optuna server at " << http_.url() << " refused " << what
              << " left from an earlier run: " << why << "; kept in " << pending_.path().string() << ".rejected\n";
    return r;
  }

  // RUNNING trials that a kiln sweep on this host left behind when it was killed (its
  // process is gone) -> FAIL "interrupted", and queued again, as the local backend does.
  void recover() {
    for (const auto& t : snapshot().trials) {
      if (!orphaned(t)) continue;
      optuna::Asked a;
      a.trial_id = t.id;
      a.number = t.number;
      tell(a, optuna::TrialState::kFail, std::nullopt, "interrupted");
      log::warn("trial " + std::to_string(t.number) +
                " was left running by a stopped sweep: marked FAIL (interrupted)");
      requeue(t.number);
    }
  }

  RemoteOptions opts_;
  RemoteHttp http_;
  PendingLog pending_;
  int study_id_ = -1;
  const std::string worker_ = this_worker();  // kiln_worker of the trials this sweep asks for
};

}  // namespace

std::unique_ptr<Backend> make_remote_backend(const RemoteOptions& options) {
  return std::make_unique<RemoteBackend>(options);
}

}  // namespace kiln::sweep
