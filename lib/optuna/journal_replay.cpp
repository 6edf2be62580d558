// Replays Optuna journal records into studies and trials (see journal_replay.h).
#include "optuna/journal_replay.h"

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "optuna/distribution_json.h"
#include "util/error.h"

namespace kiln::optuna {
namespace {

using nlohmann::json;

[[noreturn]] void bad_record(const std::string& message) {
  throw Error::usage(message, "Optuna cannot read this record either; fix or remove that line");
}

double number_or_nan(const json& v) { return v.is_null() ? std::nan("") : v.get<double>(); }

TrialState parse_state(const json& v) {
  const int s = v.get<int>();
  if (s < 0 || s > 4) bad_record("unknown trial state " + std::to_string(s));
  return static_cast<TrialState>(s);
}

std::string datetime_field(const json& r, const char* key) {
  const auto it = r.find(key);
  if (it == r.end() || it->is_null()) return "";
  return normalize_journal_datetime(it->get<std::string>());
}

// The value of a single-objective trial from "values" (a list) or "value".
std::optional<double> objective_value(const json& r) {
  const auto values = r.find("values");
  if (values != r.end() && values->is_array()) {
    if (values->size() == 1) return number_or_nan((*values)[0]);
    return std::nullopt;  // multi-objective: kiln keeps no value
  }
  const auto value = r.find("value");
  if (value != r.end() && !value->is_null()) return value->get<double>();
  return std::nullopt;
}

// Optuna keeps params as external values and converts back when it needs internal ones:
// an int goes through int(), a categorical through choices[int(i)] and choices.index().
double normalize_param(const Distribution& d, double internal, const std::string& name) {
  if (d.kind == Distribution::Kind::kFloat) return internal;
  if (!std::isfinite(internal)) bad_record("param '" + name + "' has a non-finite value");
  if (d.kind == Distribution::Kind::kInt) return std::trunc(internal);
  return to_internal(d, to_external(d, internal));
}

void merge_attrs(json& into, const json& attrs, const char* key) {
  if (!attrs.is_object()) bad_record(std::string("'") + key + "' must be an object");
  for (auto it = attrs.begin(); it != attrs.end(); ++it) into[it.key()] = it.value();
}

std::string format_datetime(const std::tm& tm, long micros) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ld", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  return buf;
}

}  // namespace

void JournalReplay::apply(const json& r) {
  if (!r.is_object()) bad_record("a record must be a JSON object");
  const int op = r.at("op_code").get<int>();
  switch (static_cast<JournalOp>(op)) {
    case JournalOp::kCreateStudy:
      create_study(r);
      return;
    case JournalOp::kDeleteStudy: {
      const int id = r.at("study_id").get<int>();
      if (study_live(id)) studies_[id].deleted = true;
      return;
    }
    case JournalOp::kSetStudyUserAttr:
    case JournalOp::kSetStudySystemAttr: {
      const int id = r.at("study_id").get<int>();
      const bool user = op == static_cast<int>(JournalOp::kSetStudyUserAttr);
      const char* key = user ? "user_attr" : "system_attr";
      const json& attrs = r.at(key);
      if (study_live(id)) merge_attrs(user ? studies_[id].user_attrs : studies_[id].system_attrs, attrs, key);
      return;
    }
    case JournalOp::kCreateTrial:
      create_trial(r);
      return;
    case JournalOp::kSetTrialParam:
      set_trial_param(r);
      return;
    case JournalOp::kSetTrialStateValues:
      set_trial_state_values(r);
      return;
    case JournalOp::kSetTrialIntermediateValue: {
      const int step = r.at("step").get<int>();
      const double value = number_or_nan(r.at("intermediate_value"));
      if (Trial* t = updatable_trial(r.at("trial_id").get<int>())) t->intermediate[step] = value;
      return;
    }
    case JournalOp::kSetTrialUserAttr:
    case JournalOp::kSetTrialSystemAttr: {
      const bool user = op == static_cast<int>(JournalOp::kSetTrialUserAttr);
      const char* key = user ? "user_attr" : "system_attr";
      const json& attrs = r.at(key);
      if (Trial* t = updatable_trial(r.at("trial_id").get<int>())) {
        merge_attrs(user ? t->user_attrs : t->system_attrs, attrs, key);
      }
      return;
    }
  }
  if (op == 10) return;  // DISCARD_TRIALS (Rustuna): Optuna after 5.0.0rc1 ignores it too
  bad_record("unknown op_code " + std::to_string(op) + " (Optuna knows 0..9)");
}

void JournalReplay::create_study(const json& r) {
  const std::string name = r.at("study_name").get<std::string>();
  const std::vector<int> directions = r.at("directions").get<std::vector<int>>();
  for (int d : directions) {
    if (d < 0 || d > 2) bad_record("unknown study direction " + std::to_string(d));
  }
  if (find_study(name)) return;  // duplicate name: Optuna ignores it, and it takes no id
  StudyRecord rec;
  rec.name = name;
  rec.directions = directions;
  studies_[next_study_id_++] = std::move(rec);
}

void JournalReplay::create_trial(const json& r) {
  const int study_id = r.at("study_id").get<int>();
  if (!study_live(study_id)) return;  // takes no trial id
  Trial t;
  t.id = next_trial_id();
  t.number = static_cast<int>(studies_[study_id].trial_ids.size());
  if (const auto it = r.find("distributions"); it != r.end() && !it->is_null()) {
    for (auto d = it->begin(); d != it->end(); ++d) t.distributions[d.key()] = distribution_from_json(d.value());
  }
  if (const auto it = r.find("params"); it != r.end() && !it->is_null()) {
    for (auto p = it->begin(); p != it->end(); ++p) {
      const auto dist = t.distributions.find(p.key());
      if (dist == t.distributions.end()) bad_record("param '" + p.key() + "' has no distribution");
      t.params[p.key()] = normalize_param(dist->second, p.value().get<double>(), p.key());
    }
  }
  if (const auto it = r.find("state"); it != r.end()) t.state = parse_state(*it);
  t.datetime_start = datetime_field(r, "datetime_start");
  t.datetime_complete = datetime_field(r, "datetime_complete");
  if (const auto it = r.find("user_attrs"); it != r.end() && !it->is_null())
    merge_attrs(t.user_attrs, *it, "user_attrs");
  if (const auto it = r.find("system_attrs"); it != r.end() && !it->is_null()) {
    merge_attrs(t.system_attrs, *it, "system_attrs");
  }
  t.value = objective_value(r);
  if (const auto it = r.find("intermediate_values"); it != r.end() && !it->is_null()) {
    for (auto iv = it->begin(); iv != it->end(); ++iv) {
      size_t used = 0;
      int step = 0;
      try {
        step = std::stoi(iv.key(), &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != iv.key().size()) bad_record("intermediate value key '" + iv.key() + "' is not an int");
      t.intermediate[step] = number_or_nan(iv.value());
    }
  }
  studies_[study_id].trial_ids.push_back(t.id);
  for (const auto& p : t.params) note_param(study_id, p.first, t.number);
  trials_.push_back(std::move(t));
  trial_study_.push_back(study_id);
}

void JournalReplay::set_trial_param(const json& r) {
  const int trial_id = r.at("trial_id").get<int>();
  const std::string name = r.at("param_name").get<std::string>();
  const double value = r.at("param_value_internal").get<double>();
  if (updatable_trial(trial_id) == nullptr) return;
  const Distribution dist = distribution_from_json(r.at("distribution"));
  const Distribution* earlier = param_distribution(study_of_trial(trial_id), name);
  if (earlier != nullptr && !compatible(*earlier, dist)) return;  // Optuna drops it silently
  const double normalized = normalize_param(dist, value, name);
  Trial& t = trials_[static_cast<size_t>(trial_id)];
  t.params[name] = normalized;
  t.distributions[name] = dist;
  note_param(study_of_trial(trial_id), name, t.number);
}

void JournalReplay::note_param(int study_id, const std::string& param, int number) {
  auto& first = studies_[study_id].first_number_with_param;
  const auto it = first.find(param);
  if (it == first.end() || number < it->second) first[param] = number;
}

void JournalReplay::set_trial_state_values(const json& r) {
  Trial* t = updatable_trial(r.at("trial_id").get<int>());
  if (t == nullptr) return;
  const TrialState state = parse_state(r.at("state"));
  // RUNNING -> RUNNING is how a second worker popping the same WAITING trial loses.
  if (state == TrialState::kRunning && t->state == TrialState::kRunning) return;
  if (state == TrialState::kRunning) t->datetime_start = datetime_field(r, "datetime_start");
  if (is_finished(state)) t->datetime_complete = datetime_field(r, "datetime_complete");
  if (const auto it = r.find("values"); it != r.end() && !it->is_null()) t->value = objective_value(r);
  t->state = state;
}

bool JournalReplay::study_live(int study_id) const {
  const auto it = studies_.find(study_id);
  return it != studies_.end() && !it->second.deleted;
}

Trial* JournalReplay::updatable_trial(int trial_id) {
  if (trial_id < 0 || trial_id >= next_trial_id()) return nullptr;
  Trial& t = trials_[static_cast<size_t>(trial_id)];
  return is_finished(t.state) ? nullptr : &t;
}

std::optional<int> JournalReplay::find_study(const std::string& name) const {
  for (const auto& [id, rec] : studies_) {
    if (!rec.deleted && rec.name == name) return id;
  }
  return std::nullopt;
}

std::optional<Study> JournalReplay::study(int study_id) const {
  if (!study_live(study_id)) return std::nullopt;
  const StudyRecord& rec = studies_.at(study_id);
  Study s;
  s.name = rec.name;
  s.id = study_id;
  s.direction = !rec.directions.empty() && rec.directions[0] == static_cast<int>(Direction::kMaximize)
                    ? Direction::kMaximize
                    : Direction::kMinimize;
  s.user_attrs = rec.user_attrs;
  s.system_attrs = rec.system_attrs;
  s.trials.reserve(rec.trial_ids.size());
  for (int id : rec.trial_ids) s.trials.push_back(trials_[static_cast<size_t>(id)]);
  return s;
}

size_t JournalReplay::objective_count(int study_id) const {
  const auto it = studies_.find(study_id);
  return it == studies_.end() ? 0 : it->second.directions.size();
}

const Trial* JournalReplay::trial(int trial_id) const {
  if (trial_id < 0 || trial_id >= next_trial_id()) return nullptr;
  return &trials_[static_cast<size_t>(trial_id)];
}

const std::vector<int>& JournalReplay::trial_ids(int study_id) const {
  static const std::vector<int> kNone;
  const auto it = studies_.find(study_id);
  return it == studies_.end() ? kNone : it->second.trial_ids;
}

const Distribution* JournalReplay::param_distribution(int study_id, const std::string& param) const {
  const auto study = studies_.find(study_id);
  if (study == studies_.end()) return nullptr;
  const auto first = study->second.first_number_with_param.find(param);
  if (first == study->second.first_number_with_param.end()) return nullptr;
  const Trial& t = trials_[static_cast<size_t>(study->second.trial_ids[static_cast<size_t>(first->second)])];
  return &t.distributions.at(param);
}

std::string journal_datetime_now() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm local{};
  localtime_r(&seconds, &local);
  return format_datetime(local, static_cast<long>(micros % 1000000));
}

std::string normalize_journal_datetime(const std::string& text) {
  std::tm tm{};
  char sep = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &sep, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 7) {
    return text;
  }
  size_t i = static_cast<size_t>(consumed);
  long micros = 0;
  if (i < text.size() && text[i] == '.') {
    int digits = 0;
    for (++i; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i, ++digits) {
      if (digits < 6) micros = micros * 10 + (text[i] - '0');
    }
    if (digits == 0) return text;
    for (int k = digits; k < 6; ++k) micros *= 10;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  if (i == text.size()) return format_datetime(tm, micros);  // naive: already local time
  long offset = 0;                                           // seconds east of UTC
  if (text[i] == 'Z') {
    ++i;
  } else if (text[i] == '+' || text[i] == '-') {
    int oh = 0, om = 0, n = 0;
    if (std::sscanf(text.c_str() + i + 1, "%2d:%2d%n", &oh, &om, &n) != 2) return text;
    offset = (text[i] == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
    i += 1 + static_cast<size_t>(n);
  }
  if (i != text.size()) return text;
  const std::time_t utc = timegm(&tm) - offset;
  std::tm local{};
  localtime_r(&utc, &local);
  return format_datetime(local, micros);
}

}  // namespace kiln::optuna
