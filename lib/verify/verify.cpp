// Replays a run into a temporary directory and compares losses, weights and environment.
#include "verify/verify.h"

#include <cmath>

#include "config/load.h"
#include "repro/repro.h"
#include "run/metrics_log.h"
#include "run/run_dir.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/temp_dir.h"

namespace kiln::verify {
namespace fs = std::filesystem;
namespace {

nlohmann::json read_json(const fs::path& p) {
  auto j = nlohmann::json::parse(util::read_file(p), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error::usage(p.string() + " is not valid JSON", "is this a kiln run dir?");
  return j;
}

}  // namespace

nlohmann::json verify_run(const fs::path& run_dir, const VerifyOptions& vo) {
  const run::RunDir rd{run_dir};
  for (const fs::path& f : {rd.config(), rd.manifest(), rd.metrics()}) {
    if (!fs::exists(f)) {
      throw Error::usage(run_dir.string() + " has no " + f.filename().string() + ": not a kiln run dir",
                         "give the directory `kiln train` wrote");
    }
  }
  const config::RunConfig cfg = config::load(rd.config(), {});
  const auto recorded = run::step_losses(run::read_metrics(rd.metrics()));
  const nlohmann::json manifest = read_json(rd.manifest());
  // A data-parallel run replays only as a job of its own size: each rank's data slice and
  // random draws depend on it.
  const int64_t recorded_size =
      manifest.is_object() && manifest.contains("world") ? manifest["world"].value("size", int64_t(1)) : 1;
  if (recorded_size != vo.world.size) {
    const std::string n = std::to_string(recorded_size);
    throw Error::usage(
        run_dir.string() + " was trained by " +
            (recorded_size == 1 ? "one process" : "a data-parallel job of " + n + " ranks") + "; this kiln verify is " +
            (vo.world.size == 1 ? "one process" : "a job of " + std::to_string(vo.world.size) + " ranks") +
            ", which would not compute the same run",
        recorded_size == 1 ? "run kiln verify without a launcher"
                           : "replay it as a job of " + n + " ranks: kiln launch --nproc-per-node " + n + " verify " +
                                 run_dir.string() + " (or torchrun with " + n + " ranks)");
  }
  const bool have_summary = fs::exists(rd.summary());
  const bool whole = vo.steps == 0;
  if (whole && !have_summary) {
    throw Error::usage(run_dir.string() + " has no summary.json: the run did not finish",
                       "verify its first steps with --steps N, or resume it first");
  }

  // Replay into a scratch run dir next to nothing the user owns.
  const util::TempDir tmp("kiln-verify");
  const fs::path scratch = tmp.path();
  train::TrainOptions to;
  to.run_dir = scratch / "run";
  to.console = vo.progress;
  to.stop_after = vo.steps;
  to.command_line = "kiln verify " + run_dir.string();
  to.world = vo.world;  // rank 0 replays into its scratch dir; the other ranks write nothing
  to.dist_timeout_s = vo.dist_timeout_s;
  const nlohmann::json replay_summary = train::run(cfg, to);
  if (vo.world.rank != 0) return {{"rank", vo.world.rank}};
  const auto replayed = run::step_losses(run::read_metrics(run::RunDir{to.run_dir}.metrics()));

  nlohmann::json j;
  j["run_dir"] = run_dir.string();
  j["first_divergent_step"] = nullptr;
  int64_t compared = 0;
  for (const auto& [step, loss] : replayed) {
    const auto it = recorded.find(step);
    if (it == recorded.end()) break;
    ++compared;
    if (it->second != loss && !(std::isnan(it->second) && std::isnan(loss))) {  // nan/inf: null in both
      j["first_divergent_step"] = step;
      j["recorded_loss"] = it->second;
      j["replayed_loss"] = loss;
      break;
    }
  }
  j["steps_compared"] = compared;
  j["steps_recorded"] = recorded.size();
  const bool losses_match = j["first_divergent_step"].is_null() && compared > 0;
  j["weights_match"] = nullptr;
  if (whole) {
    const auto summary = read_json(rd.summary());
    j["recorded_weights_sha256"] = summary.value("weights_sha256", "");
    j["replayed_weights_sha256"] = replay_summary.value("weights_sha256", "");
    j["weights_match"] = j["recorded_weights_sha256"] == j["replayed_weights_sha256"];
  }
  // What differs between the recorded environment and this one (versions, device, host).
  nlohmann::json diff = nlohmann::json::object();
  const auto now = repro::environment(replay_summary.value("device", "cpu"));
  const auto then = manifest.value("environment", nlohmann::json::object());
  for (const auto& [k, v] : now.items()) {
    if (!then.contains(k) || then[k] != v) diff[k] = {{"recorded", then.value(k, nlohmann::json())}, {"now", v}};
  }
  j["environment_diff"] = diff;
  j["match"] = losses_match && (!whole || j["weights_match"].get<bool>());
  return j;
}

}  // namespace kiln::verify
