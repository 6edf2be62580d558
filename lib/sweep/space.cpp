// Search-space construction with Optuna's semantics: validation, snapping of `high` (decimal
// arithmetic for float steps), contains/single, and parsing the spec's [space] table.
#include "sweep/space.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <set>

#include "util/error.h"
#include "util/text.h"

namespace kiln::sweep {
namespace {

// ---- decimal arithmetic ------------------------------------------------------------------
// Optuna snaps float steps with decimal.Decimal(str(x)): exact decimal values of the shortest
// repr strings, each +, -, * rounded to the default context's 28 significant digits
// (ROUND_HALF_EVEN), and % and // exact but refused when the integer quotient needs more
// than 28 digits. Unsigned magnitudes are digit strings (most significant first, no leading
// zeros, "0" for zero): exponents of doubles span ~630 decades, far beyond any machine word.
constexpr size_t kPrecision = 28;

struct Decimal {
  bool neg = false;
  std::string digits = "0";
  int exp = 0;  // value = (neg ? -1 : 1) * digits * 10^exp
};

std::string strip(std::string s) {
  const size_t nz = s.find_first_not_of('0');
  return nz == std::string::npos ? "0" : s.substr(nz);
}

int ucmp(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

std::string uadd(const std::string& a, const std::string& b) {
  std::string out;
  int carry = 0;
  for (size_t i = 0; i < std::max(a.size(), b.size()) || carry; ++i) {
    int d = carry;
    if (i < a.size()) d += a[a.size() - 1 - i] - '0';
    if (i < b.size()) d += b[b.size() - 1 - i] - '0';
    out.push_back(char('0' + d % 10));
    carry = d / 10;
  }
  std::reverse(out.begin(), out.end());
  return strip(out);
}

std::string usub(const std::string& a, const std::string& b) {  // a >= b
  std::string out;
  int borrow = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    int d = (a[a.size() - 1 - i] - '0') - borrow - (i < b.size() ? b[b.size() - 1 - i] - '0' : 0);
    borrow = d < 0;
    out.push_back(char('0' + (d + 10) % 10));
  }
  std::reverse(out.begin(), out.end());
  return strip(out);
}

std::string umul(const std::string& a, const std::string& b) {
  std::vector<int> acc(a.size() + b.size(), 0);
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = 0; j < b.size(); ++j) acc[i + j + 1] += (a[i] - '0') * (b[j] - '0');
  }
  for (size_t k = acc.size() - 1; k > 0; --k) acc[k - 1] += acc[k] / 10, acc[k] %= 10;
  std::string out;
  for (int d : acc) out.push_back(char('0' + d));
  return strip(out);
}

// Long division: a = q*b + r with 0 <= r < b (b > 0).
std::pair<std::string, std::string> udivmod(const std::string& a, const std::string& b) {
  std::string q, r = "0";
  for (char c : a) {
    r = strip(r + c);
    int n = 0;
    while (ucmp(r, b) >= 0) r = usub(r, b), ++n;
    q.push_back(char('0' + n));
  }
  return {strip(q), r};
}

Decimal round_to_precision(Decimal d) {
  if (d.digits == "0") d.neg = false;
  if (d.digits.size() <= kPrecision) return d;
  const size_t drop = d.digits.size() - kPrecision;
  const std::string kept = d.digits.substr(0, kPrecision), rest = d.digits.substr(kPrecision);
  const bool rest_nonzero_tail = rest.find_first_not_of('0', 1) != std::string::npos;
  const bool up = rest[0] > '5' || (rest[0] == '5' && (rest_nonzero_tail || (kept.back() - '0') % 2 == 1));
  d.digits = up ? uadd(kept, "1") : kept;
  d.exp += static_cast<int>(drop);
  if (d.digits.size() > kPrecision) d.digits.pop_back(), d.exp += 1;  // 999..9 + 1 carried
  return d;
}

// Python's str(float) is the shortest repr that reads back exactly; to_chars gives the same
// digits.
Decimal from_double(double x) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  const std::string s(buf, res.ptr);  // "-1.25e-05"
  Decimal d;
  d.neg = s[0] == '-';
  const size_t e = s.find('e');
  std::string mant = s.substr(d.neg ? 1 : 0, e - (d.neg ? 1 : 0));
  const size_t dot = mant.find('.');
  int frac = 0;
  if (dot != std::string::npos) frac = static_cast<int>(mant.size() - dot - 1), mant.erase(dot, 1);
  d.digits = strip(mant);
  d.exp = std::stoi(s.substr(e + 1)) - frac;
  if (d.digits == "0") d.neg = false;
  return d;
}

double to_double(const Decimal& d) {
  const std::string s = (d.neg ? "-" : "") + d.digits + "e" + std::to_string(d.exp);
  return std::strtod(s.c_str(), nullptr);  // glibc's strtod rounds correctly, as float() does
}

// Both magnitudes scaled to the smaller exponent, which is returned.
int align(const Decimal& a, const Decimal& b, std::string& ma, std::string& mb) {
  const int e = std::min(a.exp, b.exp);
  ma = a.digits == "0" ? "0" : a.digits + std::string(static_cast<size_t>(a.exp - e), '0');
  mb = b.digits == "0" ? "0" : b.digits + std::string(static_cast<size_t>(b.exp - e), '0');
  return e;
}

Decimal add(const Decimal& a, const Decimal& b) {
  std::string ma, mb;
  Decimal out;
  out.exp = align(a, b, ma, mb);
  if (a.neg == b.neg) {
    out.digits = uadd(ma, mb), out.neg = a.neg;
  } else if (ucmp(ma, mb) >= 0) {
    out.digits = usub(ma, mb), out.neg = a.neg;
  } else {
    out.digits = usub(mb, ma), out.neg = b.neg;
  }
  return round_to_precision(out);
}

Decimal negate(Decimal d) {
  d.neg = !d.neg && d.digits != "0";
  return d;
}

Decimal mul(const Decimal& a, const Decimal& b) {
  return round_to_precision({a.neg != b.neg, umul(a.digits, b.digits), a.exp + b.exp});
}

bool less(const Decimal& a, const Decimal& b) { return add(a, negate(b)).neg; }

// Quotient (a // b, exponent 0) and remainder (a % b) for a >= 0, b > 0.
std::pair<Decimal, Decimal> divmod(const Decimal& a, const Decimal& b, const std::string& ctx) {
  std::string ma, mb;
  const int e = align(a, b, ma, mb);
  auto [q, r] = udivmod(ma, mb);
  if (q.size() > kPrecision) {
    // Python raises decimal.InvalidOperation (DivisionImpossible) here, so Optuna fails too.
    throw Error::usage(ctx + ": (high - low) / step needs more than 28 digits",
                       "use a coarser step or a narrower range");
  }
  return {Decimal{false, q, 0}, Decimal{false, r, e}};
}

// ---- distributions -----------------------------------------------------------------------

std::string label(const std::string& name) { return name.empty() ? "distribution" : "param '" + name + "'"; }

Distribution float_in(const std::string& ctx, double low, double high, bool log, std::optional<double> step) {
  if (!std::isfinite(low) || !std::isfinite(high) || (step && !std::isfinite(*step))) {
    throw Error::usage(ctx + ": low, high and step must be finite numbers", "inf and nan cannot be sampled");
  }
  if (log && step) {
    throw Error::usage(ctx + ": `step` is not supported when `log` is true", "drop step, or set log = false");
  }
  if (low > high) {
    throw Error::usage(ctx + ": `low <= high` must hold, got low = " + format_number(low) + ", high = " + format_number(high));
  }
  if (log && low <= 0.0) {
    throw Error::usage(ctx + ": `low > 0` must hold for log = true, got low = " + format_number(low),
                       "a log-scaled range needs a positive low, e.g. 1e-5");
  }
  if (step && *step <= 0) throw Error::usage(ctx + ": `step > 0` must hold, got step = " + format_number(*step));
  Distribution d;
  d.kind = Distribution::Kind::kFloat;
  d.low = low, d.high = high, d.log = log, d.step = step;
  if (step) {
    const Decimal dstep = from_double(*step);
    const auto [q, r] = divmod(add(from_double(high), negate(from_double(low))), dstep, ctx);
    if (r.digits != "0") d.high = to_double(add(mul(q, dstep), from_double(low)));
  }
  return d;
}

Distribution int_in(const std::string& ctx, int64_t low, int64_t high, bool log, int64_t step) {
  // Internal reprs are doubles (as in Optuna's journal): beyond 2^53 they are not exact.
  constexpr int64_t kExact = int64_t{1} << 53;
  if (low < -kExact || low > kExact || high < -kExact || high > kExact) {
    throw Error::usage(ctx + ": low and high must lie within +-2^53", "params are stored as doubles");
  }
  if (log && step != 1) {
    throw Error::usage(ctx + ": `step` must be 1 when `log` is true, got step = " + std::to_string(step),
                       "drop step, or set log = false");
  }
  if (low > high) {
    throw Error::usage(ctx + ": `low <= high` must hold, got low = " + std::to_string(low) + ", high = " + std::to_string(high));
  }
  if (log && low < 1) {
    throw Error::usage(ctx + ": `low >= 1` must hold for log = true, got low = " + std::to_string(low));
  }
  if (step <= 0) throw Error::usage(ctx + ": `step > 0` must hold, got step = " + std::to_string(step));
  const int64_t r = high - low;  // both within 2^53: no overflow
  Distribution d;
  d.kind = Distribution::Kind::kInt;
  d.low = static_cast<double>(low), d.log = log, d.step = static_cast<double>(step);
  d.high = static_cast<double>(r % step == 0 ? high : r / step * step + low);
  return d;
}

Distribution categorical_in(const std::string& ctx, std::vector<nlohmann::json> choices) {
  if (choices.empty()) throw Error::usage(ctx + ": `choices` must contain one or more elements");
  for (size_t i = 0; i < choices.size(); ++i) {
    const auto& c = choices[i];
    if (!(c.is_null() || c.is_boolean() || c.is_number() || c.is_string())) {
      throw Error::usage(ctx + ": choice " + std::to_string(i) + " (" + c.dump() + ") is not null, a bool, a number or a string",
                         "the study file can only hold these choice types");
    }
  }
  Distribution d;
  d.kind = Distribution::Kind::kCategorical;
  d.choices = std::move(choices);
  return d;
}

// ---- the [space] table ---------------------------------------------------------------------

std::string where(const std::string& file, const toml::source_region& r) {
  return r.begin.line ? file + ":" + std::to_string(r.begin.line) : file;
}

const char* kSpaceHint = "e.g. [space.\"optim.lr\"] type = \"float\", low = 1e-5, high = 0.1, log = true";

struct Param {
  std::string name;
  const toml::table* tbl;
  toml::source_region at;  // of the param's key: orders params as the file lists them
};

// Flattens nested tables down to the ones with a `type` key; the dotted path is the name.
void collect(const toml::table& t, const std::string& prefix, const std::string& file, std::vector<Param>& out) {
  for (auto&& [key, node] : t) {
    const std::string name = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    const auto* sub = node.as_table();
    const std::string at = where(file, key.source());
    if (!sub) throw Error::usage("space param '" + name + "' at " + at + " must be a table with a `type`", kSpaceHint);
    // A `type` that is itself a table is a deeper name segment, not the param's type.
    if (sub->contains("type") && !(*sub)["type"].is_table()) {
      out.push_back({name, sub, key.source()});
      continue;
    }
    const bool nested = !sub->empty() && std::all_of(sub->begin(), sub->end(), [](auto&& kv) { return kv.second.is_table(); });
    if (!nested) {
      throw Error::usage("space param '" + name + "' at " + at + " has no `type` (float, int or categorical)", kSpaceHint);
    }
    collect(*sub, name, file, out);
  }
}

std::string kind_of(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date/time";
  }
}

// Reads the keys of one param table, checking names and types, and builds its distribution.
class ParamReader {
 public:
  ParamReader(const Param& p, const std::string& file)
      : p_(p), file_(file), param_("space param '" + p.name + "'"), ctx_(param_ + " at " + where(file, p.at)) {}

  Distribution read() {
    const toml::node& type_node = *p_.tbl->get("type");
    const std::vector<std::string> types = {"float", "int", "categorical"};
    const auto* type = type_node.as_string();
    if (!type || std::find(types.begin(), types.end(), type->get()) == types.end()) {
      std::string msg = "key 'type' of " + param_ + " at " + where(file_, type_node.source()) + " must be \"float\", \"int\" or \"categorical\", got " +
                        (type ? "\"" + type->get() + "\"" : kind_of(type_node));
      const std::string dym = type ? util::did_you_mean(type->get(), types) : "";
      throw Error::usage(dym.empty() ? msg : msg + "; " + dym);
    }
    const std::string kind = type->get();
    const std::vector<std::string> keys =
        kind == "categorical" ? std::vector<std::string>{"type", "choices"} : std::vector<std::string>{"type", "low", "high", "log", "step"};
    for (auto&& [key, node] : *p_.tbl) {
      const std::string k(key.str());
      if (std::find(keys.begin(), keys.end(), k) != keys.end()) continue;
      std::string msg = "unknown key '" + k + "' in " + param_ + " at " + where(file_, key.source());
      const std::string dym = util::did_you_mean(k, keys);
      if (!dym.empty()) msg += "; " + dym;
      std::string valid;
      for (const auto& v : keys) valid += (valid.empty() ? "" : ", ") + v;
      throw Error::usage(msg, "a " + kind + " param takes: " + valid);
    }
    if (kind == "categorical") return categorical_in(ctx_, choices());
    const bool log = flag("log");
    if (kind == "int") return int_in(ctx_, integer("low", true).value(), integer("high", true).value(), log, integer("step", false).value_or(1));
    return float_in(ctx_, number("low", true).value(), number("high", true).value(), log, number("step", false));
  }

 private:
  const toml::node* get(const std::string& key, bool required) {
    const toml::node* n = p_.tbl->get(key);
    if (!n && required) throw Error::usage(ctx_ + " needs `" + key + "`", kSpaceHint);
    return n;
  }
  [[noreturn]] void wrong(const std::string& key, const toml::node& n, const std::string& want) {
    throw Error::usage("key '" + key + "' of " + param_ + " at " + where(file_, n.source()) + " must be " + want + ", got " + kind_of(n));
  }
  std::optional<double> number(const std::string& key, bool required) {
    const toml::node* n = get(key, required);
    if (!n) return std::nullopt;
    if (auto i = n->as_integer()) return static_cast<double>(i->get());
    if (auto f = n->as_floating_point()) return f->get();
    wrong(key, *n, "a number");
  }
  std::optional<int64_t> integer(const std::string& key, bool required) {
    const toml::node* n = get(key, required);
    if (!n) return std::nullopt;
    if (auto i = n->as_integer()) return i->get();
    wrong(key, *n, "an integer (the param is type = \"int\")");
  }
  bool flag(const std::string& key) {
    const toml::node* n = get(key, false);
    if (!n) return false;
    if (auto b = n->as_boolean()) return b->get();
    wrong(key, *n, "true or false");
  }
  std::vector<nlohmann::json> choices() {
    const toml::node* n = get("choices", true);
    const auto* arr = n->as_array();
    if (!arr) wrong("choices", *n, "an array");
    std::vector<nlohmann::json> out;
    for (const auto& el : *arr) {
      if (auto s = el.as_string()) out.emplace_back(s->get());
      else if (auto i = el.as_integer()) out.emplace_back(i->get());
      else if (auto f = el.as_floating_point()) out.emplace_back(f->get());
      else if (auto b = el.as_boolean()) out.emplace_back(b->get());
      else throw Error::usage("element " + std::to_string(out.size()) + " of key 'choices' of " + param_ + " at " +
                              where(file_, el.source()) + " must be a string, number or boolean, got " + kind_of(el));
    }
    return out;
  }

  const Param& p_;
  const std::string& file_;
  std::string param_;  // "space param 'optim.lr'"
  std::string ctx_;    // ... with the param's file:line, for errors about the whole param
};

}  // namespace

Space parse_space(const toml::table& tbl, const std::string& file) {
  std::vector<Param> params;
  collect(tbl, "", file, params);
  if (params.empty()) throw Error::usage("the [space] table at " + where(file, tbl.source()) + " is empty", kSpaceHint);
  // toml++ iterates keys sorted by name; the file order is the source order.
  std::stable_sort(params.begin(), params.end(), [](const Param& a, const Param& b) {
    return std::pair(a.at.begin.line, a.at.begin.column) < std::pair(b.at.begin.line, b.at.begin.column);
  });
  Space space;
  std::map<std::string, std::string> seen;  // name -> file:line
  for (const auto& p : params) {
    const std::string at = where(file, p.at);
    if (auto [it, fresh] = seen.emplace(p.name, at); !fresh) {
      throw Error::usage("space param '" + p.name + "' is given twice: at " + it->second + " and at " + at,
                         "[space.\"a.b\"] and [space.a.b] name the same param");
    }
    space.emplace_back(p.name, ParamReader(p, file).read());
  }
  return space;
}

std::string format_number(double v) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

Distribution make_float(double low, double high, bool log, std::optional<double> step, const std::string& name) {
  return float_in(label(name), low, high, log, step);
}

Distribution make_int(int64_t low, int64_t high, bool log, int64_t step, const std::string& name) {
  return int_in(label(name), low, high, log, step);
}

Distribution make_categorical(std::vector<nlohmann::json> choices, const std::string& name) {
  return categorical_in(label(name), std::move(choices));
}

bool contains(const Distribution& d, double v) {
  switch (d.kind) {
    case Distribution::Kind::kFloat: {
      if (!(d.low <= v && v <= d.high)) return false;
      if (!d.step) return true;
      const double k = (v - d.low) / *d.step;
      return std::abs(k - std::nearbyint(k)) < 1.0e-8;
    }
    case Distribution::Kind::kInt:
      // Python's (v - low) % step == 0 on floats: zero exactly when fmod is zero.
      return d.low <= v && v <= d.high && std::fmod(v - d.low, d.step.value_or(1.0)) == 0.0;
    case Distribution::Kind::kCategorical: {
      if (!std::isfinite(v)) return false;
      const double index = std::trunc(v);  // Python's int(): toward zero
      return index >= 0 && index < static_cast<double>(d.choices.size());
    }
  }
  return false;
}

bool is_single(const Distribution& d) {
  switch (d.kind) {
    case Distribution::Kind::kFloat:
      if (d.low == d.high) return true;
      if (!d.step) return false;
      return less(add(from_double(d.high), negate(from_double(d.low))), from_double(*d.step));
    case Distribution::Kind::kInt:
      if (d.low == d.high) return true;
      return !d.log && d.high - d.low < d.step.value_or(1.0);
    case Distribution::Kind::kCategorical:
      return d.choices.size() == 1;
  }
  return false;
}

}  // namespace kiln::sweep
