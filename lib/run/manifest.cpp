// manifest.json and summary.json writers.
#include "run/manifest.h"

#include <ctime>

#include "util/fs.h"
#include "util/sha256.h"

namespace kiln::run {

std::string now_iso() {
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm);
  return buf;
}

void write_manifest(const RunDir& dir, const Manifest& m, const nlohmann::json* result) {
  nlohmann::json j;
  j["environment"] = m.environment;
  j["command_line"] = m.command_line;
  j["seed"] = m.seed;
  j["config_toml"] = m.config_toml;
  j["config_sha256"] = util::sha256_hex(m.config_toml);
  j["dataset"] = m.dataset;
  j["started_at"] = m.started_at;
  if (!m.resumed_from.empty()) j["resumed_from"] = m.resumed_from;
  const std::string status = result ? "finished" : m.status;
  j["status"] = status;
  if (!m.error.empty() && !result) j["error"] = m.error;
  j["pid"] = m.pid;
  j["host"] = m.host;
  if (!m.world.is_null()) j["world"] = m.world;
  j["ended_at"] = status != "running" ? nlohmann::json(now_iso()) : nlohmann::json(nullptr);
  if (result) j["result"] = *result;
  util::atomic_write(dir.manifest(), j.dump(2) + "\n");
}

void write_summary(const RunDir& dir, const nlohmann::json& summary) {
  util::atomic_write(dir.summary(), summary.dump(2) + "\n");
}

}  // namespace kiln::run
