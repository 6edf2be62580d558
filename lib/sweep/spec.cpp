// Loads and validates a sweep spec file (see spec.h for its keys), and summarises it. The
// `base` key is read in spec_base.cpp and the [space] table in space_toml.cpp.
#include "sweep/spec.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <sstream>

#include <toml++/toml.h>

#include "optuna/distribution.h"
#include "sweep/space_toml.h"
#include "sweep/spec_base.h"
#include "sweep/toml_read.h"
#include "util/error.h"
#include "util/text.h"
#include "util/toml_parse.h"
#include "util/user_path.h"

namespace kiln::sweep {
namespace {

namespace fs = std::filesystem;
using Keys = std::vector<std::string>;

const Keys kTop = {"name", "base", "objective", "budget", "sampler", "pruner", "space"};
const Keys kObjective = {"metric", "direction"};
const Keys kBudget = {"n_trials", "timeout_s", "trial_timeout_s", "parallel"};
const Keys kDirections = {"maximize", "minimize"};
const Keys kSamplers = {"grid", "random", "tpe"};
const Keys kPruners = {"none", "median", "successive_halving"};
const Keys kMedianKeys = {"n_startup_trials", "n_warmup_steps", "interval_steps"};
const Keys kHalvingKeys = {"min_resource", "reduction_factor", "min_early_stopping_rate"};

bool in(const Keys& ks, const std::string& k) { return std::find(ks.begin(), ks.end(), k) != ks.end(); }

// Reads one spec document; `file_` names it in every message.
class SpecReader {
 public:
  explicit SpecReader(std::string file) : file_(std::move(file)) {}

  std::string at(const toml::source_region& r) const { return toml_where(file_, r); }

  // `section` ("" for the top level) as a table; null when absent.
  const toml::table* section(const toml::table& root, const std::string& name) const {
    const toml::node* n = root.get(name);
    if (!n) return nullptr;
    if (!n->is_table()) {
      throw Error::usage("key '" + name + "' at " + at(n->source()) + " must be a table ([" + name + "]), got " +
                         toml_kind(*n));
    }
    return n->as_table();
  }

  void check_keys(const toml::table& t, const std::string& sec, const Keys& valid) const {
    for (auto&& [key, node] : t) {
      const std::string k(key.str());
      if (in(valid, k)) continue;
      const std::string full = sec.empty() ? k : sec + "." + k;
      const bool is_section = sec.empty() && node.is_table();
      std::string msg =
          (is_section ? "unknown section '[" + full + "]'" : "unknown key '" + full + "'") + " at " + at(key.source());
      const std::string dym = util::did_you_mean(k, valid);
      if (!dym.empty()) msg += "; " + dym;
      throw Error::usage(msg, (sec.empty() ? "top-level keys are: " : "[" + sec + "] takes: ") + join_names(valid));
    }
  }

  [[noreturn]] void wrong(const std::string& full, const toml::node& n, const std::string& want) const {
    throw Error::usage("key '" + full + "' at " + at(n.source()) + " must be " + want + ", got " + toml_kind(n));
  }

  std::string text(const toml::table* t, const std::string& sec, const std::string& key, std::string def,
                   const Keys& allowed = {}) const {
    const toml::node* n = t ? t->get(key) : nullptr;
    if (!n) return def;
    const std::string full = sec.empty() ? key : sec + "." + key;
    if (!n->is_string()) wrong(full, *n, "a string");
    std::string v = n->as_string()->get();
    if (!allowed.empty() && !in(allowed, v)) {
      std::string msg =
          "key '" + full + "' at " + at(n->source()) + " is \"" + v + "\", which is not one of: " + join_names(allowed);
      const std::string dym = util::did_you_mean(v, allowed);
      throw Error::usage(dym.empty() ? msg : msg + "; " + dym);
    }
    return v;
  }

  int64_t integer(const toml::table* t, const std::string& sec, const std::string& key, int64_t def, int64_t min,
                  int64_t max = INT_MAX) const {
    const toml::node* n = t ? t->get(key) : nullptr;
    if (!n) return def;
    const std::string full = sec + "." + key;
    if (!n->is_integer()) wrong(full, *n, "an integer");
    const int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      throw Error::usage("key '" + full + "' at " + at(n->source()) + " must be >= " + std::to_string(min) +
                         (max == INT_MAX ? std::string() : " and <= " + std::to_string(max)) + ", got " +
                         std::to_string(v));
    }
    return v;
  }

  double seconds(const toml::table* t, const std::string& sec, const std::string& key) const {
    const toml::node* n = t ? t->get(key) : nullptr;
    if (!n) return 0.0;
    const std::string full = sec + "." + key;
    double v = 0;
    if (auto i = n->as_integer())
      v = static_cast<double>(i->get());
    else if (auto f = n->as_floating_point())
      v = f->get();
    else
      wrong(full, *n, "a number of seconds");
    if (!std::isfinite(v) || v < 0) {
      throw Error::usage("key '" + full + "' at " + at(n->source()) + " must be >= 0 seconds (0 = no limit), got " +
                         optuna::format_number(v));
    }
    return v;
  }

  // Keys that exist in [sampler]/[pruner] but do not apply to the chosen name.
  void check_applies(const toml::table* t, const std::string& sec, const std::string& name, const Keys& takes) const {
    if (!t) return;
    for (auto&& [key, node] : *t) {
      const std::string k(key.str());
      if (k == "name" || k == "seed" || in(takes, k)) continue;
      throw Error::usage(
          "key '" + sec + "." + k + "' at " + at(key.source()) + " does not apply to " + sec + " '" + name + "'",
          takes.empty() ? sec + " '" + name + "' takes no settings"
                        : sec + " '" + name + "' takes: " + join_names(takes));
    }
  }

  std::string file_;
};

std::string read_spec_file(const fs::path& path) {
  util::check_user_path(path, "sweep spec");
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw Error::usage("sweep spec not found: " + path.string(), "give the path of a sweep spec .toml file");
  }
  return util::read_toml_file(path.string(), "sweep spec");
}

}  // namespace

SweepSpec load_spec(const fs::path& path) { return parse_spec(read_spec_file(path), path); }

SweepSpec parse_spec(std::string_view text, const fs::path& path) {
  const std::string file = path.string();
  SpecReader r(file);
  const toml::table root = util::parse_toml(text, file);
  r.check_keys(root, "", kTop);

  SweepSpec s;
  s.spec_path = fs::absolute(path).lexically_normal();
  s.name = r.text(&root, "", "name", path.stem().string());
  if (s.name.empty()) {
    throw Error::usage("key 'name' at " + (root.get("name") ? r.at(root.get("name")->source()) : file) + " is empty",
                       "name the study, or drop the key");
  }

  read_base(root, file, s);

  const toml::table* obj = r.section(root, "objective");
  if (obj) r.check_keys(*obj, "objective", kObjective);
  // Which metrics exist is the task's (the base config's train.task): resolve_objective checks.
  s.metric = r.text(obj, "objective", "metric", "");
  const toml::node* metric_node = obj ? obj->get("metric") : nullptr;
  s.metric_at = metric_node ? r.at(metric_node->source()) : file;
  const std::string dir_name = r.text(obj, "objective", "direction", "", kDirections);
  s.direction_given = !dir_name.empty();
  s.direction = dir_name == "minimize" ? optuna::Direction::kMinimize : optuna::Direction::kMaximize;

  const toml::table* budget = r.section(root, "budget");
  if (budget) r.check_keys(*budget, "budget", kBudget);
  s.n_trials = r.integer(budget, "budget", "n_trials", 20, 0, INT64_MAX);
  s.timeout_s = r.seconds(budget, "budget", "timeout_s");
  s.trial_timeout_s = r.seconds(budget, "budget", "trial_timeout_s");
  s.parallel = static_cast<int>(r.integer(budget, "budget", "parallel", 1, 1));
  if (s.n_trials == 0 && s.timeout_s == 0) {
    const toml::node* n = budget->get("n_trials");
    throw Error::usage("key 'budget.n_trials' at " + r.at(n->source()) +
                           " is 0 (unlimited) but budget.timeout_s is 0 too: the sweep would never end",
                       "set n_trials > 0, or a timeout_s in seconds");
  }

  const toml::table* sampler = r.section(root, "sampler");
  Keys sampler_all = {"name", "seed", "n_startup_trials", "n_ei_candidates"};
  if (sampler) r.check_keys(*sampler, "sampler", sampler_all);
  s.sampler.name = r.text(sampler, "sampler", "name", "tpe", kSamplers);
  r.check_applies(sampler, "sampler", s.sampler.name,
                  s.sampler.name == "tpe" ? Keys{"n_startup_trials", "n_ei_candidates"} : Keys{});
  s.sampler.seed = static_cast<uint64_t>(r.integer(sampler, "sampler", "seed", 0, 0, INT64_MAX));
  s.sampler.n_startup_trials = static_cast<int>(r.integer(sampler, "sampler", "n_startup_trials", 10, 0));
  s.sampler.n_ei_candidates = static_cast<int>(r.integer(sampler, "sampler", "n_ei_candidates", 24, 1));

  const toml::table* pruner = r.section(root, "pruner");
  Keys pruner_all = {"name"};
  pruner_all.insert(pruner_all.end(), kMedianKeys.begin(), kMedianKeys.end());
  pruner_all.insert(pruner_all.end(), kHalvingKeys.begin(), kHalvingKeys.end());
  if (pruner) r.check_keys(*pruner, "pruner", pruner_all);
  auto& pr = s.pruner;
  pr.name = r.text(pruner, "pruner", "name", "median", kPruners);
  r.check_applies(pruner, "pruner", pr.name,
                  pr.name == "median"               ? kMedianKeys
                  : pr.name == "successive_halving" ? kHalvingKeys
                                                    : Keys{});
  pr.n_startup_trials = static_cast<int>(r.integer(pruner, "pruner", "n_startup_trials", 5, 0));
  pr.n_warmup_steps = static_cast<int>(r.integer(pruner, "pruner", "n_warmup_steps", 0, 0));
  pr.interval_steps = static_cast<int>(r.integer(pruner, "pruner", "interval_steps", 1, 1));
  pr.min_resource = static_cast<int>(r.integer(pruner, "pruner", "min_resource", 0, 0));
  pr.reduction_factor = static_cast<int>(r.integer(pruner, "pruner", "reduction_factor", 4, 2));
  pr.min_early_stopping_rate = static_cast<int>(r.integer(pruner, "pruner", "min_early_stopping_rate", 0, 0));

  const toml::table* space = r.section(root, "space");
  if (!space) {
    throw Error::usage("sweep spec " + file + " has no [space] table: nothing to search",
                       "add e.g. [space.\"optim.lr\"] type = \"float\", low = 1e-5, high = 0.1, log = true");
  }
  s.space = parse_space(*space, file);

  if (s.sampler.name == "grid") {
    for (const auto& [name, d] : s.space) {
      if (d.kind == optuna::Distribution::Kind::kFloat && !d.step) {
        throw Error::usage("sampler 'grid' (at " + r.at(sampler->get("name")->source()) +
                               ") needs a finite set of values, but space param '" + name +
                               "' is a float without a step",
                           "give '" + name + "' a step, make it int or categorical, or use sampler 'random' or 'tpe'");
      }
    }
  }
  return s;
}

std::string describe(const SweepSpec& s) {
  std::ostringstream o;
  o << "study '" << s.name << "' from " << s.spec_path.string() << "\n";
  const std::string direction = s.direction == optuna::Direction::kMaximize ? "maximize " : "minimize ";
  o << "  objective: "
    << (s.direction_given ? direction : std::string("the metric's direction: ")) +
           (s.metric.empty() ? "the task's default metric" : s.metric)
    << "\n";
  o << "  budget: " << (s.n_trials > 0 ? std::to_string(s.n_trials) + " trials" : std::string("unlimited trials"));
  if (s.timeout_s > 0) o << ", timeout " << util::format_duration(s.timeout_s);
  if (s.trial_timeout_s > 0) o << ", trial timeout " << util::format_duration(s.trial_timeout_s);
  o << ", " << s.parallel << " at a time\n";
  o << "  sampler: " << s.sampler.name << " (seed " << s.sampler.seed;
  if (s.sampler.name == "tpe")
    o << ", " << s.sampler.n_startup_trials << " startup trials, " << s.sampler.n_ei_candidates << " EI candidates";
  o << ")\n  pruner: " << s.pruner.name;
  if (s.pruner.name == "median") {
    o << " (" << s.pruner.n_startup_trials << " startup trials, " << s.pruner.n_warmup_steps << " warm-up steps, every "
      << (s.pruner.interval_steps == 1 ? std::string("step") : std::to_string(s.pruner.interval_steps) + " steps")
      << ")";
  } else if (s.pruner.name == "successive_halving") {
    o << " (min_resource " << (s.pruner.min_resource ? std::to_string(s.pruner.min_resource) : std::string("auto"))
      << ", reduction_factor " << s.pruner.reduction_factor << ", min_early_stopping_rate "
      << s.pruner.min_early_stopping_rate << ")";
  }
  o << "\n  base: "
    << (!s.base_path.empty()     ? s.base_path.string()
        : !s.base_inline.empty() ? "inline [base] table"
                                 : "kiln's built-in defaults")
    << "\n";
  o << "  space (" << s.space.size() << " params):\n";
  for (const auto& [name, d] : s.space) {
    o << "    " << name << ": ";
    if (d.kind == optuna::Distribution::Kind::kCategorical) {
      o << "categorical [";
      for (size_t i = 0; i < d.choices.size(); ++i) o << (i ? ", " : "") << d.choices[i].dump();
      o << "]";
    } else {
      o << (d.kind == optuna::Distribution::Kind::kInt ? "int [" : "float [") << optuna::format_number(d.low) << ", "
        << optuna::format_number(d.high) << "]";
      if (d.log) o << " log";
      if (d.step && (d.kind == optuna::Distribution::Kind::kFloat || *d.step != 1))
        o << " step " << optuna::format_number(*d.step);
    }
    o << "\n";
  }
  return o.str();
}

}  // namespace kiln::sweep
