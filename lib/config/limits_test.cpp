// Unit tests for the limits on config values (config/fields.cpp's bounds and validate()):
// values that are surely mistakes are refused with the key, where it came from, the range
// and the reason, also for int64 values far beyond a double's exact range and for nan/inf;
// over-long paths are refused before the file system sees them; deep TOML in --set values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>

#include "config/config.h"
#include "config/config_test_util.h"
#include "config/fields.h"
#include "config/load.h"
#include "config/model_table.h"
#include "util/error.h"

namespace kiln::config {
namespace {

// Messages with their hint: the limits' reasons are in both.
std::string usage_error(const std::function<void()>& fn) { return test::usage_error(fn, /*with_hint=*/true); }

void load_text(const std::string& text) {
  RunConfig cfg;
  Origins origins;
  apply_toml(cfg, text, "x.toml", origins);
  validate(cfg, origins);
}

TEST(ConfigLimits, SurelyMistakenValuesAreRefusedWithKeyOriginAndReason) {
  std::string msg = usage_error([] { load_text("[optim]\nlr = 2147483648\n"); });
  EXPECT_CONTAINS(msg, "'optim.lr' at x.toml:2");
  EXPECT_CONTAINS(msg, "<= 10.0");
  EXPECT_CONTAINS(msg, "diverges");
  msg = usage_error([] { load_text("[train]\nepochs = 9223372036854775807\n"); });
  EXPECT_CONTAINS(msg, "value 9223372036854775807 of 'train.epochs'");  // printed as the integer it is
  EXPECT_CONTAINS(msg, "<= 1000000");
  msg = usage_error([] { load(std::nullopt, {"train.max_steps=9223372036854775807"}); });
  EXPECT_CONTAINS(msg, "'train.max_steps' at --set");
  EXPECT_CONTAINS(msg, "11 days");
  for (const char* set :
       {"loader.batch_size=1099511627776", "data.limit_train=9223372036854775807", "schedule.warmup_steps=10000000000",
        "checkpoint.every=10000000000", "checkpoint.keep=9223372036854775807", "log.every=9223372036854775807",
        "model.mlp.hidden=[64, 9223372036854775807]", "model.cnn.fc=1000000", "model.resnet.width=100000",
        "model.cnn.channels=[70000]", "model.resnet.blocks=65", "train.grad_accum=1000000",
        "loader.eval_batch_size=4294967296"}) {
    const std::string key = std::string(set).substr(0, std::string(set).find('='));
    // A model's knobs are checked when it is the chosen model.
    const bool knob = std::count(key.begin(), key.end(), '.') == 2;
    const std::string name = "model.name=" + (knob ? key.substr(6, key.rfind('.') - 6) : std::string("mlp"));
    msg = usage_error([&] { load(std::nullopt, {name, set}); });
    EXPECT_CONTAINS(msg, "'" + key + "'");
    EXPECT_CONTAINS(msg, "out of range");
  }
}

TEST(ConfigLimits, NanAndInfAreRefusedForEveryFloat) {
  std::string msg = usage_error([] { load_text("[schedule]\nmin_lr = inf\n"); });
  EXPECT_CONTAINS(msg, "'schedule.min_lr' at x.toml:2 is not a finite number");
  for (const char* set : {"optim.lr=nan", "optim.lr=inf", "data.std=[inf]", "data.mean=[nan]", "train.grad_clip=inf",
                          "schedule.div_factor=inf", "schedule.final_div_factor=+inf", "optim.weight_decay=nan",
                          "schedule.min_lr=-inf", "optim.eps=inf"}) {
    msg = usage_error([&] { load(std::nullopt, {set}); });
    EXPECT_CONTAINS(msg, "'" + std::string(set).substr(0, std::string(set).find('=')) + "'");
    EXPECT_CONTAINS(msg, "not a finite number");
  }
}

TEST(ConfigLimits, ValuesNearTheBoundsAreAccepted) {
  EXPECT_NO_THROW(load(
      std::nullopt, {"optim.lr=10", "train.epochs=1000000", "train.max_steps=1000000000", "loader.batch_size=1048576",
                     "model.mlp.hidden=[65536]", "schedule.min_lr=1e-9", "repro.seed=9223372036854775807"}));
}

TEST(ConfigLimits, EveryNumericFieldWithAMaxSaysWhy) {
  // A bound without a reason reads as arbitrary; the fields added here each carry one.
  RunConfig c;
  auto all = fields(c);
  for (const auto& model : model_table_names()) {
    for (auto& f : table_fields(c, model)) all.push_back(f);
  }
  for (const auto& f : all) {
    if (f.max && *f.max > 1024) {
      EXPECT_FALSE(f.why.empty()) << f.key;
    }
  }
}

TEST(ConfigLimits, OverlongDataDirIsAUsageErrorNamingTheKey) {
  const std::string msg = usage_error([] { load(std::nullopt, {"data.dir=" + std::string(100000, 'd')}); });
  EXPECT_CONTAINS(msg, "'data.dir' at --set");
  EXPECT_CONTAINS(msg, "100000 characters");
  EXPECT_LT(msg.size(), 1000u);  // the path itself is shortened in the message
  EXPECT_CONTAINS(usage_error([] { load(std::nullopt, {"data.dir=/tmp/" + std::string(300, 'n')}); }),
                  "per file or directory name");
}

TEST(ConfigLimits, OverlongConfigPathIsAUsageError) {
  EXPECT_CONTAINS(usage_error([] { load(std::filesystem::path(std::string(100000, 'c') + ".toml"), {}); }),
                  "config file");
}

TEST(ConfigLimits, DeepSetValuesAreUsageErrors) {
  const std::string deep(100000, '[');
  EXPECT_CONTAINS(usage_error([&] { load(std::nullopt, {"model.mlp.hidden=" + deep}); }), "--set model.mlp.hidden");
  EXPECT_CONTAINS(usage_error([&] { load(std::nullopt, {"train.name=" + std::string(100000, '[')}); }), "levels");
}

}  // namespace
}  // namespace kiln::config
