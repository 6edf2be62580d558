// Unit tests of the self-test's comparison: where fresh runs' loss curves part.
#include "verify/selftest.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kiln::verify {
namespace {

TEST(SelftestCompare, AgreeingRunsHaveNoDivergentStep) {
  const std::map<int64_t, double> a = {{1, 2.5}, {2, 2.25}, {3, 2.0}};
  EXPECT_EQ(first_divergent_step({a, a, a}), -1);
  EXPECT_EQ(first_divergent_step({a}), -1);
}

TEST(SelftestCompare, NamesTheEarliestStepWhereAnyRunDiffers) {
  const std::map<int64_t, double> a = {{1, 2.5}, {2, 2.25}, {3, 2.0}, {4, 1.5}};
  auto b = a, c = a;
  b[4] = 1.5000001;
  c[3] = std::nextafter(2.0, 3.0);  // one ulp is a difference
  EXPECT_EQ(first_divergent_step({a, b}), 4);
  EXPECT_EQ(first_divergent_step({a, b, c}), 3);
}

TEST(SelftestCompare, AMissingStepIsADivergence) {
  const std::map<int64_t, double> a = {{1, 2.5}, {2, 2.25}};
  const std::map<int64_t, double> b = {{1, 2.5}};
  EXPECT_EQ(first_divergent_step({a, b}), 2);
}

TEST(SelftestConfigs, ShippedConfigsAreBuiltIn) {
  const auto configs = shipped_configs();
  ASSERT_GE(configs.size(), 2u);
  bool have_default = false;
  for (const auto& c : configs) {
    EXPECT_FALSE(c.toml.empty()) << c.name;
    if (c.name == "default") {
      have_default = true;
      EXPECT_EQ(c.steps, 120);
    }
  }
  EXPECT_TRUE(have_default);
}

}  // namespace
}  // namespace kiln::verify
