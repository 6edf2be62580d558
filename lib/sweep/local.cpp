// LocalBackend: Journal + Sampler + Pruner.
#include "sweep/local.h"

#include "optuna/distribution_json.h"
#include "optuna/journal.h"
#include "optuna/pruner.h"
#include "optuna/sampler.h"
#include "sweep/worker.h"
#include "util/error.h"
#include "util/log.h"

namespace kiln::sweep {
namespace {

class LocalBackend : public Backend {
 public:
  LocalBackend(const std::filesystem::path& file, const SweepSpec& spec, const nlohmann::json& user_attrs)
      : journal_(file), sampler_(make_sampler(spec)), pruner_(make_pruner(spec)) {
    study_id_ = journal_.open_or_create(spec.name, spec.direction, spec.metric, user_attrs).id;
    recover();
  }

  optuna::Asked ask(const optuna::Space& space) override {
    optuna::Asked a = journal_.create_trial(study_id_, space, [&](const optuna::Study& study, int number) {
      return sampler_->sample(space, study, number);
    });
    journal_.set_user_attr(a.trial_id, "kiln_worker", worker_);
    return a;
  }

  bool report(const optuna::Asked& t, int step, double value) override {
    journal_.report(t.trial_id, step, value);
    const optuna::Study study = snapshot();
    for (const auto& trial : study.trials) {
      if (trial.id != t.trial_id) continue;
      const optuna::PruneDecision d = pruner_->decide(study, trial);
      // Successive halving's rung records: written so Python workers' pruners agree.
      for (const auto& [key, v] : d.system_attrs) journal_.set_system_attr(t.trial_id, key, v);
      return d.prune;
    }
    throw Error::runtime("trial " + std::to_string(t.number) + " vanished from " + journal_.path().string());
  }

  void tell(const optuna::Asked& t, optuna::TrialState state, std::optional<double> value,
            const std::string& reason) override {
    if (!reason.empty()) journal_.set_user_attr(t.trial_id, "fail_reason", reason);
    if (state == optuna::TrialState::kPruned) {
      // Optuna stores the last reported value of a pruned trial as its value.
      value.reset();
      const optuna::Study study = snapshot();
      for (const auto& trial : study.trials) {
        if (trial.id == t.trial_id && !trial.intermediate.empty()) value = trial.intermediate.rbegin()->second;
      }
    }
    journal_.finish(t.trial_id, state, value);
  }

  // RUNNING trials of kiln sweeps on this host whose process is gone -> FAIL "interrupted",
  // and every interrupted kiln trial without a retry gets one (also one whose sweep was
  // killed between failing it and queueing the retry; enqueue writes a retry only once).
  void recover() {
    for (const auto& t : snapshot().trials) {
      if (t.state == optuna::TrialState::kFail && t.user_attrs.value("fail_reason", "") == "interrupted" &&
          t.user_attrs.contains("kiln_worker")) {
        requeue(t.number);
        continue;
      }
      if (!orphaned(t)) continue;
      journal_.set_user_attr(t.id, "fail_reason", "interrupted");
      if (!journal_.finish(t.id, optuna::TrialState::kFail, std::nullopt)) continue;  // another sweep got there first
      log::warn("trial " + std::to_string(t.number) +
                " was left running by a stopped sweep: marked FAIL (interrupted)");
      requeue(t.number);
    }
  }

  int requeue(int number) override {
    const optuna::Study study = snapshot();
    for (const auto& t : study.trials) {
      if (t.number != number) continue;
      nlohmann::json fixed = nlohmann::json::object();
      for (const auto& [name, v] : t.params) fixed[name] = optuna::to_external(t.distributions.at(name), v);
      // Optuna's RetryFailedTrialCallback attrs: the first failed trial, and every retry's.
      nlohmann::json history = t.system_attrs.value("retry_history", nlohmann::json::array());
      history.push_back(number);
      const nlohmann::json attrs = {{"failed_trial", t.system_attrs.value("failed_trial", number)},
                                    {"retry_history", history}};
      const int n = journal_.enqueue(study_id_, fixed, attrs);
      if (n >= int(study.trials.size())) {  // a new trial, not a retry already queued
        log::info("trial " + std::to_string(number) + " (interrupted) is queued again as trial " + std::to_string(n) +
                  " with the same params");
      }
      return n;
    }
    return -1;
  }

  optuna::Study snapshot() override {
    auto s = journal_.load(study_id_);
    if (!s) throw Error::runtime("the study vanished from " + journal_.path().string());
    return *s;
  }

 private:
  optuna::Journal journal_;
  std::unique_ptr<optuna::Sampler> sampler_;
  std::unique_ptr<optuna::Pruner> pruner_;
  int study_id_ = -1;
  const std::string worker_ = this_worker();  // kiln_worker of the trials this sweep asks for
};

}  // namespace

std::unique_ptr<optuna::Sampler> make_sampler(const SweepSpec& spec) {
  const auto& s = spec.sampler;
  if (s.name == "grid") return optuna::make_grid_sampler(spec.space, s.seed);
  if (s.name == "random") return optuna::make_random_sampler(s.seed);
  return optuna::make_tpe_sampler(s.seed, s.n_startup_trials, s.n_ei_candidates);
}

std::unique_ptr<optuna::Pruner> make_pruner(const SweepSpec& spec) {
  const auto& p = spec.pruner;
  if (p.name == "median") return optuna::make_median_pruner(p.n_startup_trials, p.n_warmup_steps, p.interval_steps);
  if (p.name == "successive_halving") {
    return optuna::make_successive_halving_pruner(p.min_resource, p.reduction_factor, p.min_early_stopping_rate);
  }
  return optuna::make_no_pruner();
}

std::unique_ptr<Backend> make_local_backend(const std::filesystem::path& study_file, const SweepSpec& spec,
                                            const nlohmann::json& user_attrs) {
  return std::make_unique<LocalBackend>(study_file, spec, user_attrs);
}

}  // namespace kiln::sweep
