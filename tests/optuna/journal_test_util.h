// Test helpers for the study-file tests: running the scripts in tests/interop/ with the
// venv's Python and reading their output (the temp dir, the optuna check and
// KILN_REQUIRE_OPTUNA come from optuna_reference.h), and the planned study that kiln writes.
#pragma once
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "optuna/distribution_json.h"
#include "optuna/journal.h"
#include "optuna_reference.h"

namespace kiln::optuna::journal_test {

// Runs `script args...` (args already shell-quoted) with the test Python; returns stdout.
// Fails the test (ADD_FAILURE) when it exits non-zero.
inline std::string run_python(const std::string& script, const std::string& args, const std::string& stdin_file = "") {
  std::string cmd = test_support::interop_command(script) + " " + args;
  if (!stdin_file.empty()) cmd += " < " + test_support::shell_quote(stdin_file);
  std::string out;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run " << cmd;
    return out;
  }
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = ::pclose(pipe);
  if (status != 0) ADD_FAILURE() << cmd << " exited with status " << status;
  return out;
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(const std::filesystem::path& p, const std::string& text, bool append = false) {
  std::ofstream out(p, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  out << text;
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

inline bool same_double(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

inline const char* state_name(TrialState s) {
  switch (s) {
    case TrialState::kRunning:
      return "RUNNING";
    case TrialState::kComplete:
      return "COMPLETE";
    case TrialState::kPruned:
      return "PRUNED";
    case TrialState::kFail:
      return "FAIL";
    case TrialState::kWaiting:
      return "WAITING";
  }
  return "?";
}

inline bool is_journal_datetime(const std::string& s) {  // YYYY-MM-DDTHH:MM:SS.ffffff
  const std::string shape = "dddd-dd-ddTdd:dd:dd.dddddd";
  if (s.size() != shape.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(s[i])) : s[i] != shape[i]) return false;
  }
  return true;
}

// Every param kind: float log, float step, int, int log, categorical of mixed types.
inline Space full_space() {
  auto d = [](const char* text) { return distribution_from_json(std::string(text)); };
  return {{"lr", d(R"({"type": "float", "low": 1e-5, "high": 0.1, "log": true})")},
          {"dropout", d(R"({"type": "float", "low": 0.0, "high": 0.5, "step": 0.1})")},
          {"layers", d(R"({"type": "int", "low": 1, "high": 8})")},
          {"width", d(R"({"type": "int", "low": 16, "high": 256, "log": true})")},
          {"opt", d(R"({"type": "categorical", "choices": ["adam", "sgd", null, 3, 1.5, true]})")}};
}

// One trial as the test asks kiln to write it.
struct PlannedTrial {
  std::map<std::string, double> params;  // internal reprs for full_space()
  TrialState state = TrialState::kRunning;
  std::optional<double> value;
  std::map<int, double> intermediate;
  nlohmann::json user_attrs = nlohmann::json::object();
  nlohmann::json system_attrs = nlohmann::json::object();
};

inline std::vector<PlannedTrial> planned_trials() {
  using nlohmann::json;
  const double nan = std::nan(""), inf = HUGE_VAL;
  std::vector<PlannedTrial> p(5);
  p[0] = {{{"lr", 1e-3}, {"dropout", 0.2}, {"layers", 3}, {"width", 64}, {"opt", 1}},
          TrialState::kComplete,
          0.5,
          {{0, 0.9}, {1, nan}, {2, inf}, {3, -inf}},
          {{"host", "n1"}, {"tags", {"a", "\xc3\xbc"}}},
          {{"completed_rung_0", 0.9}}};
  p[1] = {{{"lr", 0.05}, {"dropout", 0.5}, {"layers", 8}, {"width", 256}, {"opt", 2}},
          TrialState::kPruned,
          0.7,
          {{0, 0.8}, {4, 0.7}},
          json::object(),
          json::object()};
  p[2] = {{{"lr", 1e-5}, {"dropout", 0.0}, {"layers", 1}, {"width", 16}, {"opt", 5}},
          TrialState::kFail,
          std::nullopt,
          {},
          {{"fail_reason", "diverged"}},
          json::object()};
  p[3] = {{{"lr", 0.01}, {"dropout", 0.1}, {"layers", 5}, {"width", 100}, {"opt", 4}},
          TrialState::kRunning,
          std::nullopt,
          {{0, 1.0}},
          json::object(),
          json::object()};
  p[4] = {{{"lr", 0.1}, {"dropout", 0.4}, {"layers", 2}, {"width", 17}, {"opt", 3}},
          TrialState::kComplete,
          -2.5,
          {},
          {{"note", "last"}},
          json::object()};
  return p;
}

// Writes the planned trials through kiln's API (create_trial, report, attrs, finish).
inline std::vector<Asked> write_plan(Journal& j, int study_id, const std::vector<PlannedTrial>& plan) {
  std::vector<Asked> asked;
  for (const PlannedTrial& t : plan) {
    asked.push_back(j.create_trial(study_id, full_space(), [&](const Study&, int) { return t.params; }));
    const int id = asked.back().trial_id;
    for (const auto& [step, v] : t.intermediate) j.report(id, step, v);
    for (auto it = t.user_attrs.begin(); it != t.user_attrs.end(); ++it) j.set_user_attr(id, it.key(), it.value());
    for (auto it = t.system_attrs.begin(); it != t.system_attrs.end(); ++it)
      j.set_system_attr(id, it.key(), it.value());
    if (is_finished(t.state)) j.finish(id, t.state, t.value);
  }
  return asked;
}

// A journal written by hand (other workers "A" and "B") that exercises Optuna's replay
// rules; journal_replay_test.cpp states what each line must do.
inline std::string hand_written_journal() {
  const std::string fx =
      R"("{\"name\": \"FloatDistribution\", \"attributes\": {\"step\": null, \"low\": 0.0, \"high\": 1.0, \"log\": false}}")";
  const std::string ix =
      R"("{\"name\": \"IntDistribution\", \"attributes\": {\"log\": false, \"step\": 1, \"low\": 0, \"high\": 9}}")";
  return std::string() +
         R"({"op_code":0,"worker_id":"A","study_name":"s","directions":[1]})"
         "\n"
         R"({"op_code": 0, "worker_id": "B", "study_name": "s", "directions": [2]})"
         "\n"
         R"({"op_code":0,"worker_id":"A","study_name":"gone","directions":[1]})"
         "\n"
         R"({"op_code":4,"worker_id":"A","study_id":1,"datetime_start":null})"
         "\n"
         R"({"op_code":1,"worker_id":"A","study_id":1})"
         "\n"
         R"({"op_code":0,"worker_id":"A","study_name":"gone","directions":[2]})"
         "\n"
         R"({"op_code":4,"worker_id":"A","study_id":1,"datetime_start":null})"
         "\n"
         R"({"op_code":2,"worker_id":"B","study_id":0,"user_attr":{"note":"\u00fc"}})"
         "\n"
         R"({"op_code":4,"worker_id":"A","study_id":0,"datetime_start":"2026-01-02T03:04:05.000006"})"
         "\n"
         R"({"op_code":5,"worker_id":"A","trial_id":1,"param_name":"x","param_value_internal":0.5,"distribution":)" +
         fx + "}\n" +
         R"({"op_code":5,"worker_id":"A","trial_id":1,"param_name":"c","param_value_internal":1,"distribution":"{\"name\": \"CategoricalDistribution\", \"attributes\": {\"choices\": [\"a\", \"b\"]}}"})"
         "\n"
         R"({"op_code":5,"worker_id":"A","trial_id":1,"param_name":"n","param_value_internal":7.0,"distribution":)" +
         ix + "}\n" +
         R"({"op_code":6,"worker_id":"A","trial_id":1,"state":1,"values":[1.5],"datetime_complete":"2026-01-02T03:04:06.500000"})"
         "\n"
         R"({"op_code":7,"worker_id":"B","trial_id":1,"step":0,"intermediate_value":1.0})"
         "\n"
         R"({"op_code":8,"worker_id":"B","trial_id":99,"user_attr":{"k":1}})"
         "\n"
         R"({"op_code":4,"worker_id":"B","study_id":0,"datetime_start":"2026-01-02T03:05:00.000001"})"
         "\n"
         R"({"op_code":5,"worker_id":"B","trial_id":2,"param_name":"x","param_value_internal":3.0,"distribution":)" +
         ix + "}\n" +
         R"({"op_code":5,"worker_id":"B","trial_id":2,"param_name":"c","param_value_internal":2,"distribution":"{\"name\": \"CategoricalDistribution\", \"attributes\": {\"choices\": [\"a\", \"b\", \"c\"]}}"})"
         "\n"
         R"({"op_code":5,"worker_id":"B","trial_id":2,"param_name":"x","param_value_internal":1.75,"distribution":"{\"name\":\"FloatDistribution\",\"attributes\":{\"step\":null,\"low\":0.0,\"high\":2.0,\"log\":false}}"})"
         "\n"
         R"({"op_code":7,"worker_id":"B","trial_id":2,"step":3,"intermediate_value":-Infinity})"
         "\n"
         R"({"op_code":4,"worker_id":"A","study_id":0,"datetime_start":null,"state":4,"value":null,"values":null,"distributions":{},"params":{},"user_attrs":{},"system_attrs":{"fixed_params":{"x":0.25,"c":"a"}},"intermediate_values":{}})"
         "\n"
         R"({"op_code":6,"worker_id":"A","trial_id":3,"state":0,"values":null,"datetime_start":"2026-01-02T03:06:00.000000"})"
         "\n"
         R"({"op_code":6,"worker_id":"B","trial_id":3,"state":0,"values":null,"datetime_start":"2026-01-02T03:07:00.000000"})"
         "\n"
         R"({"op_code":7,"worker_id":"A","trial_id":3,"step":2,"intermediate_value":NaN})"
         "\n"
         R"({"op_code":4,"worker_id":"A","study_id":0,"datetime_start":"2026-01-02T03:08:00.000000","state":1,"value":2.0,"values":null,"datetime_complete":"2026-01-02T03:08:01.000000","distributions":{"x":)" +
         fx +
         R"(},"params":{"x":0.125},"user_attrs":{"u":[1,2]},"system_attrs":{},"intermediate_values":{"0":0.5,"10":NaN}})"
         "\n";
}

}  // namespace kiln::optuna::journal_test
