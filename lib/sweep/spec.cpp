// Loads and validates a sweep spec file (see spec.h for its keys), and summarises it.
#include "sweep/spec.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "sweep/space.h"
#include "util/error.h"
#include "util/text.h"

namespace kiln::sweep {
namespace {

namespace fs = std::filesystem;
using Keys = std::vector<std::string>;

const Keys kTop = {"name", "base", "objective", "budget", "sampler", "pruner", "space"};
const Keys kObjective = {"metric", "direction"};
const Keys kBudget = {"n_trials", "timeout_s", "trial_timeout_s", "parallel"};
const Keys kMetrics = {"test_accuracy", "test_loss"};
const Keys kDirections = {"maximize", "minimize"};
const Keys kSamplers = {"grid", "random", "tpe"};
const Keys kPruners = {"none", "median", "successive_halving"};
const Keys kMedianKeys = {"n_startup_trials", "n_warmup_steps", "interval_steps"};
const Keys kHalvingKeys = {"min_resource", "reduction_factor", "min_early_stopping_rate"};

std::string join(const Keys& ks) {
  std::string s;
  for (const auto& k : ks) s += (s.empty() ? "" : ", ") + k;
  return s;
}

bool in(const Keys& ks, const std::string& k) { return std::find(ks.begin(), ks.end(), k) != ks.end(); }

std::string kind_of(const toml::node& n) {
  if (n.is_string()) return "a string";
  if (n.is_integer()) return "an integer";
  if (n.is_floating_point()) return "a float";
  if (n.is_boolean()) return "a boolean";
  if (n.is_array()) return "an array";
  if (n.is_table()) return "a table";
  return "a date/time";
}

// Reads one spec document; `file_` names it in every message.
class SpecReader {
 public:
  explicit SpecReader(std::string file) : file_(std::move(file)) {}

  std::string at(const toml::source_region& r) const {
    return r.begin.line ? file_ + ":" + std::to_string(r.begin.line) : file_;
  }

  // `section` ("" for the top level) as a table; null when absent.
  const toml::table* section(const toml::table& root, const std::string& name) const {
    const toml::node* n = root.get(name);
    if (!n) return nullptr;
    if (!n->is_table()) {
      throw Error::usage("key '" + name + "' at " + at(n->source()) + " must be a table ([" + name + "]), got " + kind_of(*n));
    }
    return n->as_table();
  }

  void check_keys(const toml::table& t, const std::string& sec, const Keys& valid) const {
    for (auto&& [key, node] : t) {
      const std::string k(key.str());
      if (in(valid, k)) continue;
      const std::string full = sec.empty() ? k : sec + "." + k;
      const bool is_section = sec.empty() && node.is_table();
      std::string msg = (is_section ? "unknown section '[" + full + "]'" : "unknown key '" + full + "'") + " at " + at(key.source());
      const std::string dym = util::did_you_mean(k, valid);
      if (!dym.empty()) msg += "; " + dym;
      throw Error::usage(msg, (sec.empty() ? "top-level keys are: " : "[" + sec + "] takes: ") + join(valid));
    }
  }

  [[noreturn]] void wrong(const std::string& full, const toml::node& n, const std::string& want) const {
    throw Error::usage("key '" + full + "' at " + at(n.source()) + " must be " + want + ", got " + kind_of(n));
  }

  std::string text(const toml::table* t, const std::string& sec, const std::string& key, std::string def,
                   const Keys& allowed = {}) const {
    const toml::node* n = t ? t->get(key) : nullptr;
    if (!n) return def;
    const std::string full = sec.empty() ? key : sec + "." + key;
    if (!n->is_string()) wrong(full, *n, "a string");
    std::string v = n->as_string()->get();
    if (!allowed.empty() && !in(allowed, v)) {
      std::string msg = "key '" + full + "' at " + at(n->source()) + " is \"" + v + "\", which is not one of: " + join(allowed);
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
                         (max == INT_MAX ? std::string() : " and <= " + std::to_string(max)) + ", got " + std::to_string(v));
    }
    return v;
  }

  double seconds(const toml::table* t, const std::string& sec, const std::string& key) const {
    const toml::node* n = t ? t->get(key) : nullptr;
    if (!n) return 0.0;
    const std::string full = sec + "." + key;
    double v = 0;
    if (auto i = n->as_integer()) v = static_cast<double>(i->get());
    else if (auto f = n->as_floating_point()) v = f->get();
    else wrong(full, *n, "a number of seconds");
    if (!std::isfinite(v) || v < 0) {
      throw Error::usage("key '" + full + "' at " + at(n->source()) + " must be >= 0 seconds (0 = no limit), got " + format_number(v));
    }
    return v;
  }

  // Keys that exist in [sampler]/[pruner] but do not apply to the chosen name.
  void check_applies(const toml::table* t, const std::string& sec, const std::string& name, const Keys& takes) const {
    if (!t) return;
    for (auto&& [key, node] : *t) {
      const std::string k(key.str());
      if (k == "name" || k == "seed" || in(takes, k)) continue;
      throw Error::usage("key '" + sec + "." + k + "' at " + at(key.source()) + " does not apply to " + sec + " '" + name + "'",
                         takes.empty() ? sec + " '" + name + "' takes no settings" : sec + " '" + name + "' takes: " + join(takes));
    }
  }

  std::string file_;
};

// The inline [base] table as TOML text of dotted keys ("optim.lr = 0.01"), each on the line
// it has in the spec, so config errors on it name the spec's real lines.
std::string quote_key(const std::string& k) {
  const bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
  if (bare) return k;
  std::string q = "\"";
  for (char c : k) {
    if (c == '"' || c == '\\') q += '\\', q += c;
    else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      q += buf;
    } else {
      q += c;
    }
  }
  return q + "\"";
}

void flatten_base(const toml::table& t, const std::string& prefix,
                  std::vector<std::pair<toml::source_position, std::string>>& lines) {
  for (auto&& [key, node] : t) {
    const std::string path = prefix + (prefix.empty() ? "" : ".") + quote_key(std::string(key.str()));
    if (const auto* sub = node.as_table(); sub && !sub->is_inline()) {
      if (sub->empty()) lines.push_back({key.source().begin, path + " = {}"});
      flatten_base(*sub, path, lines);
      continue;
    }
    std::ostringstream os;
    node.visit([&](const auto& v) { os << v; });
    lines.push_back({key.source().begin, path + " = " + os.str()});
  }
}

std::string base_text(const toml::table& t) {
  std::vector<std::pair<toml::source_position, std::string>> lines;
  flatten_base(t, "", lines);
  std::stable_sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) {
    return std::pair(a.first.line, a.first.column) < std::pair(b.first.line, b.first.column);
  });
  std::string out;
  toml::source_index line = 1;
  for (const auto& [pos, text] : lines) {
    for (; line < pos.line; ++line) out += "\n";
    out += text + "\n";
    ++line;
  }
  return out;
}

std::string read_spec_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw Error::usage("sweep spec not found: " + path.string(), "give the path of a sweep spec .toml file");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in) throw Error::usage("cannot read sweep spec " + path.string());
  return ss.str();
}

}  // namespace

SweepSpec load_spec(const fs::path& path) {
  const std::string file = path.string();
  const std::string text = read_spec_file(path);
  toml::table root;
  SpecReader r(file);
  try {
    root = toml::parse(text, std::string_view(file));
  } catch (const toml::parse_error& e) {
    throw Error::usage("invalid TOML at " + r.at(e.source()) + ": " + std::string(e.description()));
  }
  r.check_keys(root, "", kTop);

  SweepSpec s;
  s.spec_path = fs::absolute(path).lexically_normal();
  s.name = r.text(&root, "", "name", path.stem().string());
  if (s.name.empty()) {
    throw Error::usage("key 'name' at " + (root.get("name") ? r.at(root.get("name")->source()) : file) + " is empty",
                       "name the study, or drop the key");
  }

  // base: a path relative to the spec's directory, an inline table, or "" (built-in defaults).
  const fs::path dir = s.spec_path.parent_path();
  if (const toml::node* base = root.get("base")) {
    if (const auto* t = base->as_table()) {
      s.base_inline = base_text(*t);
    } else if (const auto* p = base->as_string()) {
      if (!p->get().empty()) {
        s.base_path = (dir / p->get()).lexically_normal();
        std::error_code ec;
        if (!fs::is_regular_file(s.base_path, ec)) {
          throw Error::usage("base config '" + p->get() + "' (key 'base' at " + r.at(base->source()) + ") not found: " + s.base_path.string(),
                             "a relative path is taken from the spec's directory; base = \"\" uses kiln's built-in defaults");
        }
      }
    } else {
      r.wrong("base", *base, "a path (string) or a table of config sections");
    }
  } else {
    for (fs::path d = dir;; d = d.parent_path()) {
      std::error_code ec;
      if (fs::is_regular_file(d / kDefaultBase, ec)) {
        s.base_path = d / kDefaultBase;
        break;
      }
      if (d == d.parent_path()) {
        throw Error::usage(std::string("no 'base' in ") + file + " and the default base config '" + kDefaultBase + "' is not in " +
                               dir.string() + " or its parents",
                           "set base = \"path/to/config.toml\" (relative to the spec), or base = \"\" for kiln's built-in defaults");
      }
    }
  }

  const toml::table* obj = r.section(root, "objective");
  if (obj) r.check_keys(*obj, "objective", kObjective);
  s.metric = r.text(obj, "objective", "metric", "test_accuracy", kMetrics);
  const std::string dir_name = r.text(obj, "objective", "direction", s.metric == "test_loss" ? "minimize" : "maximize", kDirections);
  s.direction = dir_name == "minimize" ? Direction::kMinimize : Direction::kMaximize;

  const toml::table* budget = r.section(root, "budget");
  if (budget) r.check_keys(*budget, "budget", kBudget);
  s.n_trials = r.integer(budget, "budget", "n_trials", 20, 0, INT64_MAX);
  s.timeout_s = r.seconds(budget, "budget", "timeout_s");
  s.trial_timeout_s = r.seconds(budget, "budget", "trial_timeout_s");
  s.parallel = static_cast<int>(r.integer(budget, "budget", "parallel", 1, 1));
  if (s.n_trials == 0 && s.timeout_s == 0) {
    const toml::node* n = budget->get("n_trials");
    throw Error::usage("key 'budget.n_trials' at " + r.at(n->source()) + " is 0 (unlimited) but budget.timeout_s is 0 too: the sweep would never end",
                       "set n_trials > 0, or a timeout_s in seconds");
  }

  const toml::table* sampler = r.section(root, "sampler");
  Keys sampler_all = {"name", "seed", "n_startup_trials", "n_ei_candidates"};
  if (sampler) r.check_keys(*sampler, "sampler", sampler_all);
  s.sampler.name = r.text(sampler, "sampler", "name", "tpe", kSamplers);
  r.check_applies(sampler, "sampler", s.sampler.name, s.sampler.name == "tpe" ? Keys{"n_startup_trials", "n_ei_candidates"} : Keys{});
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
  r.check_applies(pruner, "pruner", pr.name, pr.name == "median" ? kMedianKeys : pr.name == "successive_halving" ? kHalvingKeys : Keys{});
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
      if (d.kind == Distribution::Kind::kFloat && !d.step) {
        throw Error::usage("sampler 'grid' (at " + r.at(sampler->get("name")->source()) + ") needs a finite set of values, but space param '" +
                               name + "' is a float without a step",
                           "give '" + name + "' a step, make it int or categorical, or use sampler 'random' or 'tpe'");
      }
    }
  }
  return s;
}

std::string describe(const SweepSpec& s) {
  std::ostringstream o;
  o << "study '" << s.name << "' from " << s.spec_path.string() << "\n";
  o << "  objective: " << (s.direction == Direction::kMaximize ? "maximize " : "minimize ") << s.metric << "\n";
  o << "  budget: " << (s.n_trials > 0 ? std::to_string(s.n_trials) + " trials" : std::string("unlimited trials"));
  if (s.timeout_s > 0) o << ", timeout " << util::format_duration(s.timeout_s);
  if (s.trial_timeout_s > 0) o << ", trial timeout " << util::format_duration(s.trial_timeout_s);
  o << ", " << s.parallel << " at a time\n";
  o << "  sampler: " << s.sampler.name << " (seed " << s.sampler.seed;
  if (s.sampler.name == "tpe") o << ", " << s.sampler.n_startup_trials << " startup trials, " << s.sampler.n_ei_candidates << " EI candidates";
  o << ")\n  pruner: " << s.pruner.name;
  if (s.pruner.name == "median") {
    o << " (" << s.pruner.n_startup_trials << " startup trials, " << s.pruner.n_warmup_steps << " warm-up steps, every "
      << (s.pruner.interval_steps == 1 ? std::string("step") : std::to_string(s.pruner.interval_steps) + " steps") << ")";
  } else if (s.pruner.name == "successive_halving") {
    o << " (min_resource " << (s.pruner.min_resource ? std::to_string(s.pruner.min_resource) : std::string("auto")) << ", reduction_factor "
      << s.pruner.reduction_factor << ", min_early_stopping_rate " << s.pruner.min_early_stopping_rate << ")";
  }
  o << "\n  base: " << (!s.base_path.empty() ? s.base_path.string() : !s.base_inline.empty() ? "inline [base] table" : "kiln's built-in defaults") << "\n";
  o << "  space (" << s.space.size() << " params):\n";
  for (const auto& [name, d] : s.space) {
    o << "    " << name << ": ";
    if (d.kind == Distribution::Kind::kCategorical) {
      o << "categorical [";
      for (size_t i = 0; i < d.choices.size(); ++i) o << (i ? ", " : "") << d.choices[i].dump();
      o << "]";
    } else {
      o << (d.kind == Distribution::Kind::kInt ? "int [" : "float [") << format_number(d.low) << ", " << format_number(d.high) << "]";
      if (d.log) o << " log";
      if (d.step && (d.kind == Distribution::Kind::kFloat || *d.step != 1)) o << " step " << format_number(*d.step);
    }
    o << "\n";
  }
  return o.str();
}

}  // namespace kiln::sweep
