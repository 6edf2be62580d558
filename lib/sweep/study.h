// The sweep's shared vocabulary, in Optuna's terms: distributions, trials, a study, and the
// seams between the parts (Sampler, Pruner, Backend). Pure C++ (no LibTorch): the sweep
// driver only launches `kiln train` children, so this folder never needs torch.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::sweep {

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

// One parameter's domain with Optuna's semantics (FloatDistribution, IntDistribution,
// CategoricalDistribution). Values travel as Optuna's "internal repr": a float is itself,
// an int is its value as a double, a categorical is the index of the choice.
struct Distribution {
  enum class Kind { kFloat, kInt, kCategorical };
  Kind kind = Kind::kFloat;
  double low = 0.0;
  double high = 0.0;
  bool log = false;
  std::optional<double> step;           // float: optional; int: always set (default 1)
  std::vector<nlohmann::json> choices;  // categorical only: null, bool, int, float or string
};

// The search space in the order the spec lists it (the order params are suggested in).
using Space = std::vector<std::pair<std::string, Distribution>>;

// A trial as replayed from the study (Optuna's FrozenTrial, minus what kiln does not use).
struct Trial {
  int id = -1;      // journal trial_id: global across the file's studies
  int number = -1;  // per study, 0-based
  TrialState state = TrialState::kRunning;
  std::map<std::string, double> params;  // internal reprs
  std::map<std::string, Distribution> distributions;
  std::optional<double> value;            // the objective (single-objective studies only)
  std::map<int, double> intermediate;     // step -> reported value
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

// Suggests internal-repr values for every parameter of `space` for trial `number`, given the
// study so far. Deterministic: same seed, same study contents, same number -> same values.
class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual std::map<std::string, double> sample(const Space& space, const Study& study,
                                               int number) = 0;
};

// Decides whether `trial` (whose latest report is already in trial.intermediate) should stop.
// Optuna's successive halving keeps its state in trial system attrs ("completed_rung_<k>");
// those the pruner wants written come back in `system_attrs` so a shared study file agrees
// with Python workers.
struct PruneDecision {
  bool prune = false;
  std::vector<std::pair<std::string, nlohmann::json>> system_attrs;
};

class Pruner {
 public:
  virtual ~Pruner() = default;
  virtual PruneDecision decide(const Study& study, const Trial& trial) = 0;
};

// Where trials come from and results go: a local study file with a native sampler and
// pruner, or a remote Optuna server. The sweep driver talks only to this.
struct Asked {
  int trial_id = -1;
  int number = -1;
  std::map<std::string, double> params;  // internal reprs, one per space entry
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Asked ask(const Space& space) = 0;
  // Records the value at `step`; returns whether the trial should be pruned.
  virtual bool report(const Asked& trial, int step, double value) = 0;
  // Finishes the trial: COMPLETE needs a value; PRUNED stores the last reported value (as
  // Optuna does); FAIL stores none. `reason` goes into a user attr ("fail_reason") for FAIL.
  virtual void tell(const Asked& trial, TrialState state, std::optional<double> value,
                    const std::string& reason = {}) = 0;
  // The study as it stands (for the leaderboard and best.toml).
  virtual Study snapshot() = 0;
  // Queues a trial with the same params as finished trial `number` (one that was
  // interrupted, not one that failed on its own), as Optuna's RetryFailedTrialCallback
  // does: the next ask pops it. Returns the new trial's number, or -1 when this backend
  // cannot queue trials.
  virtual int requeue(int number) { return -1; }
};

}  // namespace kiln::sweep
