// The study file: an Optuna JournalStorage log (optuna.md §2) that kiln writes and reads,
// and that real Optuna (3.1 -> 5.0) and optuna-dashboard open and continue. Many writers may
// share it (kiln processes, Python workers): every change is "take the file lock, replay to
// the end, check, append all records in one write + fsync, release", so trial ids and
// numbers are decided while the lock is held and nothing a concurrent writer did is lost.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "optuna/journal_lock.h"
#include "optuna/journal_replay.h"
#include "optuna/study.h"

namespace kiln::optuna {

// Chooses internal-repr values for every param of the space, for trial `number`, given the
// study as it stood before that trial (a popped WAITING trial is in it, still WAITING).
using SuggestFn = std::function<std::map<std::string, double>(const Study& study, int number)>;

class Journal {
 public:
  // The file is created on the first append. `lock_grace`: see JournalLock (tests shorten it).
  explicit Journal(std::filesystem::path path, std::chrono::milliseconds lock_grace = JournalLock::kDefaultGrace);

  const std::filesystem::path& path() const { return path_; }
  // This instance's worker_id in the records it writes (a fresh UUID per instance).
  const std::string& worker_id() const { return worker_id_; }

  // The named study as replayed from the file now (nullopt if absent or deleted). Takes no
  // lock: appends are whole lines, and a final line without "\n" is not yet written.
  std::optional<Study> load(const std::string& study_name) const;
  std::optional<Study> load(int study_id) const;

  // CREATE_STUDY unless a study of that name exists (never a duplicate record); when
  // creating, also SET_STUDY_SYSTEM_ATTR {"study:metric_names": [metric_name]} (unless
  // metric_name is empty) and one SET_STUDY_USER_ATTR per key of user_attrs. An existing
  // study with another direction, or with several objectives, is a usage error.
  Study open_or_create(const std::string& name, Direction direction, const std::string& metric_name,
                       const nlohmann::json& user_attrs);

  // Under the lock: replay, pop the study's first WAITING trial (enqueued by Python or by a
  // retry; one whose fixed params no longer fit `space` is failed with the reason instead) or
  // create a trial, let `suggest` choose the params (a popped trial's
  // system_attrs["fixed_params"] override it for those names), append the trial record and
  // one SET_TRIAL_PARAM per param of `space` (space order) in one write. A param whose
  // distribution is incompatible with the study's earlier trials is a usage error (Optuna
  // would silently drop it).
  Asked create_trial(int study_id, const Space& space, const SuggestFn& suggest);

  // Op 7. Nothing is written for a finished trial or a step already reported (as Optuna).
  void report(int trial_id, int step, double value);
  // Ops 9 and 8; nothing is written for a finished trial.
  void set_system_attr(int trial_id, const std::string& key, const nlohmann::json& value);
  void set_user_attr(int trial_id, const std::string& key, const nlohmann::json& value);
  // Op 6 with datetime_complete; state must be COMPLETE (needs a value), PRUNED or FAIL.
  // A finished trial is never updated again: returns false and writes nothing.
  bool finish(int trial_id, TrialState state, std::optional<double> value);
  // Op 4 with state WAITING, as Optuna's enqueue_trial writes it: the next create_trial of
  // any worker (kiln or Optuna) pops it and takes `fixed_params` ({name: external value});
  // `system_attrs` are added beside "fixed_params". Returns the new trial's number; when
  // system_attrs has a "retry_history" whose last entry some trial's already ends with, that
  // trial's number, and nothing is written (a retry is queued once).
  int enqueue(int study_id, const nlohmann::json& fixed_params, const nlohmann::json& system_attrs);
  // Every RUNNING trial of the study -> FAIL, with user attr "fail_reason" = reason (for a
  // sweep resumed after a kill). Returns their numbers.
  std::vector<int> fail_running(int study_id, const std::string& reason);

 private:
  // Reads what was appended since the last call and replays it. mu_ must be held.
  void sync() const;
  // Appends whole records (one line each) in one write + fsync. The file lock must be held.
  void append(const std::vector<nlohmann::ordered_json>& records);
  // The trial as replayed, or kiln::Error when the file has no such trial.
  const Trial& existing_trial(int trial_id) const;
  // The study as replayed, or kiln::Error when the file has no study with that id.
  Study existing_study(int study_id) const;
  // Appends to `records` the two that fail trial `trial_id`: user attr fail_reason, then
  // state FAIL with datetime_complete.
  void add_fail_records(std::vector<nlohmann::ordered_json>& records, int trial_id, const std::string& reason) const;
  // Appends one trial-update record unless the trial is finished (all under the lock).
  bool update_trial(int trial_id, nlohmann::ordered_json record,
                    const std::function<bool(const Trial&)>& skip = nullptr);
  nlohmann::ordered_json record(JournalOp op) const;

  std::filesystem::path path_;
  std::string worker_id_;
  JournalLock lock_;
  mutable std::mutex mu_;  // one operation at a time per instance; guards everything below
  mutable JournalReplay replay_;
  mutable std::uint64_t offset_ = 0;  // bytes of the file replayed so far (whole lines)
  mutable int lines_ = 0;             // lines replayed so far
  mutable std::uint64_t inode_ = 0;   // to notice the file being replaced
};

}  // namespace kiln::optuna
