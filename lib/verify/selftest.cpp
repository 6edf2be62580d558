// The self-test: N fresh `kiln train` children per config, compared bit for bit.
#include "verify/selftest.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "config/load.h"
#include "data/token_stream.h"
#include "repro/repro.h"
#include "run/metrics_log.h"
#include "run/run_dir.h"
#include "run/train_process.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/temp_dir.h"

namespace kiln::verify {
namespace fs = std::filesystem;
namespace {

// The loader thread counts the runs cycle through: batches must hold the same bytes for any
// of them, so a run with 1 thread and one with 4 must end with the same weights.
constexpr int kLoaderThreads[] = {1, 2, 4, 3};

struct Run {
  int loader_threads = 0;
  std::string weights, device;
  std::map<int64_t, double> losses;
};

Run run_once(const fs::path& exe, const fs::path& dir, const fs::path& config, int64_t steps, int threads,
             const std::vector<std::string>& sets) {
  std::vector<std::string> argv = {exe.string(),
                                   "--quiet",
                                   "train",
                                   config.string(),
                                   "--json",
                                   "--run-dir",
                                   (dir / "run").string(),
                                   "--set",
                                   "train.max_steps=" + std::to_string(steps),
                                   "--set",
                                   "loader.threads=" + std::to_string(threads),
                                   "--set",
                                   "log.progress=off"};
  for (const auto& s : sets) {
    argv.push_back("--set");
    argv.push_back(s);
  }
  run::TrainProcess p(argv, {}, dir / "logs", run::RunDir{dir / "run"}.metrics());
  while (p.running()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto summary = p.summary();
  if (p.exit_code() != 0 || !summary || !summary->contains("weights_sha256")) {
    throw Error::runtime(
        "a self-test run did not finish (" +
        (p.term_signal() ? "signal " + std::to_string(p.term_signal()) : "exit code " + std::to_string(p.exit_code())) +
        "): " + p.last_error_line());
  }
  return {threads, (*summary)["weights_sha256"].get<std::string>(), summary->value("device", "cpu"),
          run::step_losses(run::read_metrics(run::RunDir{dir / "run"}.metrics()))};
}

// Why `c` cannot run here ("" when it can): an image folder that does not exist.
std::string missing_data(const SelftestConfig& c, const std::vector<std::string>& sets) {
  config::RunConfig cfg;
  config::Origins origins;
  config::apply_toml(cfg, c.toml, c.name, origins);
  for (const auto& s : sets) config::apply_override(cfg, s, origins);
  if (cfg.data.dataset == "tokens") {
    try {
      data::expand_token_paths(cfg.data.train, "data.train");
      return "";
    } catch (const Error& e) {
      return std::string(e.what()) + " (install the text it names, or point data.train at yours)";
    }
  }
  if (cfg.data.dataset == "csv") {
    if (fs::is_regular_file(cfg.data.train)) return "";
    return "data.train " + cfg.data.train + " is not a file (install the table it names, or point it at yours)";
  }
  if (cfg.data.dataset != "image-folder" || fs::is_directory(cfg.data.dir)) return "";
  return "data.dir " + cfg.data.dir + " is not a directory (point it at an image folder to include this config)";
}

}  // namespace

std::vector<SelftestConfig> shipped_configs() {
  const std::pair<const char*, const char*> files[] = {
#include "shipped_configs.inc"
  };
  std::vector<SelftestConfig> out;
  for (const auto& [name, toml] : files) out.push_back({name, toml, std::string(name) == "default" ? 120 : 30});
  return out;
}

int64_t first_divergent_step(const std::vector<std::map<int64_t, double>>& runs) {
  int64_t first = -1;
  for (size_t i = 1; i < runs.size(); ++i) {
    for (const auto& [step, loss] : runs[0]) {
      const auto it = runs[i].find(step);
      if (it == runs[i].end() || it->second != loss) {
        if (first < 0 || step < first) first = step;
        break;
      }
    }
  }
  return first;
}

nlohmann::json selftest(const SelftestOptions& o) {
  if (o.processes < 2) throw Error::usage("--processes must be at least 2 (the runs are compared with each other)");
  const auto configs = o.configs.empty() ? shipped_configs() : o.configs;
  for (const auto& c : configs) {  // bad input stops here, before any run (exit 2)
    config::RunConfig cfg;
    config::Origins origins;
    config::apply_toml(cfg, c.toml, c.name, origins);
    for (const auto& s : o.sets) config::apply_override(cfg, s, origins);
    config::validate(cfg, origins);
  }
  const fs::path exe = o.exe.empty() ? fs::read_symlink("/proc/self/exe") : o.exe;
  const util::TempDir scratch("kiln-selftest");
  nlohmann::json report;
  report["configs"] = nlohmann::json::array();
  bool all_match = true;
  std::string device = "cpu";
  report["skipped"] = nlohmann::json::array();
  for (size_t c = 0; c < configs.size(); ++c) {
    const auto& cfg = configs[c];
    // A config for the user's own images (configs/imagefolder_resnet18.toml) runs where its
    // folder exists; elsewhere it is listed as skipped, with the reason.
    if (const std::string missing = missing_data(cfg, o.sets); !missing.empty()) {
      report["skipped"].push_back({{"name", cfg.name}, {"reason", missing}});
      if (o.progress) std::fprintf(stderr, "selftest %-12s skipped: %s\n", cfg.name.c_str(), missing.c_str());
      continue;
    }
    const int64_t steps = o.steps > 0 ? o.steps : cfg.steps;
    const fs::path cdir = scratch.path() / std::to_string(c);
    fs::create_directories(cdir);
    util::atomic_write(cdir / "config.toml", cfg.toml);
    std::vector<Run> runs;
    for (int i = 0; i < o.processes; ++i) {
      const int threads = kLoaderThreads[i % std::size(kLoaderThreads)];
      runs.push_back(run_once(exe, cdir / std::to_string(i), cdir / "config.toml", steps, threads, o.sets));
      if (o.progress) {
        std::fprintf(stderr, "selftest %-12s run %d/%d (loader.threads = %d): %.16s...\n", cfg.name.c_str(), i + 1,
                     o.processes, threads, runs.back().weights.c_str());
      }
    }
    nlohmann::json j;
    j["name"] = cfg.name;
    j["steps"] = steps;
    j["runs"] = nlohmann::json::array();
    bool same = true;
    for (const auto& r : runs) {
      j["runs"].push_back({{"loader_threads", r.loader_threads}, {"weights_sha256", r.weights}});
      same = same && r.weights == runs[0].weights;
    }
    std::vector<std::map<int64_t, double>> losses;
    for (const auto& r : runs) losses.push_back(r.losses);
    const int64_t div = first_divergent_step(losses);
    same = same && div < 0;
    j["match"] = same;
    j["first_divergent_step"] = div < 0 ? nlohmann::json(nullptr) : nlohmann::json(div);
    if (div >= 0) {
      nlohmann::json at = nlohmann::json::array();
      for (const auto& r : runs) {
        const auto it = r.losses.find(div);
        at.push_back(it == r.losses.end() ? nlohmann::json(nullptr) : nlohmann::json(it->second));
      }
      j["losses_at_divergence"] = at;
    }
    all_match = all_match && same;
    device = runs[0].device;
    report["configs"].push_back(j);
  }
  report["match"] = all_match;
  report["processes"] = o.processes;
  report["environment"] = repro::environment(device);
  return report;
}

}  // namespace kiln::verify
