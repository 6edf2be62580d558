// Exact decimal arithmetic as Python's decimal module does it in the default context, for
// snapping float steps the way Optuna does (Decimal(str(x)) in optuna/distributions.py):
// values are the exact decimal values of the shortest repr strings; +, - and * round to 28
// significant digits (ROUND_HALF_EVEN); divmod is exact but impossible when the integer
// quotient needs more than 28 digits; < is exact.
#pragma once
#include <optional>
#include <string>

namespace kiln::optuna {

// value = (neg ? -1 : 1) * digits * 10^exp. `digits` is an unsigned magnitude as a digit
// string (most significant first, no leading zeros, "0" for zero): exponents of doubles span
// ~630 decades, far beyond any machine word. Zero is never negative.
struct Decimal {
  bool neg = false;
  std::string digits = "0";
  int exp = 0;

  // Decimal(str(x)) for a finite x: Python's str(float) is the shortest repr that reads back
  // exactly.
  static Decimal from_double(double x);
  // float(d): the nearest double, correctly rounded.
  double to_double() const;
  bool is_zero() const { return digits == "0"; }
};

Decimal operator-(Decimal d);                           // exact
Decimal operator+(const Decimal& a, const Decimal& b);  // rounded to 28 digits
Decimal operator-(const Decimal& a, const Decimal& b);  // rounded to 28 digits
Decimal operator*(const Decimal& a, const Decimal& b);  // rounded to 28 digits
bool operator<(const Decimal& a, const Decimal& b);     // exact

// a // b (exponent 0) and a % b, both exact, for a >= 0 and b > 0; std::nullopt where Python
// raises decimal.InvalidOperation (DivisionImpossible): the quotient needs over 28 digits.
struct DecimalDivMod {
  Decimal quotient;
  Decimal remainder;
};
std::optional<DecimalDivMod> divmod(const Decimal& a, const Decimal& b);

}  // namespace kiln::optuna
