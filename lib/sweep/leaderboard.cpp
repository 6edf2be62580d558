// leaderboard (see leaderboard.h). A trial's time comes from the study's own datetimes, so
// trials run by earlier sweeps or by Python workers show theirs too.
#include "sweep/leaderboard.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <vector>

#include "optuna/distribution_json.h"
#include "sweep/driver.h"

namespace kiln::sweep {
namespace {

// Seconds between two journal datetimes ("YYYY-MM-DDTHH:MM:SS.ffffff"); -1 if unknown.
double seconds_between(const std::string& a, const std::string& b) {
  auto parse = [](const std::string& s) -> double {
    std::tm tm{};
    if (s.size() < 19 || !strptime(s.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return NAN;
    tm.tm_isdst = -1;
    return double(std::mktime(&tm)) + (s.size() > 20 && s[19] == '.' ? std::stod("0" + s.substr(19, 7)) : 0.0);
  };
  const double d = parse(b) - parse(a);
  return std::isfinite(d) ? d : -1;
}

// COMPLETE before PRUNED before FAIL.
int state_rank(const optuna::Trial* t) {
  return t->state == optuna::TrialState::kComplete ? 0 : t->state == optuna::TrialState::kPruned ? 1 : 2;
}

}  // namespace

std::string leaderboard(const optuna::Study& study, const SweepSpec& spec, size_t max_rows) {
  std::vector<const optuna::Trial*> rows;
  for (const auto& t : study.trials) {
    if (optuna::is_finished(t.state)) rows.push_back(&t);
  }
  const bool maximize = spec.direction == optuna::Direction::kMaximize;
  std::stable_sort(rows.begin(), rows.end(), [&](const optuna::Trial* a, const optuna::Trial* b) {
    if (state_rank(a) != state_rank(b)) return state_rank(a) < state_rank(b);
    if (a->value && b->value && *a->value != *b->value) return maximize ? *a->value > *b->value : *a->value < *b->value;
    return a->number < b->number;
  });
  std::string out = "\n  trial  state     " + spec.metric + "  time     params\n";
  char line[512];
  for (size_t i = 0; i < rows.size() && i < max_rows; ++i) {
    const auto* t = rows[i];
    std::string params;
    for (const auto& [name, internal] : t->params) {
      params +=
          (params.empty() ? "" : "  ") + param_text(name, optuna::to_external(t->distributions.at(name), internal));
    }
    const double secs = seconds_between(t->datetime_start, t->datetime_complete);
    char value[32] = "-";
    if (t->value) std::snprintf(value, sizeof value, "%.4f", *t->value);
    std::snprintf(line, sizeof line, "  %5d  %-8s  %-*s  %6.1fs  %s\n", t->number, optuna::state_name(t->state),
                  int(spec.metric.size()), value, secs, params.c_str());
    out += line;
  }
  if (rows.size() > max_rows) out += "  ... " + std::to_string(rows.size() - max_rows) + " more\n";
  return out;
}

}  // namespace kiln::sweep
