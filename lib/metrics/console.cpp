// Console output on stderr: a redrawn progress bar on terminals, periodic lines otherwise.
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "metrics/sink.h"
#include "util/text.h"

namespace kiln::metrics {
namespace {

class ConsoleSink : public Sink {
 public:
  ConsoleSink(bool bar, int64_t every) : bar_(bar), every_(every) {}

  void on_step(const StepRecord& r) override {
    if (bar_ || r.step % every_ != 0) return;
    std::fprintf(stderr, "epoch %lld step %lld  loss %.4f  lr %.3g  %s\n", (long long)r.epoch + 1, (long long)r.step,
                 r.loss, r.lr, rate(last_).c_str());
  }

  void on_eval(const EvalRecord& r) override {
    clear_bar();
    std::string values;
    for (const auto& [name, v] : r.values) {
      char buf[128];
      std::snprintf(buf, sizeof buf, "  %s %.4f", name.c_str(), v);
      values += buf;
    }
    std::fprintf(stderr, "epoch %lld%s  (%s)\n", (long long)r.epoch + 1, values.c_str(),
                 util::format_duration(r.time_s).c_str());
  }

  void on_progress(const Progress& p) override {
    last_ = p;
    if (!bar_) return;
    const auto now = std::chrono::steady_clock::now();
    if (p.step != p.total_steps && now - drawn_ < std::chrono::milliseconds(100)) return;
    drawn_ = now;
    const int width = 24;
    const double frac = p.total_steps ? double(p.step) / double(p.total_steps) : 0.0;
    std::string bar(width, ' ');
    for (int i = 0; i < int(frac * width); ++i) bar[i] = '#';
    const double eta = frac > 0 ? p.elapsed_s * (1 - frac) / frac : 0.0;
    char loss[32] = "";
    if (p.last_loss >= 0) std::snprintf(loss, sizeof loss, "loss %.4f  ", p.last_loss);
    std::fprintf(stderr, "\r\033[Kepoch %lld/%lld [%s] %lld/%lld  %s%s  ETA %s", (long long)p.epoch + 1,
                 (long long)p.epochs, bar.c_str(), (long long)p.step, (long long)p.total_steps, loss, rate(p).c_str(),
                 util::format_duration(eta).c_str());
    std::fflush(stderr);
    dirty_ = true;
  }

  void close() override { clear_bar(); }

 private:
  void clear_bar() {
    if (dirty_) std::fprintf(stderr, "\r\033[K");
    dirty_ = false;
  }
  // "1,234 samples/s", or tokens/s where a sample is a window of tokens.
  static std::string rate(const Progress& p) {
    if (p.tokens_per_sample > 0) return with_commas(p.samples_per_s * double(p.tokens_per_sample)) + " tokens/s";
    return with_commas(p.samples_per_s) + " samples/s";
  }
  static std::string with_commas(double v) {
    std::string s = std::to_string(static_cast<long long>(v + 0.5));
    for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
    return s;
  }

  bool bar_;
  int64_t every_;
  bool dirty_ = false;
  Progress last_;
  std::chrono::steady_clock::time_point drawn_{};
};

class NullSink : public Sink {};

}  // namespace

std::unique_ptr<Sink> make_console_sink(const std::string& mode, int64_t every) {
  if (mode == "off") return std::make_unique<NullSink>();
  const bool bar = mode == "bar" || (mode == "auto" && ::isatty(STDERR_FILENO));
  return std::make_unique<ConsoleSink>(bar, every);
}

}  // namespace kiln::metrics
