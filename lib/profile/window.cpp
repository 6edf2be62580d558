// Window: opens and closes the profiling window and writes its outputs.
#include "profile/window.h"

#include <sys/resource.h>
#include <torch/csrc/autograd/profiler_kineto.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "instrument/scope.h"
#include "profile/flops.h"
#include "run/run_dir.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/out_file.h"

namespace kiln::profile {
namespace tp = torch::autograd::profiler;
namespace {

int64_t host_max_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return int64_t(u.ru_maxrss) * 1024;  // Linux reports KiB
}

// Per-step means of the phases the verdict needs.
VerdictInput verdict_input(const Report& r) {
  VerdictInput in;
  in.gpu = r.timing == "cuda_events";
  for (const auto& p : r.phases) {
    if (p.phase == Phase::kStep) in.step_ms = p.mean_ms;
    if (p.phase == Phase::kDataWait) in.data_wait_ms = p.mean_ms;
    if (p.phase == Phase::kForward || p.phase == Phase::kBackward || p.phase == Phase::kOptimizer ||
        p.phase == Phase::kCopy) {
      in.host_busy_ms += p.host_mean_ms;
    }
  }
  if (r.telemetry.available && !r.telemetry.samples.empty()) {
    in.gpu_util_pct = r.telemetry.mean(&TelemetrySample::gpu_util_pct);
    in.power_w = r.telemetry.mean(&TelemetrySample::power_w);
    in.power_limit_w = r.telemetry.power_limit_w;
  }
  return in;
}

// Kineto writes the trace itself through an unchecked std::ofstream: on a full disk it
// would end short without a word. So it writes a temp file that must be whole JSON before
// it takes the final name.
void save_torch_trace(tp::ProfilerResult& result, const std::filesystem::path& path) {
  const auto dir = path.parent_path();
  const auto tmp = dir / ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()));
  result.save(tmp.string());
  std::ifstream in(tmp, std::ios::binary);
  const bool whole = in && nlohmann::json::accept(in);
  in.close();
  std::error_code ec;
  if (whole) util::fsync_path(tmp);
  if (!whole || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const uint64_t size = std::filesystem::file_size(tmp, ec);
    std::filesystem::remove(tmp, ec);
    std::filesystem::remove(tmp.string() + ".tmp", ec);  // Kineto's own temp, renamed only on success
    const int64_t avail = util::free_bytes(dir);
    throw Error::runtime("cannot write " + path.string() + ": LibTorch's profiler left an incomplete trace (" +
                             util::format_bytes(ec ? 0 : size) + " written; " +
                             util::format_bytes(avail > 0 ? avail : 0) + " free in " + dir.string() + ")",
                         "the disk is probably full: free some space there and profile again");
  }
  util::fsync_path(dir);
}

}  // namespace

Window::Window(WindowOptions opts) : opts_(std::move(opts)), device_index_(instrument::cuda_index(opts_.device)) {}

Window::~Window() {
  if (instrument::active_recorder() == recorder_.get()) instrument::set_active_recorder(nullptr);
  if (torch_profiling_) tp::disableProfiler();
}

void Window::fit(int64_t done, int64_t last) {
  // Refused before the run dir exists (or, resuming, before it changes).
  if (opts_.first_step > last) {
    throw Error::usage("the profile window starts at step " + std::to_string(opts_.first_step) +
                           " but this run ends at step " + std::to_string(last),
                       "profile earlier steps, or train longer (train.epochs / train.max_steps)");
  }
  if (opts_.last_step <= done) {
    throw Error::usage("the profile window " + std::to_string(opts_.first_step) + ":" +
                           std::to_string(opts_.last_step) + " is behind the resumed run, which continues after step " +
                           std::to_string(done),
                       done < last ? "profile steps still ahead, e.g. --profile-steps " + std::to_string(done + 1) +
                                         ":" + std::to_string(std::min(last, done + 20))
                                   : "this run has no steps left to profile");
  }
  if (opts_.first_step <= done) {
    log::warn("profile window cut to start at step " + std::to_string(done + 1) +
              ": the resumed run continues after step " + std::to_string(done));
    opts_.first_step = done + 1;
  }
  if (opts_.last_step > last) {
    log::warn("profile window cut to steps " + std::to_string(opts_.first_step) + ".." + std::to_string(last) +
              ": the run ends at step " + std::to_string(last));
    opts_.last_step = last;
  }
}

void Window::start(const std::filesystem::path& run_dir) {
  if (opts_.out_dir.empty()) opts_.out_dir = run::RunDir{run_dir}.profile();
}

void Window::before_step(int64_t step) {
  if (step == opts_.first_step && !recorder_) open();
}

void Window::after_step(int64_t step, int64_t samples) {
  if (!recorder_ || report_) return;
  samples_ += samples;
  if (step == opts_.last_step) close();
}

void Window::open() {
  instrument::cuda_synchronize(device_index_);  // queued work from before the window is not counted
  instrument::cuda_reset_peak(device_index_);
  if (opts_.torch_trace || opts_.nvtx_ops) {
    // emit_nvtx mode takes no activities; Kineto records CPU ops and, on a GPU, kernels.
    // (profile::check_options refuses both at once.)
    const auto state = opts_.nvtx_ops ? tp::ProfilerState::NVTX : tp::ProfilerState::KINETO;
    std::set<tp::ActivityType> acts;
    if (state == tp::ProfilerState::KINETO) {
      acts.insert(tp::ActivityType::CPU);
      if (device_index_ >= 0) acts.insert(tp::ActivityType::CUDA);
    }
    const tp::ProfilerConfig cfg(state, /*report_input_shapes=*/true);
    if (state == tp::ProfilerState::KINETO) tp::prepareProfiler(cfg, acts);
    tp::enableProfiler(cfg, acts);
    torch_profiling_ = true;
  }
  telemetry_ = std::make_unique<Telemetry>(device_index_);
  recorder_ = std::make_unique<Recorder>(device_index_);
  instrument::set_active_recorder(recorder_.get());
  instrument::cuda_profiler_start();
}

void Window::net_ready(model::Net& net, const data::SampleSpec& spec) {
  flops_per_sample_ = train_flops_per_sample(net, spec);
}

void Window::close() {
  instrument::cuda_profiler_stop();
  instrument::cuda_synchronize(device_index_);
  Report r;
  r.window_s = recorder_->elapsed_us() / 1e6;
  instrument::set_active_recorder(nullptr);
  if (torch_profiling_) {
    auto result = tp::disableProfiler();
    torch_profiling_ = false;
    if (opts_.torch_trace && result) {
      std::filesystem::create_directories(opts_.out_dir);
      save_torch_trace(*result, opts_.out_dir / "torch_trace.json");
    }
  }
  recorder_->finish();
  const auto spans = recorder_->spans();
  r.device = opts_.device;
  r.timing = recorder_->device_timed() ? "cuda_events" : "host_clock";
  r.first_step = opts_.first_step;
  r.last_step = opts_.last_step;
  r.steps = opts_.last_step - opts_.first_step + 1;
  r.samples = samples_;
  r.samples_per_s = r.window_s > 0 ? double(samples_) / r.window_s : 0;
  r.precision = opts_.precision;
  r.channels_last = opts_.channels_last;
  if (opts_.cuda_graph) r.graph = "cuda graph";
  r.flops_per_sample = flops_per_sample_;
  r.tflops = flops_per_sample_ > 0 ? flops_per_sample_ * r.samples_per_s / 1e12 : -1;
  if (device_index_ >= 0) {
    r.peak_memory_bytes = instrument::cuda_peak_bytes(device_index_);
    r.peak_memory_kind = "cuda_allocated";
  } else {
    r.peak_memory_bytes = host_max_rss_bytes();
    r.peak_memory_kind = "host_max_rss";
  }
  r.phases = phase_stats(spans, r.first_step, r.last_step, recorder_->device_timed());
  for (const auto& p : r.phases) {
    if (p.phase == Phase::kStep) r.step_mean_ms = p.mean_ms;
  }
  r.telemetry = telemetry_->stop();
  r.verdict = decide(verdict_input(r));
  std::filesystem::create_directories(opts_.out_dir);
  util::atomic_write(opts_.out_dir / "profile.json", r.to_json().dump(2) + "\n");
  util::atomic_write(opts_.out_dir / "trace.json", chrome_trace(spans, recorder_->threads()).dump() + "\n");
  log::info("profile of steps " + std::to_string(r.first_step) + ".." + std::to_string(r.last_step) + " written to " +
            opts_.out_dir.string());
  report_ = std::move(r);
}

}  // namespace kiln::profile
