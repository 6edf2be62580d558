// Unit tests for config/: TOML loading through the field table, --set overrides, validation,
// printing as TOML that loads back to the same config, and error messages that name the
// key, the file:line (or the --set) and the nearest valid key. Keys of the built-in models'
// own tables ([model.mlp] ...) work here because lib/model/registry.cpp, linked into this
// binary, registers them before main; model_table_test.cpp covers the tables themselves.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "config/config.h"
#include "config/config_test_util.h"
#include "config/fields.h"
#include "config/load.h"
#include "util/error.h"

namespace kiln::config {
namespace {

using test::usage_error;

RunConfig from_toml(const std::string& text, const std::string& source = "x.toml") {
  RunConfig cfg;
  Origins origins;
  apply_toml(cfg, text, source, origins);
  return cfg;
}

// Loads text and validates it, as `kiln train x.toml` would.
void load_and_validate(const std::string& text, const std::string& source = "x.toml") {
  RunConfig cfg;
  Origins origins;
  apply_toml(cfg, text, source, origins);
  validate(cfg, origins);
}

// Field-by-field equality through the field table (doubles compared bit for bit).
void expect_same_config(const RunConfig& a_in, const RunConfig& b_in) {
  RunConfig a = a_in, b = b_in;
  auto fa = fields(a), fb = fields(b);
  ASSERT_EQ(fa.size(), fb.size());
  for (size_t i = 0; i < fa.size(); ++i) {
    std::visit(
        [&](auto* pa) {
          using P = decltype(pa);
          auto* pb = std::get<P>(fb[i].ptr);
          EXPECT_TRUE(*pa == *pb) << "field " << fa[i].key << " differs";
        },
        fa[i].ptr);
  }
}

// ---- loading --------------------------------------------------------------------------

TEST(ConfigLoad, EmptyTomlKeepsDefaults) {
  RunConfig cfg;
  Origins origins;
  apply_toml(cfg, "", "empty.toml", origins);
  expect_same_config(cfg, RunConfig{});
  EXPECT_TRUE(origins.empty());
  apply_toml(cfg, "# only a comment\n\n", "comment.toml", origins);
  expect_same_config(cfg, RunConfig{});
  EXPECT_EQ(to_toml(cfg), to_toml(RunConfig{}));
}

TEST(ConfigLoad, DefaultsAreValid) {
  RunConfig cfg;
  EXPECT_NO_THROW(validate(cfg, {}));
  EXPECT_NO_THROW(load(std::nullopt, {}));
}

TEST(ConfigLoad, NestedSectionsSetValues) {
  RunConfig cfg;
  Origins origins;
  apply_toml(cfg,
             "[optim]\n"
             "lr = 3e-4\n"
             "name = \"sgd\"\n"
             "nesterov = true\n"
             "\n"
             "[model.mlp]\n"
             "hidden = [64, 32]\n"
             "[data]\n"
             "mean = [0.5, 0.25, 0.125]\n"
             "[repro]\n"
             "seed = 42\n",
             "x.toml", origins);
  EXPECT_DOUBLE_EQ(cfg.optim.lr, 3e-4);
  EXPECT_EQ(cfg.optim.name, "sgd");
  EXPECT_TRUE(cfg.optim.nesterov);
  EXPECT_EQ(flat_values(cfg)["model.mlp.hidden"], "[64, 32]");
  EXPECT_EQ(cfg.data.mean, (std::vector<double>{0.5, 0.25, 0.125}));
  EXPECT_EQ(cfg.repro.seed, 42u);
  // Untouched keys keep their defaults.
  EXPECT_EQ(cfg.loader.batch_size, RunConfig{}.loader.batch_size);
  EXPECT_DOUBLE_EQ(cfg.optim.momentum, RunConfig{}.optim.momentum);
  // Origins point at file:line.
  EXPECT_EQ(origins["optim.lr"], "x.toml:2");
  EXPECT_EQ(origins["model.mlp.hidden"], "x.toml:7");
  EXPECT_EQ(origins.count("loader.batch_size"), 0u);
}

TEST(ConfigLoad, DottedKeysEqualSections) {
  const RunConfig cfg = from_toml("optim.lr = 0.5\nloader.batch_size = 64\n");
  EXPECT_DOUBLE_EQ(cfg.optim.lr, 0.5);
  EXPECT_EQ(cfg.loader.batch_size, 64);
}

TEST(ConfigLoad, IntegerAcceptedForFloatKeys) {
  const RunConfig cfg = from_toml("[optim]\nlr = 1\nweight_decay = 0\n[data]\nmean = [0, 1]\nstd = [1, 2]\n");
  EXPECT_EQ(cfg.optim.lr, 1.0);
  EXPECT_EQ(cfg.optim.weight_decay, 0.0);
  EXPECT_EQ(cfg.data.mean, (std::vector<double>{0.0, 1.0}));
  EXPECT_EQ(cfg.data.std, (std::vector<double>{1.0, 2.0}));
}

TEST(ConfigLoad, UnknownKeyNamesKeyLineAndSuggestion) {
  const std::string msg = usage_error([] { from_toml("[optim]\nlr = 0.1\nlrate = 0.2\n"); });
  EXPECT_CONTAINS(msg, "unknown key 'optim.lrate'");
  EXPECT_CONTAINS(msg, "x.toml:3");
  EXPECT_CONTAINS(msg, "did you mean 'optim.lr'");
}

TEST(ConfigLoad, UnknownKeyTypoSuggestsNearest) {
  const std::string msg = usage_error([] { from_toml("[loader]\n\nbatchsize = 32\n", "cfg/run.toml"); });
  EXPECT_CONTAINS(msg, "unknown key 'loader.batchsize'");
  EXPECT_CONTAINS(msg, "cfg/run.toml:3");
  EXPECT_CONTAINS(msg, "did you mean 'loader.batch_size'");
}

TEST(ConfigLoad, UnknownKeyWithNothingCloseHasNoSuggestion) {
  const std::string msg = usage_error([] { from_toml("[optim]\nzzzzzzzzzzzzzzzzzz = 1\n"); });
  EXPECT_CONTAINS(msg, "unknown key 'optim.zzzzzzzzzzzzzzzzzz'");
  EXPECT_EQ(msg.find("did you mean"), std::string::npos) << msg;
}

TEST(ConfigLoad, UnknownSectionSuggestsNearestSection) {
  const std::string msg = usage_error([] { from_toml("[train]\nepochs = 2\n[modle]\nhidden = [8]\n"); });
  EXPECT_CONTAINS(msg, "modle");
  EXPECT_CONTAINS(msg, "x.toml:3");
  EXPECT_CONTAINS(msg, "did you mean 'model'");
}

TEST(ConfigLoad, TopLevelPlainKeyIsAnError) {
  const std::string msg = usage_error([] { from_toml("\nepochs = 3\n"); });
  EXPECT_CONTAINS(msg, "epochs");
  EXPECT_CONTAINS(msg, "x.toml:2");
}

TEST(ConfigLoad, StringForNumberNamesKeyAndLine) {
  const std::string msg = usage_error([] { from_toml("[optim]\nname = \"sgd\"\nlr = \"fast\"\n"); });
  EXPECT_CONTAINS(msg, "optim.lr");
  EXPECT_CONTAINS(msg, "x.toml:3");
  EXPECT_CONTAINS(msg, "string");
}

TEST(ConfigLoad, FloatForIntegerNamesKeyAndLine) {
  const std::string msg = usage_error([] { from_toml("[train]\nepochs = 2.5\n"); });
  EXPECT_CONTAINS(msg, "train.epochs");
  EXPECT_CONTAINS(msg, "x.toml:2");
  EXPECT_CONTAINS(msg, "integer");
}

TEST(ConfigLoad, NonIntegerArrayElementNamesKeyAndLine) {
  std::string msg = usage_error([] { from_toml("[model.mlp]\n\nhidden = [64, \"wide\"]\n"); });
  EXPECT_CONTAINS(msg, "model.mlp.hidden");
  EXPECT_CONTAINS(msg, "x.toml:3");
  msg = usage_error([] { from_toml("[model.cnn]\nchannels = [16, 32.5]\n"); });
  EXPECT_CONTAINS(msg, "model.cnn.channels");
  EXPECT_CONTAINS(msg, "x.toml:2");
  msg = usage_error([] { from_toml("[model.mlp]\nhidden = 64\n"); });  // a scalar where an array belongs
  EXPECT_CONTAINS(msg, "model.mlp.hidden");
}

TEST(ConfigLoad, OtherWrongTypes) {
  EXPECT_CONTAINS(usage_error([] { from_toml("[loader]\nshuffle = 1\n"); }), "loader.shuffle");
  EXPECT_CONTAINS(usage_error([] { from_toml("[train]\nname = 7\n"); }), "train.name");
  EXPECT_CONTAINS(usage_error([] { from_toml("[repro]\nseed = -1\n"); }), "repro.seed");
  EXPECT_CONTAINS(usage_error([] { from_toml("[data]\nmean = [0.5, true]\n"); }), "data.mean");
}

TEST(ConfigLoad, InvalidTomlSyntaxNamesFileAndLine) {
  std::string msg = usage_error([] { from_toml("[optim]\nlr = 0.1\nmomentum = = 0.5\n", "bad.toml"); });
  EXPECT_CONTAINS(msg, "bad.toml:3");
  msg = usage_error([] { from_toml("[optim\nlr = 0.1\n", "bad.toml"); });
  EXPECT_CONTAINS(msg, "bad.toml:1");
}

TEST(ConfigLoad, MissingFileIsUsageError) {
  const std::string msg = usage_error([] { load(std::filesystem::path("/nonexistent/kiln/nothing.toml"), {}); });
  EXPECT_CONTAINS(msg, "nothing.toml");
}

// ---- validation -----------------------------------------------------------------------

TEST(ConfigValidate, OutOfRangeNamesKeyAndOrigin) {
  std::string msg = usage_error([] { load_and_validate("[optim]\nlr = 0\n"); });
  EXPECT_CONTAINS(msg, "optim.lr");
  EXPECT_CONTAINS(msg, "x.toml:2");
  msg = usage_error([] { load_and_validate("[optim]\nlr = -1e-3\n"); });
  EXPECT_CONTAINS(msg, "optim.lr");
  msg = usage_error([] { load_and_validate("[loader]\nbatch_size = 0\n"); });
  EXPECT_CONTAINS(msg, "loader.batch_size");
  msg = usage_error([] { load_and_validate("[model]\ndropout = 1.5\n"); });
  EXPECT_CONTAINS(msg, "model.dropout");
  msg = usage_error([] { load_and_validate("[model.mlp]\nhidden = [64, 0]\n"); });
  EXPECT_CONTAINS(msg, "model.mlp.hidden");
  msg = usage_error([] { load(std::nullopt, {"schedule.gamma=0"}); });
  EXPECT_CONTAINS(msg, "schedule.gamma");
  EXPECT_CONTAINS(msg, "--set");
}

TEST(ConfigValidate, BoundaryValuesAccepted) {
  EXPECT_NO_THROW(load_and_validate("[model]\ndropout = 1.0\n[loader]\nbatch_size = 1\n[schedule]\ngamma = 1\n"));
  EXPECT_NO_THROW(load_and_validate("[model]\ndropout = 0\n[optim]\nlr = 1e-12\n"));
}

TEST(ConfigValidate, InvalidChoiceSuggests) {
  const std::string msg = usage_error([] { load_and_validate("[optim]\nname = \"adam\"\n"); });
  EXPECT_CONTAINS(msg, "optim.name");
  EXPECT_CONTAINS(msg, "adam");
  EXPECT_CONTAINS(msg, "did you mean 'adamw'");
  EXPECT_CONTAINS(msg, "x.toml:2");
  EXPECT_CONTAINS(usage_error([] { load(std::nullopt, {"schedule.name=cosin"}); }), "did you mean 'cosine'");
}

TEST(ConfigValidate, TrainDevice) {
  for (const char* ok : {"auto", "cpu", "cuda", "cuda:0", "cuda:1", "cuda:12"}) {
    RunConfig cfg;
    cfg.train.device = ok;
    EXPECT_NO_THROW(validate(cfg, {})) << ok;
  }
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:1a", "CPU", ""}) {
    RunConfig cfg;
    cfg.train.device = bad;
    const std::string msg = usage_error([&] { validate(cfg, {}); });
    EXPECT_CONTAINS(msg, "train.device");
  }
}

TEST(ConfigValidate, CrossFieldChecks) {
  EXPECT_CONTAINS(usage_error([] { load(std::nullopt, {"data.mean=[0.1, 0.2]"}); }), "data.mean");
  EXPECT_CONTAINS(usage_error([] {
                    load(std::nullopt, {"optim.nesterov=true", "optim.momentum=0"});
                  }),
                  "optim.nesterov");
  EXPECT_CONTAINS(usage_error([] { load(std::nullopt, {"model.mlp.hidden=[]"}); }),
                  "'model.mlp.hidden' at --set model.mlp.hidden=[] must list at least one width");
  EXPECT_CONTAINS(usage_error([] {
                    load(std::nullopt, {"model.name=cnn", "model.cnn.channels=[]"});
                  }),
                  "must list at least one stage");
}

// ---- --set overrides ------------------------------------------------------------------

TEST(ConfigOverride, AppliesTypedValues) {
  RunConfig cfg;
  Origins origins;
  apply_override(cfg, "optim.lr=3e-4", origins);
  apply_override(cfg, "model.name=cnn", origins);
  apply_override(cfg, "model.mlp.hidden=[64,32]", origins);
  apply_override(cfg, "loader.shuffle=false", origins);
  apply_override(cfg, "train.epochs=7", origins);
  apply_override(cfg, "train.name=\"quoted name\"", origins);
  apply_override(cfg, "data.std=[0.5]", origins);
  EXPECT_DOUBLE_EQ(cfg.optim.lr, 3e-4);
  EXPECT_EQ(cfg.model.name, "cnn");
  EXPECT_EQ(cfg.model.tables.count("mlp"), 1u);  // another model's knobs: kept, not used
  cfg.model.name = "mlp";
  EXPECT_EQ(flat_values(cfg)["model.mlp.hidden"], "[64, 32]");
  EXPECT_FALSE(cfg.loader.shuffle);
  EXPECT_EQ(cfg.train.epochs, 7);
  EXPECT_EQ(cfg.train.name, "quoted name");
  EXPECT_EQ(cfg.data.std, (std::vector<double>{0.5}));
  EXPECT_EQ(origins["optim.lr"], "--set optim.lr=3e-4");
}

TEST(ConfigOverride, BareWordsBecomeStringsForStringKeys) {
  RunConfig cfg;
  Origins origins;
  apply_override(cfg, "train.name=true", origins);
  EXPECT_EQ(cfg.train.name, "true");
  apply_override(cfg, "train.name=123", origins);
  EXPECT_EQ(cfg.train.name, "123");
  apply_override(cfg, "train.device=cuda:1", origins);
  EXPECT_EQ(cfg.train.device, "cuda:1");
  apply_override(cfg, "data.dir=/tmp/a=b", origins);  // only the first '=' splits
  EXPECT_EQ(cfg.data.dir, "/tmp/a=b");
}

// optim.fused is "auto" | true | false: a TOML boolean or the string, printed back as the
// boolean (so config.toml round-trips); anything else is refused with the choices.
TEST(ConfigFused, TakesBooleansAndStrings) {
  EXPECT_EQ(RunConfig{}.optim.fused, "auto");
  EXPECT_EQ(from_toml("[optim]\nfused = true\n").optim.fused, "true");
  EXPECT_EQ(from_toml("[optim]\nfused = false\n").optim.fused, "false");
  EXPECT_EQ(from_toml("[optim]\nfused = \"true\"\n").optim.fused, "true");
  EXPECT_EQ(from_toml("[optim]\nfused = \"auto\"\n").optim.fused, "auto");
  RunConfig cfg;
  Origins origins;
  apply_override(cfg, "optim.fused=false", origins);
  EXPECT_EQ(cfg.optim.fused, "false");
  EXPECT_EQ(flat_values(cfg)["optim.fused"], "false");
  EXPECT_EQ(flat_values(RunConfig{})["optim.fused"], "\"auto\"");
  cfg.optim.fused = "true";
  expect_same_config(from_toml(to_toml(cfg)), cfg);
  // Booleans only where "true" and "false" are among a string key's choices.
  EXPECT_CONTAINS(usage_error([] { from_toml("[optim]\nname = true\n"); }), "optim.name");
}

TEST(ConfigFused, OtherValuesAreRefusedWithTheChoices) {
  const std::string msg = usage_error([] { load_and_validate("[optim]\nfused = \"yes\"\n"); }, true);
  EXPECT_CONTAINS(msg, "optim.fused");
  EXPECT_CONTAINS(msg, "auto, true, false");
  EXPECT_CONTAINS(usage_error([] { from_toml("[optim]\nfused = 1\n"); }), "optim.fused");
}

// A complete printout without optim.fused (a run dir written before the key existed) ran
// LibTorch's optimizer and replays with it; a hand-written config without the key gets the
// default.
TEST(ConfigFused, PrintoutsFromBeforeTheKeyReplayUnfused) {
  const auto dir = std::filesystem::temp_directory_path() / ("kiln-fused-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string old = to_toml(RunConfig{});
  const size_t at = old.find("\nfused = ");
  ASSERT_NE(at, std::string::npos) << old;
  old.erase(at + 1, old.find('\n', at + 1) - at);
  auto write = [&](const std::string& name, const std::string& text) {
    const auto p = dir / name;
    std::FILE* f = std::fopen(p.c_str(), "w");
    std::fputs(text.c_str(), f);
    std::fclose(f);
    return p;
  };
  EXPECT_EQ(load(write("old.toml", old), {}).optim.fused, "false");
  EXPECT_EQ(load(write("old.toml", old), {"optim.fused=true"}).optim.fused, "true");
  EXPECT_EQ(load(write("now.toml", to_toml(RunConfig{})), {}).optim.fused, "auto");
  EXPECT_EQ(load(write("mine.toml", "[optim]\nname = \"sgd\"\nlr = 0.1\n"), {}).optim.fused, "auto");
  std::filesystem::remove_all(dir);
}

TEST(ConfigOverride, LaterOverridesWinOverFile) {
  const auto path =
      std::filesystem::temp_directory_path() / ("kiln-config-test-" + std::to_string(::getpid()) + ".toml");
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("[optim]\nlr = 0.5\nmomentum = 0.8\n", f);
    std::fclose(f);
  }
  Origins origins;
  const RunConfig cfg = load(path, {"optim.lr=0.25", "optim.lr=0.125"}, &origins);
  ::unlink(path.c_str());
  EXPECT_EQ(cfg.optim.lr, 0.125);
  EXPECT_EQ(cfg.optim.momentum, 0.8);
  EXPECT_EQ(origins["optim.lr"], "--set optim.lr=0.125");
  EXPECT_EQ(origins["optim.momentum"], path.string() + ":3");
}

TEST(ConfigOverride, BadFormsAreUsageErrors) {
  for (const char* bad : {"optim.lr", "=3", "optim.lr=abc", "optim.lr=", "train.epochs=1.5", "loader.shuffle=maybe",
                          "model.mlp.hidden=[1,", "nosuchkey=1"}) {
    RunConfig cfg;
    Origins origins;
    usage_error([&] { apply_override(cfg, bad, origins); });
  }
}

TEST(ConfigOverride, ErrorsMentionSet) {
  RunConfig cfg;
  Origins origins;
  std::string msg = usage_error([&] { apply_override(cfg, "optim.lr=abc", origins); });
  EXPECT_CONTAINS(msg, "--set");
  EXPECT_CONTAINS(msg, "optim.lr");
  msg = usage_error([&] { apply_override(cfg, "optim.lrate=0.1", origins); });
  EXPECT_CONTAINS(msg, "--set");
  EXPECT_CONTAINS(msg, "unknown key 'optim.lrate'");
  EXPECT_CONTAINS(msg, "did you mean 'optim.lr'");
  msg = usage_error([&] { apply_override(cfg, "train.epochs=2.5", origins); });
  EXPECT_CONTAINS(msg, "--set");
  EXPECT_CONTAINS(msg, "train.epochs");
  // A failed override leaves the value alone.
  EXPECT_EQ(cfg.optim.lr, RunConfig{}.optim.lr);
  EXPECT_EQ(cfg.train.epochs, RunConfig{}.train.epochs);
}

// ---- printing -------------------------------------------------------------------------

RunConfig reload(const RunConfig& cfg) {
  RunConfig back;
  Origins origins;
  apply_toml(back, to_toml(cfg), "printed.toml", origins);
  return back;
}

TEST(ConfigToml, RoundTripDefaults) {
  const RunConfig cfg;
  const RunConfig back = reload(cfg);
  EXPECT_EQ(to_toml(back), to_toml(cfg));
  expect_same_config(back, cfg);
}

TEST(ConfigToml, RoundTripChangedValues) {
  RunConfig cfg;
  cfg.data.dir = "C:\\data\\fashion \"mnist\"";
  cfg.data.mean = {0.1, 0.2, 0.30000000000000004};
  cfg.data.std = {1e-8, 3.0, 123456.789};
  cfg.data.limit_train = 5000;
  cfg.loader.shuffle = false;
  cfg.loader.drop_last = true;
  cfg.loader.batch_size = 256;
  cfg.model.name = "cnn";
  Origins origins;  // a model's knobs are set through its table, as a config file would
  apply_override(cfg, "model.cnn.channels=[8, 16, 32]", origins);
  apply_override(cfg, "model.cnn.fc=7", origins);
  cfg.model.dropout = 0.1;
  cfg.optim.name = "sgd";
  cfg.optim.lr = 0.1;
  cfg.optim.eps = 1e-8;
  cfg.optim.momentum = 0.95;
  cfg.optim.nesterov = true;
  cfg.optim.weight_decay = 5e-4;
  cfg.schedule.name = "onecycle";
  cfg.schedule.div_factor = 3.0;
  cfg.schedule.final_div_factor = 1e20;
  cfg.schedule.min_lr = 1.0 / 3.0;
  cfg.schedule.pct_start = 2.0 / 3.0;
  cfg.train.name = "say \"hi\" \\ back\\slash";
  cfg.train.device = "cuda:3";
  cfg.train.label_smoothing = 0.1;
  cfg.train.grad_clip = 1e-300;
  cfg.repro.seed = 1234567890123456789ull;
  cfg.repro.deterministic = false;
  cfg.checkpoint.every = 100;
  cfg.log.progress = "lines";
  const RunConfig back = reload(cfg);
  EXPECT_EQ(to_toml(back), to_toml(cfg));
  expect_same_config(back, cfg);
  EXPECT_EQ(back.train.name, "say \"hi\" \\ back\\slash");
  EXPECT_EQ(back.optim.lr, 0.1);
  EXPECT_EQ(back.optim.eps, 1e-8);
  EXPECT_EQ(back.schedule.div_factor, 3.0);
}

TEST(ConfigToml, RoundTripControlCharactersInStrings) {
  RunConfig cfg;
  cfg.train.name = std::string("tab\tnewline\ncr\rbell\x07 esc\x1b unit\x1f end");
  const RunConfig back = reload(cfg);
  EXPECT_EQ(back.train.name, cfg.train.name);
  EXPECT_EQ(to_toml(back), to_toml(cfg));
}

TEST(ConfigToml, RoundTripDeleteCharacterInStrings) {
  // TOML forbids an unescaped U+007F (DEL) in basic strings, like U+0000..U+001F.
  RunConfig cfg;
  cfg.train.name = std::string("del\x7f end");
  const RunConfig back = reload(cfg);
  EXPECT_EQ(back.train.name, cfg.train.name);
}

TEST(ConfigToml, EveryKeyInUseIsPrinted) {
  RunConfig cfg;
  const std::string text = "\n" + to_toml(cfg);
  for (const auto& f : fields(cfg)) {
    const std::string& key = f.key;
    const std::string section = "\n[" + key.substr(0, key.rfind('.')) + "]\n";
    const std::string line = "\n" + key.substr(key.rfind('.') + 1) + " = ";
    const auto at = text.find(section);
    ASSERT_NE(at, std::string::npos) << section;
    EXPECT_NE(text.find(line, at), std::string::npos) << key;
  }
}

TEST(ConfigToml, FormatDoubleShortestRoundTrip) {
  EXPECT_EQ(format_double(0.1), "0.1");
  EXPECT_EQ(format_double(3.0), "3.0");
  EXPECT_EQ(format_double(0.0), "0.0");
  EXPECT_EQ(format_double(-2.5), "-2.5");
  EXPECT_EQ(format_double(100.0), "100.0");
  EXPECT_EQ(format_double(0.30000000000000004), "0.30000000000000004");
  const std::string tiny = format_double(1e-8);
  EXPECT_EQ(std::strtod(tiny.c_str(), nullptr), 1e-8);
  EXPECT_LE(tiny.size(), 5u) << tiny;  // "1e-08" (or "1e-8"), not 0.00000001000...
  EXPECT_EQ(format_double(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(format_double(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(format_double(std::nan("")), "nan");
}

TEST(ConfigToml, FormatDoubleIsValidTomlFloatAndExact) {
  const double values[] = {0.1,   0.2,     1.0 / 3.0,     2.0 / 3.0,
                           1e-8,  3e-4,    3.0,           1.0,
                           1e20,  1e22,    1e-300,        5e-324,
                           1e308, -0.5,    123456.0,      0.9999999999999999,
                           65536, 2.5e-17, 6.02214076e23, std::numeric_limits<double>::max()};
  for (double v : values) {
    const std::string s = format_double(v);
    EXPECT_NE(s.find_first_of(".e"), std::string::npos) << s;
    EXPECT_EQ(std::strtod(s.c_str(), nullptr), v) << s;
    // It must also load as a TOML float (e.g. "1e+20" and "1e-08" are valid TOML).
    RunConfig cfg;
    Origins origins;
    EXPECT_NO_THROW(apply_toml(cfg, "[schedule]\nmin_lr = " + s + "\n", "f.toml", origins)) << s;
    EXPECT_EQ(cfg.schedule.min_lr, v) << s;
  }
}

// ---- the shipped default config -------------------------------------------------------

TEST(ConfigDefaultFile, LoadsAndEqualsDefaults) {
  const std::filesystem::path path = KILN_SOURCE_DIR "/configs/default.toml";
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  Origins origins;
  const RunConfig cfg = load(path, {}, &origins);
  EXPECT_EQ(to_toml(cfg), to_toml(RunConfig{}));
  expect_same_config(cfg, RunConfig{});
}

// Every shipped config loads and validates (a renamed key would otherwise rot unnoticed).
TEST(ConfigShipped, EveryConfigLoads) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(KILN_SOURCE_DIR "/configs")) {
    if (e.path().extension() != ".toml") continue;
    EXPECT_NO_THROW(load(e.path(), {})) << e.path();
    ++n;
  }
  EXPECT_GE(n, 2);
}

}  // namespace
}  // namespace kiln::config
