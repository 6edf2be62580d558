// Unit tests for config_changes (train/resume.h): a resumed run's config is compared key by
// key, the chosen model's own table ([model.mlp] ...) included, and harmless keys pass.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/load.h"
#include "train/resume.h"

namespace kiln::train {
namespace {

std::vector<std::string> changes(const std::vector<std::string>& saved, const std::vector<std::string>& now) {
  return config_changes(config::load(std::nullopt, saved), config::load(std::nullopt, now));
}

TEST(ResumeConfigChanges, SameConfigAndHarmlessKeysAreNoChange) {
  EXPECT_TRUE(changes({}, {}).empty());
  EXPECT_TRUE(changes({"model.mlp.hidden=[64]"}, {"model.mlp.hidden=[64]", "log.every=7", "loader.threads=3"}).empty());
}

TEST(ResumeConfigChanges, TheChosenModelsKnobsAreCompared) {
  EXPECT_EQ(changes({"model.mlp.hidden=[64]"}, {"model.mlp.hidden=[32]"}),
            std::vector<std::string>{"model.mlp.hidden: [64] -> [32]"});
  EXPECT_EQ(changes({"model.name=cnn"}, {"model.name=cnn", "model.cnn.fc=64"}),
            std::vector<std::string>{"model.cnn.fc: 128 -> 64"});
}

TEST(ResumeConfigChanges, AnotherModelsKnobsChangeNothing) {
  // The run is an mlp: cnn's table is not part of what it computes.
  EXPECT_TRUE(changes({}, {"model.cnn.fc=64"}).empty());
}

TEST(ResumeConfigChanges, AnotherModelIsAChange) {
  const auto c = changes({}, {"model.name=resnet"});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0], "model.name: \"mlp\" -> \"resnet\"");
}

}  // namespace
}  // namespace kiln::train
