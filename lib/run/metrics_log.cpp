// metrics.jsonl read back (see metrics_log.h).
#include "run/metrics_log.h"

#include <cmath>
#include <fstream>

#include "util/sha256.h"

namespace kiln::run {

std::vector<nlohmann::json> read_metrics(const std::filesystem::path& path, SkippedLines* skipped) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded() && j.is_object()) {
      out.push_back(std::move(j));
    } else if (skipped && line.find_first_not_of(" \t\r") != std::string::npos) {
      skipped->numbers.push_back(number);
    }
  }
  if (skipped) skipped->lines = number;
  return out;
}

std::string record_type(const nlohmann::json& record) {
  const auto it = record.find("type");
  return it != record.end() && it->is_string() ? it->get<std::string>() : "";
}

std::map<int64_t, double> step_losses(const std::vector<nlohmann::json>& records) {
  std::map<int64_t, double> out;
  for (const auto& j : records) {
    if (record_type(j) != "step") continue;
    const auto& loss = j.value("loss", nlohmann::json());
    out[j.value("step", int64_t(0))] = loss.is_number() ? loss.get<double>() : NAN;
  }
  return out;
}

LossTrace loss_trace(const std::vector<nlohmann::json>& records) {
  std::string text;
  LossTrace t;
  for (const auto& j : records) {
    if (record_type(j) != "step") continue;
    const auto& loss = j.value("loss", nlohmann::json());
    text += std::to_string(j.value("step", int64_t(0))) + " " + loss.dump() + "\n";
    if (!loss.is_number() || j.value("skipped", false)) ++t.nonfinite;
  }
  t.sha256 = util::sha256_hex(text);
  return t;
}

std::vector<nlohmann::json> MetricsTail::next() {
  std::vector<nlohmann::json> out;
  std::ifstream in(path_, std::ios::binary);
  if (!in) return out;
  in.seekg(static_cast<std::streamoff>(offset_));
  std::string line;
  // Only whole lines: a line without its '\n' is still being written.
  while (std::getline(in, line) && !in.eof()) {
    offset_ += line.size() + 1;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

}  // namespace kiln::run
