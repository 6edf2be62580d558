// Live metrics for long runs: `kiln train --metrics-port PORT` serves the newest step,
// loss, throughput, data wait and evaluation (and, on a GPU, NVML's power and utilisation)
// in Prometheus' text exposition format at http://HOST:PORT/metrics, from a thread of its own.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "metrics/sink.h"

namespace kiln::metrics {

struct Gauge {
  std::string name, help;  // name without the kiln_ prefix, e.g. "gpu_power_watts"
  double value = 0;
};

struct MetricsServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port (the log line and port() say which)
  // Read on every scrape (from the server's thread): extra gauges, e.g. GPU telemetry.
  std::function<std::vector<Gauge>()> extra;
};

class MetricsServer;  // the HTTP side (metrics/metrics_server.cpp: the one file that sees httplib)

// A sink that keeps the newest values and serves them. Binds in the constructor:
// Error::usage when the port is taken or the host cannot be bound (exit 2 before training).
class PrometheusSink : public Sink {
 public:
  explicit PrometheusSink(const MetricsServerOptions& opts);
  ~PrometheusSink() override;
  void on_step(const StepRecord& r) override;
  void on_eval(const EvalRecord& r) override;
  void on_progress(const Progress& p) override;
  void close() override;
  int port() const;
  // The exposition text a scrape gets now.
  std::string render() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::unique_ptr<MetricsServer> server_;
  std::function<std::vector<Gauge>()> extra_;
};

}  // namespace kiln::metrics
