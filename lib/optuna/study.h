// Optuna's vocabulary for a study: trial states, the direction, a trial as replayed from
// the study (FrozenTrial) and the study itself; distributions are in distribution.h. The
// samplers, pruners and the journal file all speak it; so does kiln's sweep above them.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "optuna/distribution.h"

namespace kiln::optuna {

// Integers as Optuna stores them in a journal file (optuna/trial/_state.py, study/_study_direction.py).
enum class TrialState : int { kRunning = 0, kComplete = 1, kPruned = 2, kFail = 3, kWaiting = 4 };
enum class Direction : int { kMinimize = 1, kMaximize = 2 };

// "COMPLETE", "PRUNED", ...: Optuna's names for the states.
inline const char* state_name(TrialState s) {
  static const char* const kNames[] = {"RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING"};
  return kNames[static_cast<int>(s)];
}

inline bool is_finished(TrialState s) {
  return s == TrialState::kComplete || s == TrialState::kPruned || s == TrialState::kFail;
}

// A trial as replayed from the study (Optuna's FrozenTrial, minus what kiln does not use).
struct Trial {
  int id = -1;      // journal trial_id: global across the file's studies
  int number = -1;  // per study, 0-based
  TrialState state = TrialState::kRunning;
  std::map<std::string, double> params;  // internal reprs
  std::map<std::string, Distribution> distributions;
  std::optional<double> value;         // the objective (single-objective studies only)
  std::map<int, double> intermediate;  // step -> reported value
  nlohmann::json user_attrs = nlohmann::json::object();
  nlohmann::json system_attrs = nlohmann::json::object();
  std::string datetime_start;     // "YYYY-MM-DDTHH:MM:SS.ffffff" (naive local), "" if none
  std::string datetime_complete;  // "" while unfinished

  std::optional<int> last_step() const {
    if (intermediate.empty()) return std::nullopt;
    return intermediate.rbegin()->first;
  }
};

struct Study {
  std::string name;
  int id = -1;
  Direction direction = Direction::kMinimize;
  std::vector<Trial> trials;  // ordered by number
  nlohmann::json user_attrs = nlohmann::json::object();
  nlohmann::json system_attrs = nlohmann::json::object();
};

// A trial just asked for (Optuna's study.ask()): its global id, its number in the study,
// and the values chosen for the space (internal reprs, one per space entry).
struct Asked {
  int trial_id = -1;
  int number = -1;
  std::map<std::string, double> params;
};

}  // namespace kiln::optuna
