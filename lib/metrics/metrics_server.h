// The HTTP server behind --metrics-port: GET /metrics answers with `render()`'s text.
// Kept apart so that only metrics_server.cpp includes httplib.h (with its feature macros).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace kiln::metrics {

class MetricsServer {
 public:
  // Binds host:port (0 = any free port) and serves from a thread; Error::usage when it cannot bind.
  MetricsServer(const std::string& host, int port, std::function<std::string()> render);
  ~MetricsServer();
  void stop();  // idempotent
  int port() const { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace kiln::metrics
