// RemoteHttp: one JSON request to the Optuna server, retried through outages (see the header).
// A fresh connection per attempt: nothing stale survives a server restart.
#include "sweep/remote_http.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <regex>
#include <sstream>
#include <thread>

#include "util/error.h"

namespace kiln::sweep {

namespace {

constexpr double kFirstBackoffS = 0.2;  // then doubling ...
constexpr double kMaxBackoffS = 5.0;    // ... up to this
constexpr size_t kMaxReasonChars = 300;

std::string describe(httplib::Error e, double timeout_s) {
  std::ostringstream s;
  switch (e) {
    case httplib::Error::Connection:
      return "cannot connect (connection refused or host unreachable)";
    case httplib::Error::ConnectionTimeout:
      s << "connecting timed out after " << timeout_s << " s";
      return s.str();
    case httplib::Error::Read:
      s << "no reply (connection closed, or nothing within " << timeout_s << " s)";
      return s.str();
    case httplib::Error::Write:
      return "could not send the request (connection closed)";
    default:
      return httplib::to_string(e);
  }
}

// httplib takes timeouts as whole seconds plus microseconds.
void split_seconds(double s, time_t& sec, time_t& usec) {
  s = std::max(s, 0.001);
  sec = static_cast<time_t>(s);
  usec = static_cast<time_t>((s - static_cast<double>(sec)) * 1e6);
}

std::string shorten(std::string s) {
  if (s.size() > kMaxReasonChars) s = s.substr(0, kMaxReasonChars) + "...";
  return s;
}

}  // namespace

std::string HttpReply::reason() const {
  if (body.is_object() && body.contains("reason") && body["reason"].is_string()) {
    return body["reason"].get<std::string>();
  }
  return shorten(body.is_string() ? body.get<std::string>() : body.dump());
}

RemoteHttp::RemoteHttp(const std::string& url, std::string token, double request_timeout_s, double give_up_after_s,
                       std::string pending_file)
    : url_(url),
      token_(std::move(token)),
      request_timeout_s_(request_timeout_s),
      give_up_after_s_(give_up_after_s),
      pending_file_(std::move(pending_file)) {
  static const std::regex kUrl(R"(^(https?://[^/?#\s]+)(/[^?#\s]*)?$)");
  std::smatch m;
  if (!std::regex_match(url, m, kUrl)) {
    throw Error::usage("the Optuna server URL '" + url + "' is not of the form http://HOST:PORT",
                       "pass --optuna-url http://HOST:PORT, the address tools/optuna_server.py "
                       "printed ('listening on ...')");
  }
  origin_ = m[1].str();
  prefix_ = m[2].str();
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
  if (!(request_timeout_s_ > 0) || !(give_up_after_s_ >= 0)) {
    throw Error::usage("remote mode needs request_timeout_s > 0 and give_up_after_s >= 0");
  }
}

HttpReply RemoteHttp::call(const std::string& method, const std::string& path, const std::string& body) const {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  double backoff = kFirstBackoffS;
  std::string last_error;
  for (;;) {
    httplib::Client cli(origin_);
    time_t sec = 0, usec = 0;
    // Connecting is capped by the time left, so a dead host cannot stretch the deadline;
    // reading is not: a slow answer is still an answer.
    split_seconds(std::min(request_timeout_s_, std::max(give_up_after_s_ - elapsed(), 0.05)), sec, usec);
    cli.set_connection_timeout(sec, usec);
    split_seconds(request_timeout_s_, sec, usec);
    cli.set_read_timeout(sec, usec);
    cli.set_write_timeout(sec, usec);
    if (!token_.empty()) cli.set_bearer_token_auth(token_);
    const httplib::Headers headers{{"Accept", "application/json"}};
    const std::string full = prefix_ + path;
    httplib::Result res = method == "GET" ? cli.Get(full, headers) : cli.Post(full, headers, body, "application/json");
    if (!res) {
      last_error = describe(res.error(), request_timeout_s_);
    } else {
      HttpReply reply;
      reply.status = res->status;
      if (!res->body.empty()) {
        reply.body = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
        if (reply.body.is_discarded()) reply.body = res->body;  // kept as text for messages
      }
      if (reply.status < 500) {
        if (reply.status < 300 && reply.body.is_string()) {
          throw Error::runtime("the server at " + url_ + " answered " + method + " " + path +
                                   " with something that is not JSON: " + shorten(res->body),
                               "is --optuna-url the address of tools/optuna_server.py?");
        }
        return reply;
      }
      last_error = "HTTP " + std::to_string(reply.status) + ": " + reply.reason();
    }
    const double left = give_up_after_s_ - elapsed();
    if (left <= 0) break;
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(backoff, left)));
    backoff = std::min(backoff * 2, kMaxBackoffS);
  }
  std::ostringstream msg;
  msg << "the Optuna server at " << url_ << " did not answer " << method << " " << path << " for " << give_up_after_s_
      << " s (last error: " << last_error << ")";
  std::string hint = "start the server again (tools/optuna_server.py, same --storage) and rerun";
  if (!pending_file_.empty()) {
    hint = "finished results are kept in " + pending_file_ + " and are sent on the next run; " + hint;
  }
  throw Error::runtime(msg.str(), hint);
}

void RemoteHttp::throw_refused(const std::string& what, const HttpReply& reply, const std::string& hint_400) const {
  const std::string msg = "the Optuna server at " + url_ + " refused " + what + ": HTTP " +
                          std::to_string(reply.status) + " " + reply.reason();
  if (reply.status == 401 || reply.status == 403) {
    throw Error::usage(msg, token_.empty() ? "the server wants a token: pass the one it was started with "
                                             "(its --token or KILN_OPTUNA_TOKEN)"
                                           : "the token given is not the server's: pass the one it was "
                                             "started with (its --token or KILN_OPTUNA_TOKEN)");
  }
  if (reply.status == 400) throw Error::usage(msg, hint_400);
  if (reply.status == 404) {
    throw Error::runtime(msg, "is --optuna-url the server (and storage) this study lives on?");
  }
  throw Error::runtime(msg);
}

nlohmann::json json_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

double number_from_json(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (j.is_string()) {
    std::string s = j.get<std::string>();
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (s == "inf" || s == "infinity") return std::numeric_limits<double>::infinity();
    if (s == "-inf" || s == "-infinity") return -std::numeric_limits<double>::infinity();
  }
  throw Error::runtime("the Optuna server sent " + j.dump() + " where a number belongs");
}

}  // namespace kiln::sweep
