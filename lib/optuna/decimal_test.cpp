// Unit tests for optuna/decimal: Decimal(str(x)) from doubles, 28-digit half-even rounding,
// exact divmod and its DivisionImpossible limit, each against what Python's decimal gives.
#include <gtest/gtest.h>

#include "optuna/decimal.h"

namespace kiln::optuna {
namespace {

Decimal dec(double x) { return Decimal::from_double(x); }

TEST(SweepDecimal, FromDoubleUsesTheShortestRepr) {
  const Decimal a = dec(0.1);  // Decimal('0.1'), not 0.1000000000000000055511...
  EXPECT_FALSE(a.neg);
  EXPECT_EQ(a.digits, "1");
  EXPECT_EQ(a.exp, -1);
  const Decimal b = dec(-1.25e-05);  // Decimal('-0.0000125')
  EXPECT_TRUE(b.neg);
  EXPECT_EQ(b.digits, "125");
  EXPECT_EQ(b.exp, -7);
  EXPECT_TRUE(dec(-0.0).is_zero());
  EXPECT_FALSE(dec(-0.0).neg);
  EXPECT_EQ(dec(123456.789).to_double(), 123456.789);
  EXPECT_EQ(dec(5e-324).to_double(), 5e-324);
}

TEST(SweepDecimal, ArithmeticIsDecimalNotBinary) {
  EXPECT_EQ((dec(0.3) - dec(0.1)).to_double(), 0.2);  // binary: 0.19999999999999998
  EXPECT_EQ((dec(0.1) * dec(3.0)).to_double(), 0.3);  // binary: 0.30000000000000004
  EXPECT_TRUE(dec(0.3) - dec(0.1) < dec(0.25));
  EXPECT_FALSE(dec(0.3) < dec(0.3));
  EXPECT_TRUE(dec(-1.0) < dec(0.0));
}

TEST(SweepDecimal, RoundsToTwentyEightDigitsHalfEven) {
  // Decimal('1') + Decimal('1.5E-27') == Decimal('1.000000000000000000000000002')
  const Decimal up = dec(1.0) + dec(1.5e-27);
  EXPECT_EQ(up.digits, "1000000000000000000000000002");
  EXPECT_EQ(up.exp, -27);
  // A tie rounds to the even last digit: ...0025 -> ...002, and 1 + 5E-28 -> 1.000...000.
  EXPECT_EQ((dec(1.0) + dec(2.5e-27)).digits, "1000000000000000000000000002");
  EXPECT_EQ((dec(1.0) + dec(5e-28)).digits, "1000000000000000000000000000");
}

TEST(SweepDecimal, DivmodIsExactUpToTwentyEightQuotientDigits) {
  const auto a = divmod(dec(1.0), dec(0.1));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->quotient.digits, "10");
  EXPECT_TRUE(a->remainder.is_zero());
  const auto b = divmod(dec(1.05), dec(0.1));  // (Decimal('10'), Decimal('0.05'))
  ASSERT_TRUE(b);
  EXPECT_EQ(b->quotient.digits, "10");
  EXPECT_EQ(b->remainder.to_double(), 0.05);
  EXPECT_TRUE(divmod(dec(9e21), dec(1e-6)));   // 9e27: 28 digits
  EXPECT_FALSE(divmod(dec(1e22), dec(1e-6)));  // 1e28: 29 digits, DivisionImpossible
}

}  // namespace
}  // namespace kiln::optuna
