// Unit tests of the profiling pieces: phase statistics from synthetic spans, the verdict on
// synthetic timings, the Chrome trace shape, NVML absence.
#include <gtest/gtest.h>

#include <cstdlib>

#include "profile/report.h"
#include "profile/telemetry.h"

namespace kiln::profile {
namespace {

Span span(Phase p, int64_t step, double begin_us, double end_us, int thread = 0) {
  Span s;
  s.phase = p;
  s.step = step;
  s.begin_us = begin_us;
  s.end_us = end_us;
  s.thread = thread;
  return s;
}

const PhaseStats* find(const std::vector<PhaseStats>& v, Phase p) {
  for (const auto& s : v) {
    if (s.phase == p) return &s;
  }
  return nullptr;
}

TEST(ProfilePercentile, MatchesLinearInterpolation) {
  // numpy.percentile([1, 2, 3, 4], 50) == 2.5; [.., 95] == 3.85; one value is every percentile.
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 50), 2.5);
  EXPECT_NEAR(percentile({1, 2, 3, 4}, 95), 3.85, 1e-12);
  EXPECT_DOUBLE_EQ(percentile({7}, 95), 7);
  EXPECT_DOUBLE_EQ(percentile({}, 50), 0);
}

TEST(ProfilePhaseStats, SumsMicroBatchesPerStepAndComputesShares) {
  // Two steps of 10 ms and 30 ms; step 1 has two forward micro-batches (2 + 3 ms).
  std::vector<Span> s = {
      span(Phase::kStep, 1, 0, 10'000),       span(Phase::kForward, 1, 0, 2'000),
      span(Phase::kForward, 1, 2'000, 5'000), span(Phase::kDataWait, 1, 5'000, 6'000),
      span(Phase::kStep, 2, 10'000, 40'000),  span(Phase::kForward, 2, 10'000, 25'000),
      span(Phase::kStep, 3, 40'000, 90'000),  // outside the window [1, 2]
      span(Phase::kLoadBatch, 7, 0, 500, 1),  // a loader thread: counted per occurrence
  };
  const auto st = phase_stats(s, 1, 2, false);
  const PhaseStats* step = find(st, Phase::kStep);
  ASSERT_NE(step, nullptr);
  EXPECT_EQ(step->count, 2);
  EXPECT_DOUBLE_EQ(step->mean_ms, 20.0);
  EXPECT_DOUBLE_EQ(step->share, 1.0);
  const PhaseStats* fwd = find(st, Phase::kForward);
  ASSERT_NE(fwd, nullptr);
  EXPECT_DOUBLE_EQ(fwd->mean_ms, (5.0 + 15.0) / 2);
  EXPECT_DOUBLE_EQ(fwd->share, 10.0 / 20.0);
  const PhaseStats* wait = find(st, Phase::kDataWait);
  ASSERT_NE(wait, nullptr);
  EXPECT_EQ(wait->count, 2) << "a step phase counts every step, zero where absent";
  EXPECT_DOUBLE_EQ(wait->mean_ms, 0.5);
  const PhaseStats* load = find(st, Phase::kLoadBatch);
  ASSERT_NE(load, nullptr);
  EXPECT_EQ(load->count, 1);
  EXPECT_LT(load->share, 0) << "loader work is not part of the step";
  EXPECT_EQ(find(st, Phase::kBackward), nullptr) << "phases never seen are left out";
}

TEST(ProfilePhaseStats, PrefersDeviceTimesAndSkipsOpenOrDiscardedSpans) {
  Span a = span(Phase::kStep, 1, 0, 10'000);
  a.device_ms = 4.0;
  Span open = span(Phase::kStep, 2, 10'000, -1);
  Span dropped = span(Phase::kStep, 2, 10'000, 11'000);
  dropped.discarded = true;
  const auto st = phase_stats({a, open, dropped}, 1, 2, true);
  const PhaseStats* step = find(st, Phase::kStep);
  ASSERT_NE(step, nullptr);
  EXPECT_EQ(step->count, 1);
  EXPECT_DOUBLE_EQ(step->mean_ms, 4.0);
  EXPECT_DOUBLE_EQ(step->host_mean_ms, 10.0);
}

TEST(ProfileVerdict, DataBoundAboveTheThreshold) {
  VerdictInput in;
  in.step_ms = 100;
  in.data_wait_ms = 25;
  in.host_busy_ms = 20;
  EXPECT_EQ(decide(in).kind, "data-bound");
  in.gpu = true;
  const Verdict v = decide(in);
  EXPECT_EQ(v.kind, "data-bound");
  EXPECT_NE(v.reason.find("25.0%"), std::string::npos) << v.reason;
  bool gpu_normalize = false;
  for (const auto& s : v.suggestions) gpu_normalize = gpu_normalize || s.find("gpu_normalize") != std::string::npos;
  EXPECT_TRUE(gpu_normalize);
}

TEST(ProfileVerdict, LaunchBoundWhenTheHostIsTheCriticalPath) {
  VerdictInput in;
  in.gpu = true;
  in.step_ms = 10;
  in.data_wait_ms = 0.1;
  in.host_busy_ms = 9.5;
  EXPECT_EQ(decide(in).kind, "launch-bound");
  in.gpu_util_pct = 98;  // NVML says the GPU was busy anyway
  EXPECT_EQ(decide(in).kind, "compute-bound");
  in.gpu = false;  // on the CPU the host *is* the device
  in.gpu_util_pct = -1;
  EXPECT_EQ(decide(in).kind, "compute-bound");
}

TEST(ProfileVerdict, ComputeBoundAndPowerLimit) {
  VerdictInput in;
  in.gpu = true;
  in.step_ms = 10;
  in.data_wait_ms = 0.2;
  in.host_busy_ms = 2;
  in.power_w = 690;
  in.power_limit_w = 700;
  Verdict v = decide(in);
  EXPECT_EQ(v.kind, "compute-bound");
  EXPECT_TRUE(v.near_power_limit);
  EXPECT_NE(v.power_note.find("700 W"), std::string::npos) << v.power_note;
  in.power_w = 300;
  EXPECT_FALSE(decide(in).near_power_limit);
  in.power_w = -1;
  EXPECT_TRUE(decide(in).power_note.empty()) << "no telemetry, no power note";
}

TEST(ProfileTrace, ChromeTraceShape) {
  Span done = span(Phase::kForward, 3, 10, 30);
  done.device_ms = 0.5;
  const auto t = chrome_trace({done, span(Phase::kStep, 4, 40, -1), span(Phase::kLoadBatch, 9, 5, 6, 1)},
                              {"train", "kiln loader 0"});
  const auto& ev = t["traceEvents"];
  int complete = 0, names = 0;
  for (const auto& e : ev) {
    if (e["ph"] == "X") {
      ++complete;
      if (e["name"] == "forward") {
        EXPECT_DOUBLE_EQ(e["ts"].get<double>(), 10);
        EXPECT_DOUBLE_EQ(e["dur"].get<double>(), 20);
        EXPECT_EQ(e["args"]["step"], 3);
        EXPECT_DOUBLE_EQ(e["args"]["device_ms"].get<double>(), 0.5);
      } else {
        EXPECT_EQ(e["name"], "load_batch");
        EXPECT_EQ(e["args"]["batch"], 9);
        EXPECT_EQ(e["tid"], 1);
      }
    }
    if (e["ph"] == "M" && e["name"] == "thread_name") ++names;
  }
  EXPECT_EQ(complete, 2) << "the open span is left out";
  EXPECT_EQ(names, 2);
}

TEST(ProfileTelemetry, AbsentNvmlIsANoteNotAnError) {
  ::setenv("KILN_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
  Telemetry t(0);
  const TelemetrySummary s = t.stop();
  ::unsetenv("KILN_NVML_LIBRARY");
  EXPECT_FALSE(s.available);
  EXPECT_TRUE(s.samples.empty());
  EXPECT_NE(s.note.find("no GPU telemetry"), std::string::npos) << s.note;
  EXPECT_EQ(s.to_json()["available"], false);
  Telemetry cpu(-1);
  EXPECT_NE(cpu.stop().note.find("CPU run"), std::string::npos);
}

// A field NVML could not read (-1) is left out of means and maxima and shows as null / n/a,
// so an unsupported reading (utilisation under MIG) never looks like an idle GPU.
TEST(ProfileTelemetry, UnreadFieldsAreUnknownNotZero) {
  TelemetrySummary t;
  t.available = true;
  t.note = "Test GPU";
  t.power_limit_w = 700;
  TelemetrySample a, b;
  a.power_w = 300, b.power_w = 500;
  a.temp_c = 60;
  t.samples = {a, b};
  EXPECT_EQ(t.mean(&TelemetrySample::gpu_util_pct), -1);
  EXPECT_DOUBLE_EQ(t.mean(&TelemetrySample::power_w), 400);
  EXPECT_DOUBLE_EQ(t.max(&TelemetrySample::temp_c), 60);
  const auto j = t.to_json();
  EXPECT_TRUE(j["gpu_util_pct_mean"].is_null()) << j.dump();
  EXPECT_DOUBLE_EQ(j["power_w_mean"].get<double>(), 400);
  Report r;
  r.telemetry = t;
  const std::string table = r.table();
  EXPECT_NE(table.find("util n/a%"), std::string::npos) << table;
  EXPECT_NE(table.find("power 400 / 700 W"), std::string::npos) << table;
}

}  // namespace
}  // namespace kiln::profile
