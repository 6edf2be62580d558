#include "metrics/metrics_server.h"

#include <httplib.h>

#include "util/error.h"
#include "util/log.h"

namespace kiln::metrics {

struct MetricsServer::Impl {
  httplib::Server server;
};

MetricsServer::MetricsServer(const std::string& host, int port, std::function<std::string()> render)
    : impl_(std::make_unique<Impl>()) {
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which lets a second kiln bind
  // the same port and steal half the scrapes instead of being refused.
  impl_->server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  impl_->server.Get("/metrics", [render](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  impl_->server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("kiln: metrics at /metrics\n", "text/plain");
  });
  port_ = port == 0 ? impl_->server.bind_to_any_port(host) : (impl_->server.bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    throw Error::usage("--metrics-port: cannot listen on " + host + ":" + std::to_string(port) +
                           " (the port is in use, or the address is not this machine's)",
                       "pick another port (0 = any free one), or stop what holds it (`ss -ltnp`)");
  }
  thread_ = std::thread([this] { impl_->server.listen_after_bind(); });
  log::info("live metrics at http://" + host + ":" + std::to_string(port_) + "/metrics");
}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::stop() {
  if (!thread_.joinable()) return;
  impl_->server.stop();
  thread_.join();
}

}  // namespace kiln::metrics
