// Recorder: spans from KILN_SCOPE during a profiling window.
#include "instrument/recorder.h"

#include "instrument/scope.h"

namespace kiln::instrument {

Recorder::Recorder(int device_index)
    : t0_(std::chrono::steady_clock::now()), main_(std::this_thread::get_id()), timer_(make_cuda_timer(device_index)) {
  spans_.reserve(4096);
  ids_.push_back(main_);
  names_.push_back(this_thread_name().empty() ? "train" : this_thread_name());
}

double Recorder::elapsed_us() const {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0_).count();
}

int Recorder::thread_index() {
  const auto id = std::this_thread::get_id();
  for (size_t i = 0; i < ids_.size(); ++i) {
    if (ids_[i] == id) return static_cast<int>(i);
  }
  ids_.push_back(id);
  const std::string& n = this_thread_name();
  names_.push_back(n.empty() ? "thread " + std::to_string(ids_.size() - 1) : n);
  return static_cast<int>(ids_.size() - 1);
}

int Recorder::begin(Phase p, int64_t step) {
  const double now = elapsed_us();
  const bool on_main = std::this_thread::get_id() == main_;
  // The event goes on the stream before the lock: only the training thread records events.
  const int ev = on_main && timer_ ? timer_->record() : -1;
  std::lock_guard<std::mutex> lock(mu_);
  Span s;
  s.phase = p;
  s.step = step;
  s.thread = thread_index();
  s.begin_us = now;
  s.ev_begin = ev;
  spans_.push_back(s);
  return static_cast<int>(spans_.size() - 1);
}

void Recorder::end(int span) {
  const double now = elapsed_us();
  const bool on_main = std::this_thread::get_id() == main_;
  const int ev = on_main && timer_ ? timer_->record() : -1;
  std::lock_guard<std::mutex> lock(mu_);
  Span& s = spans_[size_t(span)];
  s.end_us = now;
  s.ev_end = ev;
}

void Recorder::discard_from(int first) {
  std::lock_guard<std::mutex> lock(mu_);
  const int thread = spans_[size_t(first)].thread;
  for (size_t i = size_t(first); i < spans_.size(); ++i) {
    if (spans_[i].thread == thread) spans_[i].discarded = true;
  }
}

std::vector<Span> Recorder::spans() {
  std::lock_guard<std::mutex> lock(mu_);
  return spans_;
}

std::vector<std::string> Recorder::threads() {
  std::lock_guard<std::mutex> lock(mu_);
  return names_;
}

void Recorder::finish() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!timer_) return;
  timer_->synchronize();
  for (auto& s : spans_) {
    if (s.ev_begin >= 0 && s.ev_end >= 0) s.device_ms = timer_->elapsed_ms(s.ev_begin, s.ev_end);
  }
}

}  // namespace kiln::instrument
