// Python-decimal arithmetic on digit strings (see decimal.h): unsigned helpers on magnitudes,
// then signed operations that round to the default context's 28 significant digits.
#include "optuna/decimal.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <utility>
#include <vector>

namespace kiln::optuna {
namespace {

constexpr size_t kPrecision = 28;  // decimal.getcontext().prec

// ---- unsigned magnitudes: digit strings, no leading zeros ----------------------------------

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

// ---- signed values ---------------------------------------------------------------------------

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

// Both magnitudes scaled to the smaller exponent, which is returned.
int align(const Decimal& a, const Decimal& b, std::string& ma, std::string& mb) {
  const int e = std::min(a.exp, b.exp);
  ma = a.digits == "0" ? "0" : a.digits + std::string(static_cast<size_t>(a.exp - e), '0');
  mb = b.digits == "0" ? "0" : b.digits + std::string(static_cast<size_t>(b.exp - e), '0');
  return e;
}

}  // namespace

// to_chars gives the same shortest digits as Python's str(float).
Decimal Decimal::from_double(double x) {
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

double Decimal::to_double() const {
  const std::string s = (neg ? "-" : "") + digits + "e" + std::to_string(exp);
  return std::strtod(s.c_str(), nullptr);  // glibc's strtod rounds correctly, as float() does
}

Decimal operator-(Decimal d) {
  d.neg = !d.neg && d.digits != "0";
  return d;
}

Decimal operator+(const Decimal& a, const Decimal& b) {
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

Decimal operator-(const Decimal& a, const Decimal& b) { return a + -b; }

Decimal operator*(const Decimal& a, const Decimal& b) {
  return round_to_precision({a.neg != b.neg, umul(a.digits, b.digits), a.exp + b.exp});
}

// Rounding keeps the sign (and zero stays zero), so the rounded difference's sign is exact.
bool operator<(const Decimal& a, const Decimal& b) { return (a - b).neg; }

std::optional<DecimalDivMod> divmod(const Decimal& a, const Decimal& b) {
  std::string ma, mb;
  const int e = align(a, b, ma, mb);
  auto [q, r] = udivmod(ma, mb);
  if (q.size() > kPrecision) return std::nullopt;
  return DecimalDivMod{Decimal{false, q, 0}, Decimal{false, r, e}};
}

}  // namespace kiln::optuna
