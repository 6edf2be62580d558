// GPU telemetry during a profiling window, sampled through NVML (libnvidia-ml, loaded at run
// time so that kiln runs where it is missing). No GPU or no NVML is a note, not an error.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::profile {

// One NVML reading; a field NVML could not read (not supported, e.g. utilisation under
// MIG) stays -1.
struct TelemetrySample {
  double t_s = 0;            // since sampling started
  double gpu_util_pct = -1;  // NVML "utilization.gpu": share of time a kernel was running
  double mem_util_pct = -1;  // share of time device memory was read or written
  double power_w = -1;
  double sm_clock_mhz = -1;
  double mem_used_mib = -1;
  double temp_c = -1;
};

struct TelemetrySummary {
  bool available = false;
  std::string note;           // why not available, or the device's name
  double power_limit_w = -1;  // enforced limit; -1 when NVML could not read it
  std::vector<TelemetrySample> samples;
  // Mean / maximum over the samples that have the field; -1 when none has.
  double mean(double TelemetrySample::*field) const;
  double max(double TelemetrySample::*field) const;
  nlohmann::json to_json() const;
};

class Telemetry {
 public:
  // Samples CUDA device `cuda_index` (-1: the CPU, nothing sampled) every `period_s`.
  // The library is $KILN_NVML_LIBRARY if set, else libnvidia-ml.so.1.
  // keep_history = false keeps only the newest sample (a whole training run's live metrics).
  Telemetry(int cuda_index, double period_s = 0.1, bool keep_history = true);
  ~Telemetry();
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;
  // Stops sampling and returns what was seen.
  TelemetrySummary stop();
  // The newest sample, from any thread; nullopt before the first or without NVML.
  std::optional<TelemetrySample> latest() const;

 private:
  struct Nvml;
  std::unique_ptr<Nvml> nvml_;
  TelemetrySummary summary_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;  // guards latest_ (the sampler thread writes it)
  std::optional<TelemetrySample> latest_;
  std::thread thread_;
};

}  // namespace kiln::profile
