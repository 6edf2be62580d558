// Unit tests of the instrumentation layer: the recorder across threads (KILN_SCOPE, step
// numbers, thread names, cancelled spans) and the scope benchmark's cleanup.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "instrument/recorder.h"
#include "instrument/scope.h"
#include "instrument/scope_bench.h"

namespace kiln::instrument {
namespace {

TEST(InstrumentRecorder, ScopesFromSeveralThreadsAreRecordedAndNamed) {
  Recorder rec;
  set_active_recorder(&rec);
  set_current_step(5);
  {
    KILN_SCOPE(Phase::kStep);
    std::thread t([] {
      name_this_thread("kiln loader 7");
      set_current_step(42);
      KILN_SCOPE(Phase::kLoadBatch);
    });
    t.join();
    instrument::Scope cancelled(Phase::kStep);
    { KILN_SCOPE(Phase::kForward); }
    cancelled.cancel();
  }
  set_active_recorder(nullptr);
  { KILN_SCOPE(Phase::kEval); }  // no recorder: nothing recorded
  rec.finish();
  const auto spans = rec.spans();
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(spans[0].phase, Phase::kStep);
  EXPECT_EQ(spans[0].step, 5);
  EXPECT_GE(spans[0].end_us, spans[0].begin_us);
  EXPECT_EQ(spans[1].phase, Phase::kLoadBatch);
  EXPECT_EQ(spans[1].step, 42);
  EXPECT_EQ(spans[1].thread, 1);
  EXPECT_TRUE(spans[2].discarded && spans[3].discarded) << "cancel drops the span and those inside it";
  EXPECT_FALSE(spans[0].discarded);
  const auto threads = rec.threads();
  ASSERT_EQ(threads.size(), 2u);
  EXPECT_EQ(threads[1], "kiln loader 7");
}

// The scope benchmark restores the process's state: a window open before it (a real one, in
// a profiled run) is active again afterwards, and with none open none is left behind.
TEST(InstrumentScopeBench, ReportsCostsAndLeavesNoRecorderActive) {
  ASSERT_EQ(active_recorder(), nullptr);
  const auto j = bench_scopes(2048, -1);
  EXPECT_EQ(active_recorder(), nullptr);
  EXPECT_EQ(j["calls"], 2048);
  EXPECT_EQ(j["device"], "cpu");
  EXPECT_GT(j["off_ns"].get<double>(), 0.0);
  EXPECT_GT(j["window_ns"].get<double>(), 0.0);
  EXPECT_EQ(j["nvtx_compiled_in"].get<bool>(), nvtx_compiled_in());
  Recorder outer;
  set_active_recorder(&outer);
  bench_scopes(1024, -1);
  EXPECT_EQ(active_recorder(), &outer);
  set_active_recorder(nullptr);
  EXPECT_TRUE(outer.spans().empty()) << "the benchmark's spans went to its own recorders only";
}

}  // namespace
}  // namespace kiln::instrument
