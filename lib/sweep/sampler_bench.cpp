// bench_sampler: ask + tell cost per trial on a synthetic objective.
#include "sweep/sampler_bench.h"

#include <stdlib.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "optuna/distribution.h"
#include "sweep/local.h"
#include "util/error.h"

namespace kiln::sweep {
namespace fs = std::filesystem;

nlohmann::json bench_sampler(int trials, const std::vector<int>& points, const std::string& sampler, uint64_t seed) {
  SweepSpec spec;
  spec.name = "bench";
  spec.direction = optuna::Direction::kMinimize;
  spec.metric = "objective";
  spec.sampler.name = sampler;
  spec.sampler.seed = seed;
  spec.pruner.name = "none";
  spec.space = {{"lr", optuna::make_float(1e-5, 1e-1, true, std::nullopt, "lr")},
                {"dropout", optuna::make_float(0.0, 0.5, false, std::nullopt, "dropout")},
                {"layers", optuna::make_int(1, 8, false, 1, "layers")},
                {"opt", optuna::make_categorical({"adam", "sgd", "adamw"}, "opt")}};
  std::string tmpl = (fs::temp_directory_path() / "kiln-bench-sampler-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw Error::runtime("cannot create a temporary directory");
  const fs::path dir = tmpl;
  std::vector<double> ms;
  {
    auto backend = make_local_backend(dir / "study.journal", spec, nlohmann::json::object());
    for (int i = 0; i < trials; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      const optuna::Asked a = backend->ask(spec.space);
      // A smooth objective with its optimum at lr 1e-3, dropout 0.1, 4 layers, "adamw".
      const double v = std::pow(std::log10(a.params.at("lr")) + 3, 2) + std::pow(a.params.at("dropout") - 0.1, 2) +
                       0.05 * std::abs(a.params.at("layers") - 4) + (a.params.at("opt") == 2 ? 0 : 0.2);
      backend->tell(a, optuna::TrialState::kComplete, v);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  fs::remove_all(dir);
  nlohmann::json out = {{"sampler", sampler}, {"trials", trials}, {"ask_tell_ms", nlohmann::json::object()}};
  for (int p : points) {
    if (p > trials || p < 10) continue;
    double sum = 0;
    for (int i = p - 10; i < p; ++i) sum += ms[size_t(i)];
    out["ask_tell_ms"][std::to_string(p)] = sum / 10;
  }
  double total = 0;
  for (double x : ms) total += x;
  out["total_s"] = total / 1000;
  return out;
}

}  // namespace kiln::sweep
