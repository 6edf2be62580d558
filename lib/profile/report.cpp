// Phase statistics, the verdict, the table and the JSON forms of a profiling window.
#include "profile/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace kiln::profile {
namespace {

// Phases that happen inside a step (their share of the step is meaningful). h2d_copy is
// issued inside data_wait (the loader's next() issues it), so it is not added again.
bool in_step(Phase p) {
  return p == Phase::kDataWait || p == Phase::kCopy || p == Phase::kForward || p == Phase::kBackward ||
         p == Phase::kOptimizer || p == Phase::kCheckpoint || p == Phase::kComm;
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

}  // namespace

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = p / 100.0 * double(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - double(lo));
}

std::vector<PhaseStats> phase_stats(const std::vector<Span>& spans, int64_t first_step, int64_t last_step,
                                    bool device_timed) {
  // per phase: samples (ms) and host samples; step phases are summed per step number first.
  std::map<int64_t, std::array<double, kPhaseCount>> per_step, per_step_host;
  std::array<std::vector<double>, kPhaseCount> other, other_host;
  for (const auto& s : spans) {
    if (s.end_us < 0 || s.discarded) continue;  // still open when the window closed, or cancelled
    const double host = (s.end_us - s.begin_us) / 1000.0;
    const double ms = device_timed && s.device_ms >= 0 ? s.device_ms : host;
    const int i = static_cast<int>(s.phase);
    if (s.thread == 0 && (s.phase == Phase::kStep || in_step(s.phase))) {
      if (s.step < first_step || s.step > last_step) continue;
      per_step[s.step][size_t(i)] += ms;  // std::array value-initialises to zeros
      per_step_host[s.step][size_t(i)] += host;
    } else {
      other[size_t(i)].push_back(ms);
      other_host[size_t(i)].push_back(host);
    }
  }
  std::vector<PhaseStats> out;
  double step_mean = 0;
  for (int i = 0; i < kPhaseCount; ++i) {
    std::vector<double> v = other[size_t(i)], h = other_host[size_t(i)];
    const bool stepwise = Phase(i) == Phase::kStep || in_step(Phase(i));
    if (stepwise) {
      bool seen = false;
      for (const auto& [step, a] : per_step) {
        v.push_back(a[size_t(i)]);
        h.push_back(per_step_host[step][size_t(i)]);
        seen = seen || a[size_t(i)] > 0;
      }
      if (!seen && Phase(i) != Phase::kStep) continue;
    }
    if (v.empty()) continue;
    PhaseStats st;
    st.phase = Phase(i);
    st.count = static_cast<int64_t>(v.size());
    for (double x : v) st.total_ms += x;
    st.mean_ms = st.total_ms / double(v.size());
    double hs = 0;
    for (double x : h) hs += x;
    st.host_mean_ms = hs / double(h.size());
    st.p50_ms = percentile(v, 50);
    st.p95_ms = percentile(v, 95);
    if (Phase(i) == Phase::kStep) step_mean = st.mean_ms;
    out.push_back(st);
  }
  for (auto& st : out) {
    if ((st.phase == Phase::kStep || in_step(st.phase)) && step_mean > 0) st.share = st.mean_ms / step_mean;
  }
  return out;
}

Verdict decide(const VerdictInput& in, const VerdictThresholds& t) {
  Verdict v;
  const double data_share = in.step_ms > 0 ? in.data_wait_ms / in.step_ms : 0;
  const double host_share = in.step_ms > 0 ? in.host_busy_ms / in.step_ms : 0;
  if (data_share > t.data_share) {
    v.kind = "data-bound";
    v.reason = "the step waits for data " + fmt("%.1f", 100 * data_share) + "% of the time (threshold " +
               fmt("%.0f", 100 * t.data_share) + "%)";
    v.suggestions = {"raise [loader] threads (all cores is the default) or prefetch",
                     "turn off costly augmentation, or cache decoded samples"};
    if (in.gpu) v.suggestions.push_back("set [loader] gpu_normalize = true: uint8 crosses PCIe, 4x fewer bytes");
  } else if (in.gpu && host_share > t.host_share && (in.gpu_util_pct < 0 || in.gpu_util_pct < t.gpu_util)) {
    v.kind = "launch-bound";
    v.reason = "the host spends " + fmt("%.0f", 100 * host_share) + "% of the step issuing work" +
               (in.gpu_util_pct >= 0 ? ", GPU busy " + fmt("%.0f", in.gpu_util_pct) + "% (NVML)" : std::string()) +
               ": the GPU waits for kernel launches";
    v.suggestions = {"raise [loader] batch_size so each launch does more work",
                     "capture the step in a CUDA graph (fewer, larger launches)"};
  } else {
    v.kind = "compute-bound";
    v.reason = "data wait " + fmt("%.1f", 100 * data_share) + "% of the step" +
               (in.gpu ? ", host issuing " + fmt("%.0f", 100 * host_share) + "%" : std::string()) +
               (in.gpu_util_pct >= 0 ? ", GPU busy " + fmt("%.0f", in.gpu_util_pct) + "%" : std::string()) +
               ": the step's own compute is the limit";
    v.suggestions = {in.gpu ? "mixed precision or a smaller model speeds the step itself"
                            : "more [train] threads, or a GPU, speed the step itself"};
  }
  if (in.power_w >= 0 && in.power_limit_w > 0) {
    const double share = in.power_w / in.power_limit_w;
    v.near_power_limit = share >= t.power_share;
    v.power_note = "mean power " + fmt("%.0f", in.power_w) + " W of a " + fmt("%.0f", in.power_limit_w) + " W limit (" +
                   fmt("%.0f", 100 * share) + "%)" +
                   (v.near_power_limit ? ": near the limit, clocks may be throttled" : "");
  }
  return v;
}

nlohmann::json chrome_trace(const std::vector<Span>& spans, const std::vector<std::string>& threads) {
  nlohmann::json ev = nlohmann::json::array();
  ev.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", 1}, {"tid", 0}, {"args", {{"name", "kiln"}}}});
  for (size_t i = 0; i < threads.size(); ++i) {
    ev.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", i}, {"args", {{"name", threads[i]}}}});
  }
  for (const auto& s : spans) {
    if (s.end_us < 0 || s.discarded) continue;
    nlohmann::json e = {{"name", phase_name(s.phase)},  {"cat", "kiln"}, {"ph", "X"},      {"ts", s.begin_us},
                        {"dur", s.end_us - s.begin_us}, {"pid", 1},      {"tid", s.thread}};
    e["args"] = {{s.phase == Phase::kLoadBatch ? "batch" : "step", s.step}};
    if (s.device_ms >= 0) e["args"]["device_ms"] = s.device_ms;
    ev.push_back(std::move(e));
  }
  return {{"traceEvents", ev}, {"displayTimeUnit", "ms"}};
}

}  // namespace kiln::profile
