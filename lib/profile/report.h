// The per-phase report of a profiling window: statistics per phase (mean, p50, p95, share of
// the step), throughput, peak memory, telemetry and a verdict; as a table, profile.json and
// a Chrome/Perfetto trace.json.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "instrument/recorder.h"
#include "profile/telemetry.h"

namespace kiln::profile {

// The instrumentation layer's vocabulary (phases, spans, the recorder), used throughout.
using instrument::kPhaseCount;
using instrument::Phase;
using instrument::phase_name;
using instrument::Recorder;
using instrument::Span;

struct PhaseStats {
  Phase phase = Phase::kStep;
  int64_t count = 0;  // steps (step phases) or occurrences (epoch, eval, load_batch)
  double mean_ms = 0, p50_ms = 0, p95_ms = 0, total_ms = 0;
  double host_mean_ms = 0;  // host clock; equals mean_ms on the CPU
  double share = -1;        // mean / step mean, for phases inside the step; -1 otherwise
};

struct Verdict {
  std::string kind;    // "data-bound", "launch-bound" or "compute-bound"
  std::string reason;  // the numbers behind it
  std::vector<std::string> suggestions;
  bool near_power_limit = false;
  std::string power_note;  // "" without telemetry
};

// What the verdict looks at (per-step means, milliseconds).
struct VerdictInput {
  bool gpu = false;
  double step_ms = 0;                       // the step (device time on a GPU)
  double data_wait_ms = 0;                  // the step's data wait (device time on a GPU: the GPU idling for data)
  double host_busy_ms = 0;                  // host time issuing forward, backward, optimizer and copies
  double gpu_util_pct = -1;                 // NVML mean, -1 unknown
  double power_w = -1, power_limit_w = -1;  // NVML means, -1 unknown
};
struct VerdictThresholds {
  double data_share = 0.10;   // data wait above this share of the step: data-bound
  double host_share = 0.85;   // host issuing work for this share of the step: the GPU waits on launches
  double gpu_util = 90.0;     // ... unless NVML says the GPU was busy above this
  double power_share = 0.90;  // mean power above this share of the limit: near the limit
};
Verdict decide(const VerdictInput& in, const VerdictThresholds& t = {});

struct Report {
  std::string device;
  std::string timing;  // "cuda_events" or "host_clock"
  int64_t first_step = 0, last_step = 0, steps = 0;
  double window_s = 0;
  int64_t samples = 0;
  double samples_per_s = 0;
  int64_t peak_memory_bytes = -1;
  std::string peak_memory_kind;    // "cuda_allocated" or "host_max_rss"
  std::vector<PhaseStats> phases;  // in Phase order, phases seen only
  double step_mean_ms = 0;
  TelemetrySummary telemetry;
  Verdict verdict;
  std::string precision = "fp32";  // train.precision
  bool channels_last = false;      // model.channels_last
  std::string graph = "eager";     // how the step ran: eager (one launch per op) | cuda graph (one replay)
  double flops_per_sample = -1;    // training FLOPs per sample, conv + linear (profile/flops.h); -1: not counted
  double tflops = -1;              // flops_per_sample x samples/s / 1e12: achieved TFLOP/s; -1: not counted

  nlohmann::json to_json() const;
  std::string table() const;  // the human table
};

// Per-phase statistics from the window's spans: step phases summed per step number in
// [first_step, last_step], then statistics across steps.
std::vector<PhaseStats> phase_stats(const std::vector<Span>& spans, int64_t first_step, int64_t last_step,
                                    bool device_timed);

// p-th percentile (0..100) with linear interpolation between order statistics (numpy's default).
double percentile(std::vector<double> v, double p);

// Chrome trace event format: complete ("X") events per span, thread-name metadata.
nlohmann::json chrome_trace(const std::vector<Span>& spans, const std::vector<std::string>& threads);

}  // namespace kiln::profile
