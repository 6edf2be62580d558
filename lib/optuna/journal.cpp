// The study file's operations: kiln's changes as lock -> replay -> check -> one append ->
// release (journal.h). Reading and appending the bytes: journal_io.cpp.
#include "optuna/journal.h"

#include <cmath>

#include "optuna/distribution_json.h"
#include "util/error.h"
#include "util/log.h"

namespace kiln::optuna {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

// Why a queued trial's fixed params cannot be used with `space` ("" when they can): a
// categorical value that is not among the choices, a value of the wrong kind.
std::string misfit(const Trial& t, const Space& space) {
  const auto it = t.system_attrs.find("fixed_params");
  if (it == t.system_attrs.end() || !it->is_object()) return "";
  for (const auto& [name, dist] : space) {
    if (!it->contains(name)) continue;
    try {
      to_internal(dist, it->at(name));
    } catch (const Error& e) {
      return "fixed param '" + name + "' is outside the search space: " + e.what();
    }
  }
  return "";
}

}  // namespace

Journal::Journal(std::filesystem::path path, std::chrono::milliseconds lock_grace)
    : path_(std::move(path)), worker_id_(random_uuid() + "-kiln"), lock_(path_, lock_grace) {}

ordered_json Journal::record(JournalOp op) const {
  ordered_json r = ordered_json::object();
  r["op_code"] = static_cast<int>(op);
  r["worker_id"] = worker_id_;
  return r;
}

std::optional<Study> Journal::load(const std::string& study_name) const {
  std::lock_guard<std::mutex> guard(mu_);
  sync();
  const auto id = replay_.find_study(study_name);
  return id ? replay_.study(*id) : std::nullopt;
}

std::optional<Study> Journal::load(int study_id) const {
  std::lock_guard<std::mutex> guard(mu_);
  sync();
  return replay_.study(study_id);
}

Study Journal::open_or_create(const std::string& name, Direction direction, const std::string& metric_name,
                              const nlohmann::json& user_attrs) {
  if (!user_attrs.is_null() && !user_attrs.is_object()) {
    throw Error::usage("study user attrs must be a JSON object, got " + user_attrs.dump());
  }
  std::lock_guard<std::mutex> guard(mu_);
  sync();
  std::optional<int> id = replay_.find_study(name);
  if (!id) {
    JournalLockGuard lock(lock_);
    sync();
    id = replay_.find_study(name);
    if (!id) {
      id = replay_.next_study_id();
      std::vector<ordered_json> records;
      ordered_json create = record(JournalOp::kCreateStudy);
      create["study_name"] = name;
      create["directions"] = {static_cast<int>(direction)};
      records.push_back(create);
      if (!metric_name.empty()) {
        ordered_json r = record(JournalOp::kSetStudySystemAttr);
        r["study_id"] = *id;
        r["system_attr"] = {{"study:metric_names", {metric_name}}};
        records.push_back(r);
      }
      if (user_attrs.is_object()) {
        for (auto it = user_attrs.begin(); it != user_attrs.end(); ++it) {
          ordered_json r = record(JournalOp::kSetStudyUserAttr);
          r["study_id"] = *id;
          r["user_attr"] = ordered_json::object({{it.key(), ordered_json(it.value())}});
          records.push_back(r);
        }
      }
      append(records);
      sync();
    }
  }
  const std::string in = "study '" + name + "' in " + path_.string();
  if (replay_.objective_count(*id) != 1) {
    throw Error::usage(in + " has " + std::to_string(replay_.objective_count(*id)) + " objectives; kiln optimises one",
                       "use another study name or study file");
  }
  Study study = *replay_.study(*id);
  if (study.direction != direction) {
    const auto word = [](Direction d) { return d == Direction::kMaximize ? "maximize" : "minimize"; };
    throw Error::usage(in + " was created to " + word(study.direction) + ", not to " + word(direction),
                       "use the study's direction, or another study name");
  }
  return study;
}

Asked Journal::create_trial(int study_id, const Space& space, const SuggestFn& suggest) {
  std::lock_guard<std::mutex> guard(mu_);
  sync();  // the bulk of the catching up, before others have to wait for our lock
  JournalLockGuard lock(lock_);
  sync();
  const Study study = existing_study(study_id);
  for (const auto& [name, dist] : space) {
    const Distribution* earlier = replay_.param_distribution(study_id, name);
    if (earlier != nullptr && !compatible(*earlier, dist)) {
      throw Error::usage("param '" + name + "' of study '" + study.name + "' was sampled from " +
                             distribution_to_json(*earlier) + ", which Optuna cannot mix with " +
                             distribution_to_json(dist),
                         "keep the kind, log and choices of a param within a study, or use a new study name");
    }
  }
  // The first WAITING trial whose fixed params all fit the space. One that does not (the
  // space was narrowed after it was queued) would block the study for good: it is failed
  // with the reason, in the same write as this trial.
  std::vector<ordered_json> records;
  const Trial* waiting = nullptr;
  for (const Trial& t : study.trials) {
    if (t.state != TrialState::kWaiting) continue;
    const std::string why = misfit(t, space);
    if (why.empty()) {
      waiting = &t;
      break;
    }
    add_fail_records(records, t.id, why);
    log::warn("queued trial " + std::to_string(t.number) + " failed without running: its " + why);
  }
  Asked asked;
  asked.trial_id = waiting ? waiting->id : replay_.next_trial_id();
  asked.number = waiting ? waiting->number : static_cast<int>(study.trials.size());
  std::map<std::string, double> chosen = suggest(study, asked.number);
  const json* fixed = nullptr;
  if (waiting) {
    const auto it = waiting->system_attrs.find("fixed_params");
    if (it != waiting->system_attrs.end() && it->is_object()) fixed = &*it;
  }
  ordered_json head = record(waiting ? JournalOp::kSetTrialStateValues : JournalOp::kCreateTrial);
  if (waiting) {
    head["trial_id"] = asked.trial_id;
    head["state"] = static_cast<int>(TrialState::kRunning);
    head["values"] = nullptr;
  } else {
    head["study_id"] = study_id;
  }
  head["datetime_start"] = journal_datetime_now();
  records.push_back(head);
  for (const auto& [name, dist] : space) {
    double value = 0.0;
    if (fixed != nullptr && fixed->contains(name)) {
      value = to_internal(dist, fixed->at(name));  // checked to fit above
    } else {
      const auto it = chosen.find(name);
      if (it == chosen.end()) throw Error::runtime("the sampler chose no value for param '" + name + "'");
      value = it->second;
    }
    if (!std::isfinite(value)) throw Error::runtime("the value chosen for param '" + name + "' is not finite");
    ordered_json r = record(JournalOp::kSetTrialParam);
    r["trial_id"] = asked.trial_id;
    r["param_name"] = name;
    if (dist.kind == Distribution::Kind::kCategorical) {
      to_external(dist, value);                                      // throws for an index outside the choices
      r["param_value_internal"] = static_cast<std::int64_t>(value);  // Optuna writes the index as an int
    } else {
      r["param_value_internal"] = value;
    }
    r["distribution"] = distribution_to_json(dist);
    records.push_back(r);
    asked.params[name] = value;
  }
  append(records);
  sync();
  return asked;
}

Study Journal::existing_study(int study_id) const {
  std::optional<Study> study = replay_.study(study_id);
  if (!study)
    throw Error::runtime("study file " + path_.string() + " has no study with id " + std::to_string(study_id));
  return std::move(*study);
}

void Journal::add_fail_records(std::vector<ordered_json>& records, int trial_id, const std::string& reason) const {
  ordered_json attr = record(JournalOp::kSetTrialUserAttr);
  attr["trial_id"] = trial_id;
  attr["user_attr"] = {{"fail_reason", reason}};
  records.push_back(std::move(attr));
  ordered_json fail = record(JournalOp::kSetTrialStateValues);
  fail["trial_id"] = trial_id;
  fail["state"] = static_cast<int>(TrialState::kFail);
  fail["values"] = nullptr;
  fail["datetime_complete"] = journal_datetime_now();
  records.push_back(std::move(fail));
}

const Trial& Journal::existing_trial(int trial_id) const {
  const Trial* t = replay_.trial(trial_id);
  if (t == nullptr) {
    throw Error::runtime("study file " + path_.string() + " has no trial with id " + std::to_string(trial_id));
  }
  return *t;
}

bool Journal::update_trial(int trial_id, ordered_json rec, const std::function<bool(const Trial&)>& skip) {
  const auto unchangeable = [&](const Trial& t) { return is_finished(t.state) || (skip && skip(t)); };
  std::lock_guard<std::mutex> guard(mu_);
  sync();
  if (unchangeable(existing_trial(trial_id))) return false;  // no need to queue for the lock
  JournalLockGuard lock(lock_);
  sync();
  if (unchangeable(existing_trial(trial_id))) return false;
  append({rec});
  sync();
  return true;
}

void Journal::report(int trial_id, int step, double value) {
  if (step < 0) throw Error::usage("a report's step must be >= 0, got " + std::to_string(step));
  ordered_json r = record(JournalOp::kSetTrialIntermediateValue);
  r["trial_id"] = trial_id;
  r["step"] = step;
  r["intermediate_value"] = value;
  update_trial(trial_id, r, [step](const Trial& t) { return t.intermediate.count(step) > 0; });
}

void Journal::set_system_attr(int trial_id, const std::string& key, const nlohmann::json& value) {
  ordered_json r = record(JournalOp::kSetTrialSystemAttr);
  r["trial_id"] = trial_id;
  r["system_attr"] = ordered_json::object({{key, ordered_json(value)}});
  update_trial(trial_id, r);
}

void Journal::set_user_attr(int trial_id, const std::string& key, const nlohmann::json& value) {
  ordered_json r = record(JournalOp::kSetTrialUserAttr);
  r["trial_id"] = trial_id;
  r["user_attr"] = ordered_json::object({{key, ordered_json(value)}});
  update_trial(trial_id, r);
}

bool Journal::finish(int trial_id, TrialState state, std::optional<double> value) {
  if (!is_finished(state)) throw Error::usage("finish: the state must be COMPLETE, PRUNED or FAIL");
  if (state == TrialState::kComplete && !value) throw Error::usage("finish: a COMPLETE trial needs a value");
  ordered_json r = record(JournalOp::kSetTrialStateValues);
  r["trial_id"] = trial_id;
  r["state"] = static_cast<int>(state);
  r["values"] = value ? ordered_json::array({*value}) : ordered_json(nullptr);
  r["datetime_complete"] = journal_datetime_now();
  return update_trial(trial_id, r);
}

int Journal::enqueue(int study_id, const nlohmann::json& fixed_params, const nlohmann::json& system_attrs) {
  std::lock_guard<std::mutex> guard(mu_);
  sync();
  JournalLockGuard lock(lock_);
  sync();
  const Study study = existing_study(study_id);
  // Queued once per failed trial: a second request for the same retry (two sweeps
  // recovering the same interrupted trial) finds the first and writes nothing.
  const auto history = system_attrs.find("retry_history");
  if (history != system_attrs.end() && history->is_array() && !history->empty()) {
    for (const Trial& t : study.trials) {
      const auto h = t.system_attrs.find("retry_history");
      if (h != t.system_attrs.end() && h->is_array() && !h->empty() && h->back() == history->back()) return t.number;
    }
  }
  ordered_json attrs = ordered_json::object();
  attrs["fixed_params"] = ordered_json(fixed_params);
  for (auto it = system_attrs.begin(); it != system_attrs.end(); ++it) attrs[it.key()] = ordered_json(it.value());
  ordered_json r = record(JournalOp::kCreateTrial);
  r["study_id"] = study_id;
  r["datetime_start"] = nullptr;  // no datetime_complete key: Optuna parses one if present
  r["state"] = static_cast<int>(TrialState::kWaiting);
  r["value"] = nullptr;
  r["values"] = nullptr;
  r["distributions"] = ordered_json::object();
  r["params"] = ordered_json::object();
  r["user_attrs"] = ordered_json::object();
  r["system_attrs"] = attrs;
  r["intermediate_values"] = ordered_json::object();
  append({r});
  sync();
  return static_cast<int>(study.trials.size());
}

std::vector<int> Journal::fail_running(int study_id, const std::string& reason) {
  std::lock_guard<std::mutex> guard(mu_);
  sync();
  JournalLockGuard lock(lock_);
  sync();
  const Study study = existing_study(study_id);
  std::vector<ordered_json> records;
  std::vector<int> numbers;
  for (const Trial& t : study.trials) {
    if (t.state != TrialState::kRunning) continue;
    add_fail_records(records, t.id, reason);
    numbers.push_back(t.number);
  }
  if (!records.empty()) {
    append(records);
    sync();
  }
  return numbers;
}

}  // namespace kiln::optuna
