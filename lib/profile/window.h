// Window: a profiling window over steps [first_step, last_step] of a training run, plugged
// into the loop as its train::StepHook (before_step/after_step around every step); the window opens before
// first_step (device synchronised, peak memory reset, recorder and telemetry on,
// cudaProfilerStart) and closes after last_step, writing profile.json and trace.json (and
// torch_trace.json with LibTorch's Kineto trace when asked).
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "profile/report.h"
#include "train/step_hook.h"

namespace kiln::profile {

struct WindowOptions {
  int64_t first_step = 1, last_step = 1;  // 1-based optimizer steps, inclusive
  std::filesystem::path out_dir;          // created if missing; empty: <run dir>/profile
  std::string device = "cpu";             // resolved: "cpu" or "cuda:N"
  bool torch_trace = false;               // LibTorch's Kineto trace (CPU ops, CUDA kernels) -> torch_trace.json
  bool nvtx_ops = false;                  // one NVTX range per LibTorch operator (emit_nvtx)
  std::string precision = "fp32";         // train.precision, for the report
  bool channels_last = false;             // model.channels_last, for the report
  bool cuda_graph = false;                // train.cuda_graph, for the report
};

class Window : public train::StepHook {
 public:
  explicit Window(WindowOptions opts);
  ~Window();
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;

  // The run goes from step done + 1 to `last`: throws Error::usage when no step of the
  // window is left; otherwise a window reaching past the end is cut to end there, and one
  // starting at or before `done` (a resumed run) starts at done + 1, each with a warning.
  void fit(int64_t done, int64_t last) override;
  void start(const std::filesystem::path& run_dir) override;               // out_dir defaults to <run dir>/profile
  void net_ready(model::Net& net, const data::SampleSpec& spec) override;  // counts its FLOPs
  void before_step(int64_t step) override;
  void after_step(int64_t step, int64_t samples) override;
  // The report once the window has closed (nullopt before).
  const std::optional<Report>& report() const { return report_; }
  const WindowOptions& options() const { return opts_; }

 private:
  void open();
  void close();

  WindowOptions opts_;
  int device_index_ = -1;
  std::unique_ptr<Recorder> recorder_;
  std::unique_ptr<Telemetry> telemetry_;
  bool torch_profiling_ = false;
  int64_t samples_ = 0;
  double flops_per_sample_ = -1;  // training FLOPs of one sample (profile/flops.h); -1: none counted
  std::optional<Report> report_;
};

}  // namespace kiln::profile
