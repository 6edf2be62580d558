// JSON over HTTP to the Optuna server, with the retry policy remote mode promises: connection
// errors and 5xx are retried with exponential backoff until a deadline; 2xx and 4xx come back
// to the caller at once (4xx are the caller's to explain: a bad spec, a missing token).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace kiln::sweep {

struct HttpReply {
  int status = 0;
  nlohmann::json body;  // parsed JSON; null for an empty body (204)
  // The server's {"reason": ...} for an error, else the raw body (shortened).
  std::string reason() const;
};

class RemoteHttp {
 public:
  // `url` is http(s)://host[:port][/prefix]; throws kiln::Error::usage when it is not.
  // `pending_file` only goes into the give-up message (where unsent results wait).
  RemoteHttp(const std::string& url, std::string token, double request_timeout_s, double give_up_after_s,
             std::string pending_file);

  // One request (method "GET" or "POST"), retried as above. Returns the first 2xx or 4xx
  // reply; throws kiln::Error::runtime when the server has not answered for give_up_after_s,
  // or when a 2xx body is not JSON.
  HttpReply call(const std::string& method, const std::string& path, const std::string& body = {}) const;

  // Throws the kiln::Error that a 4xx reply to `what` (e.g. "POST /api/studies") deserves:
  // usage for 400/401/403 (with `hint_400` as the hint for a 400), runtime for the rest.
  [[noreturn]] void throw_refused(const std::string& what, const HttpReply& reply,
                                  const std::string& hint_400 = {}) const;

  const std::string& url() const { return url_; }

 private:
  std::string url_;     // as given, for messages
  std::string origin_;  // scheme://host:port
  std::string prefix_;  // path prefix without a trailing '/', often ""
  std::string token_;
  double request_timeout_s_;
  double give_up_after_s_;
  std::string pending_file_;
};

// JSON for a double that may be non-finite: the server (like optuna-dashboard) spells those
// "nan", "inf", "-inf"; strict JSON has no other way.
nlohmann::json json_number(double v);
// Reads such a value back (a number or one of those strings; null reads as NaN).
double number_from_json(const nlohmann::json& j);

}  // namespace kiln::sweep
