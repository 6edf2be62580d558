// Report::to_json (profile.json) and Report::table (what `kiln profile` prints).
#include <cstdio>

#include "profile/report.h"

namespace kiln::profile {

nlohmann::json Report::to_json() const {
  nlohmann::json ph = nlohmann::json::array();
  for (const auto& p : phases) {
    nlohmann::json j = {
        {"name", phase_name(p.phase)}, {"count", p.count},       {"mean_ms", p.mean_ms},          {"p50_ms", p.p50_ms},
        {"p95_ms", p.p95_ms},          {"total_ms", p.total_ms}, {"host_mean_ms", p.host_mean_ms}};
    j["share"] = p.share >= 0 ? nlohmann::json(p.share) : nlohmann::json(nullptr);
    ph.push_back(std::move(j));
  }
  auto counted = [](double v) { return v > 0 ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"device", device},
          {"timing", timing},
          {"precision", precision},
          {"channels_last", channels_last},
          {"graph", graph},
          {"flops_per_sample", counted(flops_per_sample)},
          {"tflops", counted(tflops)},
          {"window", {{"first_step", first_step}, {"last_step", last_step}, {"steps", steps}, {"seconds", window_s}}},
          {"samples", samples},
          {"samples_per_s", samples_per_s},
          {"step_mean_ms", step_mean_ms},
          {"peak_memory", {{"bytes", peak_memory_bytes}, {"kind", peak_memory_kind}}},
          {"phases", ph},
          {"telemetry", telemetry.to_json()},
          {"verdict",
           {{"kind", verdict.kind},
            {"reason", verdict.reason},
            {"suggestions", verdict.suggestions},
            {"near_power_limit", verdict.near_power_limit},
            {"power_note", verdict.power_note}}}};
}

std::string Report::table() const {
  std::string out;
  char line[200];
  std::snprintf(line, sizeof line, "\n  steps %lld..%lld on %s (%s), %.0f samples/s\n", (long long)first_step,
                (long long)last_step, device.c_str(), timing == "cuda_events" ? "CUDA events" : "host clock",
                samples_per_s);
  out += line;
  std::snprintf(line, sizeof line, "  precision %s%s, %s", precision.c_str(), channels_last ? ", channels-last" : "",
                graph.c_str());
  out += line;
  if (flops_per_sample > 0) {
    std::snprintf(line, sizeof line, "; %.3f GFLOP per training sample (conv + linear): %.3f TFLOP/s achieved",
                  flops_per_sample / 1e9, tflops);
    out += line;
  }
  out += "\n\n";
  std::snprintf(line, sizeof line, "  %-12s %7s %10s %10s %10s %8s\n", "phase", "count", "mean ms", "p50 ms", "p95 ms",
                "share");
  out += line;
  for (const auto& p : phases) {
    char share[16] = "";
    if (p.share >= 0) std::snprintf(share, sizeof share, "%.1f%%", 100 * p.share);
    const bool nested = p.phase == Phase::kCopy;
    std::snprintf(line, sizeof line, "  %-12s %7lld %10.3f %10.3f %10.3f %8s%s\n",
                  (std::string(nested ? "  " : "") + phase_name(p.phase)).c_str(), (long long)p.count, p.mean_ms,
                  p.p50_ms, p.p95_ms, share, nested ? "  (within data_wait)" : "");
    out += line;
  }
  if (peak_memory_bytes >= 0) {
    std::snprintf(line, sizeof line, "\n  peak memory  %.1f MiB (%s)\n", double(peak_memory_bytes) / (1 << 20),
                  peak_memory_kind == "cuda_allocated" ? "CUDA allocated" : "host max RSS");
    out += line;
  }
  if (telemetry.available && !telemetry.samples.empty()) {
    // A reading NVML could not take prints as "n/a".
    auto num = [](double v) { return v >= 0 ? std::to_string(static_cast<long long>(v + 0.5)) : std::string("n/a"); };
    out += "  GPU          " + telemetry.note + ": util " + num(telemetry.mean(&TelemetrySample::gpu_util_pct)) +
           "%, power " + num(telemetry.mean(&TelemetrySample::power_w)) + " / " + num(telemetry.power_limit_w) +
           " W, SM clock " + num(telemetry.mean(&TelemetrySample::sm_clock_mhz)) + " MHz, memory " +
           num(telemetry.max(&TelemetrySample::mem_used_mib)) + " MiB, " +
           num(telemetry.max(&TelemetrySample::temp_c)) + " C\n";
  } else {
    out += "  telemetry    " + telemetry.note + "\n";
  }
  out += "\n  verdict      " + verdict.kind + ": " + verdict.reason + "\n";
  if (!verdict.power_note.empty()) out += "               " + verdict.power_note + "\n";
  for (const auto& s : verdict.suggestions) out += "    - " + s + "\n";
  return out;
}

}  // namespace kiln::profile
