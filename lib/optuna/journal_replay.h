// Rebuilds studies and trials from Optuna journal records, with the rules of Optuna's
// JournalStorageReplayResult (optuna.md §2.4): study ids count accepted CREATE_STUDY
// records and are never reused, trial ids are global across studies, numbers count per
// study, a duplicate CREATE_STUDY is ignored, and updates to missing or finished trials
// (and params incompatible with the study's earlier ones) are skipped as Optuna skips
// other workers' records. Also the journal's datetime format.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "optuna/study.h"

namespace kiln::optuna {

// Optuna's JournalOperation (identical 3.1 -> 5.0). kiln writes only these.
enum class JournalOp : int {
  kCreateStudy = 0,
  kDeleteStudy = 1,
  kSetStudyUserAttr = 2,
  kSetStudySystemAttr = 3,
  kCreateTrial = 4,
  kSetTrialParam = 5,
  kSetTrialStateValues = 6,
  kSetTrialIntermediateValue = 7,
  kSetTrialUserAttr = 8,
  kSetTrialSystemAttr = 9,
};

class JournalReplay {
 public:
  // Applies one parsed record. A record that Optuna could not apply either (a missing
  // field, a wrong type, an unknown op code) throws kiln::Error or nlohmann::json::exception
  // (the caller adds the file and line); the state is then unspecified, so replay again.
  void apply(const nlohmann::json& record);

  // The id of the live (not deleted) study with this name.
  std::optional<int> find_study(const std::string& name) const;
  // The study as replayed so far, trials ordered by number; nullopt if absent or deleted.
  std::optional<Study> study(int study_id) const;
  // How many objectives the study has (kiln handles single-objective studies only).
  size_t objective_count(int study_id) const;
  // The trial with this global id, or nullptr.
  const Trial* trial(int trial_id) const;
  int study_of_trial(int trial_id) const { return trial_study_.at(static_cast<size_t>(trial_id)); }
  // Trial ids of a study in number order (also for a deleted study: its trials keep their ids).
  const std::vector<int>& trial_ids(int study_id) const;
  // The distribution of `param` in the study's first trial that has it: what a new
  // SET_TRIAL_PARAM for that name must be compatible with. nullptr if none has it.
  const Distribution* param_distribution(int study_id, const std::string& param) const;

  int next_study_id() const { return next_study_id_; }
  int next_trial_id() const { return static_cast<int>(trials_.size()); }

 private:
  struct StudyRecord {
    std::string name;
    std::vector<int> directions;
    nlohmann::json user_attrs = nlohmann::json::object();
    nlohmann::json system_attrs = nlohmann::json::object();
    std::vector<int> trial_ids;
    // The lowest trial number having each param (what param_distribution looks at), kept
    // so that checking a SET_TRIAL_PARAM does not scan the study's trials.
    std::map<std::string, int> first_number_with_param;
    bool deleted = false;
  };

  bool study_live(int study_id) const;
  Trial* updatable_trial(int trial_id);  // nullptr when missing or finished
  void note_param(int study_id, const std::string& param, int number);
  void create_study(const nlohmann::json& r);
  void create_trial(const nlohmann::json& r);
  void set_trial_param(const nlohmann::json& r);
  void set_trial_state_values(const nlohmann::json& r);

  std::map<int, StudyRecord> studies_;
  std::vector<Trial> trials_;     // index = global trial id
  std::vector<int> trial_study_;  // trial id -> study id
  int next_study_id_ = 0;
};

// Now as naive local time, "YYYY-MM-DDTHH:MM:SS.ffffff" (what Optuna 3.1-4.9 write).
std::string journal_datetime_now();
// A journal datetime as naive local time with 6 fractional digits: a naive value is kept
// as it is (padded to 6 digits), an aware one ("+00:00", "Z", Optuna >= 5.0) is converted
// to local time as Optuna 5 reads it. Text that is not an ISO datetime comes back unchanged.
std::string normalize_journal_datetime(const std::string& text);

}  // namespace kiln::optuna
