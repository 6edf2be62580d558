// End-to-end tests of per-model config tables through the `kiln` binary: an old flat key
// ([model] hidden) is exit 2 naming its new key, --print-config and the run dir's
// config.toml show the chosen model's table only, another model's knobs are accepted with
// a warning, and a sweep can vary model.name with each model's knobs in its space.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_helpers.h"

namespace {

using kiln_test::kiln;
using kiln_test::read_file;
using kiln_test::RunResult;
using kiln_test::TempDir;
using kiln_test::tree;
using kiln_test::write_file;
namespace fs = std::filesystem;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(CliModelTables, OldFlatKeyInAFileIsExit2NamingTheNewKey) {
  TempDir tmp("model-tables");
  write_file(tmp / "my.toml", "[train]\nepochs = 1\n\n[model]\nhidden = [64]\n");
  const RunResult r = kiln_test::run(kiln({"train", "my.toml"}), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_TRUE(has(r.err, "kiln: error: 'model.hidden' at my.toml:5 moved to 'model.mlp.hidden'")) << r.err;
  EXPECT_TRUE(has(r.err, "hint: each model's knobs are in its own table: [model.mlp] hidden = ...")) << r.err;
  EXPECT_EQ(tree(tmp.path()), std::vector<std::string>{"my.toml"});  // nothing written
}

TEST(CliModelTables, OldFlatKeyInASetIsExit2NamingTheNewKey) {
  TempDir tmp("model-tables");
  for (const auto& [old_key, now] : std::vector<std::pair<std::string, std::string>>{
           {"model.channels=[8]", "model.cnn.channels"}, {"model.blocks=1", "model.resnet.blocks"}}) {
    const RunResult r = kiln_test::run(kiln({"train", "--set", old_key, "--run-dir", "out"}), {tmp.path()});
    EXPECT_EQ(r.exit_code, 2) << r.describe();
    EXPECT_TRUE(has(r.err, "at --set " + old_key + " moved to '" + now + "'")) << r.err;
  }
  EXPECT_TRUE(tree(tmp.path()).empty());
}

TEST(CliModelTables, PrintConfigShowsTheChosenModelsTableOnly) {
  TempDir tmp("model-tables");
  RunResult r = kiln_test::run(kiln({"train", "--print-config"}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(has(r.out, "\n[model.mlp]\nhidden = [512, 256] ")) << r.out;
  EXPECT_FALSE(has(r.out, "[model.cnn]") || has(r.out, "[model.resnet]")) << r.out;
  r = kiln_test::run(kiln({"train", "--set", "model.name=resnet", "--set", "model.mlp.hidden=[8]", "--print-config"}),
                     {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(has(r.out, "\n[model.resnet]\nwidth = 16 ")) << r.out;
  EXPECT_TRUE(has(r.out, "\nblocks = 2 ")) << r.out;
  EXPECT_FALSE(has(r.out, "[model.mlp]")) << r.out;
  // The other model's knob was accepted, and kiln says it is not used.
  EXPECT_TRUE(has(r.err, "'model.mlp.hidden' at --set model.mlp.hidden=[8] is not used: model.name is 'resnet'"))
      << r.err;
}

TEST(CliModelTables, RunDirConfigHoldsTheChosenModelsTableAndReproduces) {
  TempDir tmp("model-tables");
  const std::vector<std::string> args = {"train",
                                         "--set",
                                         "model.name=cnn",
                                         "--set",
                                         "model.cnn.channels=[4]",
                                         "--set",
                                         "model.cnn.fc=16",
                                         "--set",
                                         "model.mlp.hidden=[8]",
                                         "--set",
                                         "data.limit_train=256",
                                         "--set",
                                         "data.limit_test=64",
                                         "--set",
                                         "loader.batch_size=64",
                                         "--set",
                                         "train.max_steps=2",
                                         "--set",
                                         "log.progress=off",
                                         "--json",
                                         "--run-dir"};
  auto with_dir = [&](const std::string& d) {
    auto a = args;
    a.push_back(d);
    return kiln(a);
  };
  const RunResult r = kiln_test::run(with_dir("run"), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const std::string saved = read_file(tmp / "run" / "config.toml");
  EXPECT_TRUE(has(saved, "\n[model.cnn]\nchannels = [4] ")) << saved;
  EXPECT_TRUE(has(saved, "\nfc = 16 ")) << saved;
  EXPECT_FALSE(has(saved, "[model.mlp]")) << saved;
  // The saved config alone trains the same weights.
  const RunResult again =
      kiln_test::run(kiln({"train", "run/config.toml", "--json", "--run-dir", "again"}), {tmp.path()});
  ASSERT_EQ(again.exit_code, 0) << again.describe();
  const auto a = kiln_test::last_json_line(r.out), b = kiln_test::last_json_line(again.out);
  ASSERT_TRUE(a && b);
  EXPECT_EQ((*a)["weights_sha256"], (*b)["weights_sha256"]);
  EXPECT_EQ((*a)["parameters"], (*b)["parameters"]);
}

TEST(CliModelTables, SweepVariesTheModelWithEachModelsKnobs) {
  TempDir tmp("model-tables");
  write_file(
      tmp / "s.toml",
      "name = \"t\"\n[objective]\nmetric = \"test_accuracy\"\n[sampler]\nname = \"grid\"\n[pruner]\nname = \"none\"\n"
      "[base.data]\nlimit_train = 256\nlimit_test = 64\n[base.loader]\nbatch_size = 64\n"
      "[base.train]\nepochs = 1\n[base.log]\nprogress = \"off\"\n"
      "[base.model.mlp]\nhidden = [32]\n[base.model.cnn]\nchannels = [4]\n"
      "[space.\"model.name\"]\ntype = \"categorical\"\nchoices = [\"mlp\", \"cnn\"]\n"
      "[space.model.cnn.fc]\ntype = \"categorical\"\nchoices = [16]\n");
  // Every trial gets --set model.cnn.fc=16, the mlp ones too: they must accept it.
  const RunResult r = kiln_test::run(kiln({"sweep", "s.toml", "--trials", "2", "--dir", "sw", "--json"}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto j = kiln_test::last_json_line(r.out);
  ASSERT_TRUE(j) << r.describe();
  EXPECT_EQ((*j)["complete"], 2);
  int mlp = 0, cnn = 0;
  for (const char* t : {"0000", "0001"}) {
    const std::string cfg = read_file(tmp / "sw" / "trials" / t / "run" / "config.toml");
    if (has(cfg, "[model.mlp]\nhidden = [32] ") && !has(cfg, "[model.cnn]")) ++mlp;
    if (has(cfg, "[model.cnn]\nchannels = [4] ") && has(cfg, "\nfc = 16 ") && !has(cfg, "[model.mlp]")) ++cnn;
  }
  EXPECT_EQ(mlp, 1);
  EXPECT_EQ(cnn, 1);
}

}  // namespace
