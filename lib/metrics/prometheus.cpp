// PrometheusSink: the values and their text format (https://prometheus.io/docs/instrumenting/exposition_formats/).
#include "metrics/prometheus.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>

#include "metrics/metrics_server.h"

namespace kiln::metrics {

struct PrometheusSink::State {
  mutable std::mutex mu;  // the training thread writes, the server thread reads
  bool has_step = false;
  StepRecord step;
  Progress progress;
  int64_t samples_total = 0;
  std::map<std::string, double> eval;
};

namespace {

std::string value_text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

void family(std::string& out, const std::string& name, const std::string& type, const std::string& help) {
  out += "# HELP kiln_" + name + " " + help + "\n# TYPE kiln_" + name + " " + type + "\n";
}

void sample(std::string& out, const std::string& name, double v, const std::string& labels = "") {
  out += "kiln_" + name + (labels.empty() ? "" : "{" + labels + "}") + " " + value_text(v) + "\n";
}

// A label value: backslash, quote and newline escaped.
std::string label(const std::string& s) {
  std::string o;
  for (const char c : s) {
    if (c == '\\' || c == '"') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o;
}

}  // namespace

PrometheusSink::PrometheusSink(const MetricsServerOptions& opts)
    : state_(std::make_unique<State>()), extra_(opts.extra) {
  server_ = std::make_unique<MetricsServer>(opts.host, opts.port, [this] { return render(); });
}

PrometheusSink::~PrometheusSink() { close(); }

void PrometheusSink::on_step(const StepRecord& r) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->has_step = true;
  state_->step = r;
  state_->samples_total += r.samples;
}

void PrometheusSink::on_eval(const EvalRecord& r) {
  std::lock_guard<std::mutex> lock(state_->mu);
  for (const auto& [k, v] : r.values) state_->eval[k] = v;
}

void PrometheusSink::on_progress(const Progress& p) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->progress = p;
}

void PrometheusSink::close() {
  if (server_) server_->stop();
}

int PrometheusSink::port() const { return server_->port(); }

std::string PrometheusSink::render() const {
  std::string out;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    const Progress& p = state_->progress;
    family(out, "step", "gauge", "Optimizer steps done.");
    sample(out, "step", double(p.step));
    family(out, "total_steps", "gauge", "Optimizer steps the run will take.");
    sample(out, "total_steps", double(p.total_steps));
    family(out, "epoch", "gauge", "The current epoch, 1-based.");
    sample(out, "epoch", double(p.epoch + 1));
    family(out, "elapsed_seconds", "gauge", "Training time so far (evaluation excluded).");
    sample(out, "elapsed_seconds", p.elapsed_s);
    const bool tokens = p.tokens_per_sample > 0;
    family(out, tokens ? "tokens_per_second" : "samples_per_second", "gauge", "Mean training throughput so far.");
    sample(out, tokens ? "tokens_per_second" : "samples_per_second",
           tokens ? p.samples_per_s * double(p.tokens_per_sample) : p.samples_per_s);
    if (state_->has_step) {
      const StepRecord& r = state_->step;
      family(out, "samples_total", "counter", "Training samples seen by this process.");
      sample(out, "samples_total", double(state_->samples_total));
      family(out, "loss", "gauge", "Training loss of the newest logged step.");
      sample(out, "loss", r.loss);
      family(out, "learning_rate", "gauge", "Learning rate of the newest logged step.");
      sample(out, "learning_rate", r.lr);
      // Prometheus' base units: seconds (promtool refuses a _milliseconds name).
      family(out, "data_wait_seconds", "gauge", "Time the newest logged step waited for its batches.");
      sample(out, "data_wait_seconds", r.data_wait_ms / 1000.0);
      if (r.grad_norm >= 0) {
        family(out, "grad_norm", "gauge", "Global gradient norm before clipping, newest logged step.");
        sample(out, "grad_norm", r.grad_norm);
      }
    }
    if (!state_->eval.empty()) {
      family(out, "eval", "gauge", "The newest evaluation's metrics on the held-out split.");
      for (const auto& [k, v] : state_->eval) sample(out, "eval", v, "metric=\"" + label(k) + "\"");
    }
  }
  if (extra_) {
    for (const Gauge& g : extra_()) {
      family(out, g.name, "gauge", g.help);
      sample(out, g.name, g.value);
    }
  }
  return out;
}

}  // namespace kiln::metrics
