// Unit tests for sweep/space_toml: a sweep spec's [space] table read into distributions
// (quoted and nested names, file order, errors naming file:line and key). The distributions'
// own rules are tested in tests/optuna/distribution_test.cpp.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "config/config_test_util.h"
#include "sweep/space_toml.h"

namespace kiln::sweep {
namespace {

// The message and hint of the usage error `f` must raise (config_test_util.h).
std::string usage_error(const std::function<void()>& f) { return config::test::usage_error(f, /*with_hint=*/true); }

optuna::Space parse_text(const std::string& text) {
  const toml::table root = toml::parse(text, std::string_view("s.toml"));
  return parse_space(*root["space"].as_table(), "s.toml");
}

TEST(SweepSpaceToml, ParsesQuotedAndNestedNamesInFileOrder) {
  const optuna::Space space = parse_text(R"(
[space."optim.lr"]
type = "float"
low = 1e-5
high = 0.1
log = true

[space.model.dropout]
type = "float"
low = 0.0
high = 0.55
step = 0.1

[space.optim]
name = { type = "categorical", choices = ["adamw", "sgd", 3, 0.5, true] }

[space.model.cnn.fc]
type = "int"
low = 32
high = 250
step = 32

[space]
a = { type = "int", low = 1, high = 8, log = true }
)");
  ASSERT_EQ(space.size(), 5u);
  const std::vector<std::string> names = {"optim.lr", "model.dropout", "optim.name", "model.cnn.fc", "a"};
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(space[i].first, names[i]);
  EXPECT_TRUE(space[0].second.log);
  EXPECT_EQ(space[0].second.low, 1e-5);
  EXPECT_EQ(space[1].second.step, 0.1);
  EXPECT_EQ(space[1].second.high, 0.5);  // snapped
  EXPECT_EQ(space[2].second.kind, optuna::Distribution::Kind::kCategorical);
  EXPECT_EQ(space[2].second.choices, (std::vector<nlohmann::json>{"adamw", "sgd", 3, 0.5, true}));
  EXPECT_EQ(space[3].second.kind, optuna::Distribution::Kind::kInt);
  EXPECT_EQ(space[3].second.high, 224.0);  // 32 + 6 * 32
  EXPECT_EQ(space[4].second.step, 1.0);
  EXPECT_TRUE(space[4].second.log);
}

TEST(SweepSpaceToml, ParsesTypeAsANameSegmentWhenItIsATable) {
  // A config key ending in "type" can still be written nested: [space.data.type] is the
  // param "data.type", because data's `type` is a table, not a type name.
  const optuna::Space space = parse_text("[space.data.type]\ntype = \"categorical\"\nchoices = [\"a\", \"b\"]\n");
  ASSERT_EQ(space.size(), 1u);
  EXPECT_EQ(space[0].first, "data.type");
  EXPECT_EQ(space[0].second.choices.size(), 2u);
}

TEST(SweepSpaceToml, ParseErrorsNameFileLineAndKey) {
  struct Case {
    std::string text;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {"[space.lr]\ntype = \"float\"\nlow = 0\nhigh = 1\nlogg = true\n",
       {"'logg'", "'lr'", "s.toml:5", "did you mean 'log'"}},
      {"[space.lr]\nlow = 0\nhigh = 1\n", {"'lr'", "s.toml:1", "no `type`"}},
      {"[space.lr]\ntype = \"flaot\"\nlow = 0\nhigh = 1\n", {"'type'", "'lr'", "s.toml:2", "did you mean 'float'"}},
      {"[space.lr]\ntype = 3\n", {"'type'", "s.toml:2", "an integer"}},
      {"[space.lr]\ntype = \"float\"\nhigh = 1\n", {"'lr'", "s.toml:1", "`low`"}},
      {"[space.n]\ntype = \"int\"\nlow = 1.5\nhigh = 4\n", {"'low'", "'n'", "s.toml:3", "integer"}},
      {"[space.n]\ntype = \"int\"\nlow = 1\nhigh = 4\nstep = 0.5\n", {"'step'", "s.toml:5", "integer"}},
      {"[space.lr]\ntype = \"float\"\nlow = 0\nhigh = \"1\"\n", {"'high'", "s.toml:4", "a number"}},
      {"[space.lr]\ntype = \"float\"\nlow = 0\nhigh = 1\nlog = \"yes\"\n", {"'log'", "s.toml:5", "true or false"}},
      {"[space.c]\ntype = \"categorical\"\nchoices = \"adam\"\n", {"'choices'", "s.toml:3", "an array"}},
      {"[space.c]\ntype = \"categorical\"\nchoices = [\"a\", [1]]\n", {"'choices'", "s.toml:3", "element 1"}},
      {"[space.c]\ntype = \"categorical\"\nchoices = []\n", {"'c'", "s.toml:1", "choices"}},
      {"[space.c]\ntype = \"categorical\"\nchoices = [\"a\"]\nlow = 1\n", {"'low'", "s.toml:4", "type, choices"}},
      {"[space.\"optim.lr\"]\ntype = \"float\"\nlow = 0\nhigh = 1\n[space.optim.lr]\ntype = \"float\"\nlow = 0\nhigh = "
       "1\n",
       {"'optim.lr'", "twice", "s.toml:1", "s.toml:5"}},
      {"[space]\n", {"empty", "s.toml:1"}},
      {"[space]\nlr = 0.1\n", {"'lr'", "s.toml:2", "must be a table"}},
      {"[space.lr]\ntype = \"float\"\nlow = 0.5\nhigh = 0.1\n", {"'lr'", "s.toml:1", "low <= high"}},
      {"[space.lr]\ntype = \"float\"\nlow = 0\nhigh = 1\nlog = true\n", {"'lr'", "s.toml:1", "low > 0"}},
      {"[space.lr]\ntype = \"float\"\nlow = 1e-5\nhigh = 1\nlog = true\nstep = 0.1\n", {"'lr'", "s.toml:1", "step"}},
      {"[space.n]\ntype = \"int\"\nlow = 1\nhigh = 8\nlog = true\nstep = 2\n", {"'n'", "s.toml:1", "step"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("spec:\n" + c.text);
    const std::string msg = usage_error([&] { parse_text(c.text); });
    for (const auto& part : c.parts) EXPECT_CONTAINS(msg, part);
  }
}

}  // namespace
}  // namespace kiln::sweep
