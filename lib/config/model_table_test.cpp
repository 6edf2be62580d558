// Unit tests for per-model config tables (config/model_table.h), with a table of this file's
// own ("kiln-test-net", one knob of each type) so they hold for any registered model, and
// the old flat keys of the built-ins (registered by lib/model/registry.cpp, linked in here).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.h"
#include "config/config_test_util.h"
#include "config/fields.h"
#include "config/load.h"
#include "config/model_table.h"
#include "util/error.h"

namespace kiln::config {
namespace {

using test::usage_error;

struct TestKnobs {
  int64_t depth = 2;
  std::vector<double> scales = {1.0};
  std::string act = "relu";
  bool bias = true;

  std::vector<Field> fields() {
    return {num("depth", &depth, "layers", 1, 8), nonempty(num("scales", &scales, "per-layer scales", 0, 10), "scale"),
            str("act", &act, "activation", {"relu", "gelu"}), num("bias", &bias, "use biases")};
  }
};

const std::string kNet = "kiln-test-net";

class ModelTables : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { register_model_table(kNet, model_table<TestKnobs>()); }
};

RunConfig from_toml(const std::string& text, Origins* origins_out = nullptr) {
  RunConfig cfg;
  Origins origins;
  apply_toml(cfg, text, "x.toml", origins);
  validate(cfg, origins);
  if (origins_out) *origins_out = origins;
  return cfg;
}

TEST_F(ModelTables, KnobsLoadFromEveryTomlForm) {
  Origins origins;
  RunConfig cfg =
      from_toml("[model]\nname = \"kiln-test-net\"\n\n[model.kiln-test-net]\ndepth = 3\nact = \"gelu\"\n", &origins);
  EXPECT_EQ(cfg.model.knobs<TestKnobs>().depth, 3);
  EXPECT_EQ(cfg.model.knobs<TestKnobs>().act, "gelu");
  EXPECT_EQ(cfg.model.knobs<TestKnobs>().scales, std::vector<double>{1.0});  // unset: the default
  EXPECT_EQ(origins["model.kiln-test-net.depth"], "x.toml:5");
  cfg = from_toml("model.name = \"kiln-test-net\"\nmodel.kiln-test-net.depth = 4\n");
  EXPECT_EQ(cfg.model.knobs<TestKnobs>().depth, 4);
  cfg = from_toml("[model]\nname = \"kiln-test-net\"\nkiln-test-net = { depth = 5, bias = false }\n");
  EXPECT_EQ(cfg.model.knobs<TestKnobs>().depth, 5);
  EXPECT_FALSE(cfg.model.knobs<TestKnobs>().bias);
  cfg = load(std::nullopt, {"model.kiln-test-net.scales=[0.5, 2]", "model.name=kiln-test-net"});
  EXPECT_EQ(cfg.model.knobs<TestKnobs>().scales, (std::vector<double>{0.5, 2.0}));
}

TEST_F(ModelTables, TheChosenTableIsValidatedWithKeyOriginAndRange) {
  std::string msg = usage_error([] {
    load(std::nullopt, {"model.name=kiln-test-net", "model.kiln-test-net.depth=9"});
  });
  EXPECT_CONTAINS(msg,
                  "value 9 of 'model.kiln-test-net.depth' at --set model.kiln-test-net.depth=9 is out of range: must "
                  "be >= 1 and <= 8");
  msg = usage_error([] { from_toml("[model]\nname = \"kiln-test-net\"\n[model.kiln-test-net]\nact = \"gleu\"\n"); });
  EXPECT_CONTAINS(msg, "'model.kiln-test-net.act' at x.toml:4");
  EXPECT_CONTAINS(msg, "did you mean 'gelu'");
  msg = usage_error([] { load(std::nullopt, {"model.name=kiln-test-net", "model.kiln-test-net.scales=[]"}); });
  EXPECT_CONTAINS(msg,
                  "'model.kiln-test-net.scales' at --set model.kiln-test-net.scales=[] must list at least one scale");
  msg = usage_error([] { load(std::nullopt, {"model.name=kiln-test-net", "model.kiln-test-net.scales=[nan]"}); });
  EXPECT_CONTAINS(msg, "not a finite number");
}

TEST_F(ModelTables, AnotherModelsTableIsTypeCheckedThenIgnored) {
  // model.name is mlp: kiln-test-net's knobs are kept but neither validated nor used, so a
  // sweep that varies model.name can set every model's knobs.
  Origins origins;
  const RunConfig cfg = load(std::nullopt, {"model.kiln-test-net.depth=9", "model.mlp.hidden=[8]"}, &origins);
  EXPECT_EQ(ignored_keys(cfg, origins), std::vector<std::string>{"model.kiln-test-net.depth"});
  EXPECT_EQ(flat_values(cfg).count("model.kiln-test-net.depth"), 0u);
  EXPECT_EQ(flat_values(cfg).at("model.mlp.hidden"), "[8]");
  // Its types are still checked: the value has to be stored as what the knob is.
  EXPECT_CONTAINS(usage_error([] { load(std::nullopt, {"model.kiln-test-net.depth=deep"}); }),
                  "model.kiln-test-net.depth");
  EXPECT_CONTAINS(usage_error([] { from_toml("[model.kiln-test-net]\nbias = 1\n"); }), "x.toml:2");
}

TEST_F(ModelTables, OnlyTheChosenTableIsPrintedAndItRoundTrips) {
  const std::string mlp = to_toml(RunConfig{});
  EXPECT_CONTAINS(mlp, "\n[model.mlp]\nhidden = [512, 256] ");
  EXPECT_EQ(mlp.find("[model.cnn]"), std::string::npos) << mlp;
  EXPECT_EQ(mlp.find("[model.kiln-test-net]"), std::string::npos) << mlp;
  const RunConfig cfg =
      load(std::nullopt, {"model.name=kiln-test-net", "model.kiln-test-net.depth=7", "model.mlp.hidden=[8]"});
  const std::string text = to_toml(cfg);
  EXPECT_CONTAINS(text, "\n[model.kiln-test-net]\ndepth = 7 ");
  EXPECT_CONTAINS(text, "\nscales = [1.0] ");
  EXPECT_EQ(text.find("[model.mlp]"), std::string::npos) << text;
  RunConfig back;
  Origins origins;
  apply_toml(back, text, "printed.toml", origins);
  EXPECT_EQ(to_toml(back), text);
  EXPECT_EQ(back.model.knobs<TestKnobs>().depth, 7);
}

TEST_F(ModelTables, UnknownKnobsAndTablesSuggestTheNearest) {
  std::string msg = usage_error([] { from_toml("[model.kiln-test-net]\ndpth = 3\n"); });
  EXPECT_CONTAINS(msg, "unknown key 'model.kiln-test-net.dpth' at x.toml:2");
  EXPECT_CONTAINS(msg, "did you mean 'model.kiln-test-net.depth'");
  msg = usage_error([] { from_toml("[model.kiln-test-nt]\ndepth = 3\n"); });
  EXPECT_CONTAINS(msg, "unknown key 'model.kiln-test-nt' at x.toml:1");
  EXPECT_CONTAINS(msg, "did you mean 'model.kiln-test-net'");
  EXPECT_CONTAINS(usage_error([] { load(std::nullopt, {"model.mpl.hidden=[8]"}); }), "did you mean 'model.mlp.hidden'");
  // Only models' tables nest: other sections have none.
  EXPECT_CONTAINS(usage_error([] { from_toml("[optim.sgd]\nmomentum = 0.5\n"); }), "unknown key 'optim.sgd'");
}

TEST_F(ModelTables, OldFlatKeysNameTheirNewPlace) {
  const std::vector<std::pair<std::string, std::string>> moved = {{"hidden", "model.mlp.hidden"},
                                                                  {"channels", "model.cnn.channels"},
                                                                  {"fc", "model.cnn.fc"},
                                                                  {"width", "model.resnet.width"},
                                                                  {"blocks", "model.resnet.blocks"}};
  for (const auto& [knob, now] : moved) {
    SCOPED_TRACE(knob);
    const std::string value = knob == "hidden" || knob == "channels" ? "[8]" : "2";
    std::string msg = usage_error([&] { from_toml("[model]\nname = \"mlp\"\n" + knob + " = " + value + "\n"); }, true);
    EXPECT_CONTAINS(msg, "'model." + knob + "' at x.toml:3 moved to '" + now + "'");
    const std::string table = now.substr(0, now.rfind('.'));
    EXPECT_CONTAINS(msg, "hint: each model's knobs are in its own table: [" + table + "] " + knob + " = ...");
    msg = usage_error([&] { load(std::nullopt, {"model." + knob + "=" + value}); });
    EXPECT_CONTAINS(msg, "'model." + knob + "' at --set model." + knob + "=" + value + " moved to '" + now + "'");
  }
  // Any registered model's knob, not only the built-ins'.
  EXPECT_CONTAINS(usage_error([] { from_toml("[model]\ndepth = 3\n"); }), "moved to 'model.kiln-test-net.depth'");
}

TEST_F(ModelTables, NamesThatCannotBeKeysAreRefusedAtRegistration) {
  for (const char* bad : {"a.b", "", "with space"}) {
    try {
      register_model_table(bad, model_table<TestKnobs>());
      ADD_FAILURE() << "registered '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kRuntime) << e.what();
    }
  }
  EXPECT_FALSE(find_model_table("a.b"));
}

}  // namespace
}  // namespace kiln::config
