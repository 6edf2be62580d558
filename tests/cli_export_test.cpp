// End-to-end tests of `kiln export` and `kiln predict`: tiny real runs (mlp and cnn on
// Fashion-MNIST, a small resnet, a byte-level transformer) are exported in both formats;
// the TorchScript module is loaded here with torch::jit::load and compared with the C++ net
// rebuilt from the run dir (its uint8 input normalised through the loader's table), and in
// the venv's PyTorch (tests/interop/export_check.py: torch.jit.load, safetensors against
// the checkpoint, PIL-read PNGs against kiln predict's logits). Bad input is exit 2 naming
// the file, with nothing written.
#include <gtest/gtest.h>

#include <torch/csrc/jit/serialization/import.h>

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "cli_helpers.h"
#include "data/augment.h"
#include "image_files.h"
#include "run/run_model.h"

namespace {

using kiln_test::kiln;
using kiln_test::RunResult;
using kiln_test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// One tiny run per model, trained once for the suite.
class CliExport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { tmp_ = new TempDir("export"); }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }
  static fs::path trained(const std::string& model, std::vector<std::string> extra = {}) {
    const fs::path run = tmp_->path() / model;
    if (fs::exists(run / "summary.json")) return run;
    std::vector<std::string> a = {"train",
                                  "--set",
                                  "model.name=" + model,
                                  "--set",
                                  "data.limit_train=256",
                                  "--set",
                                  "data.limit_test=64",
                                  "--set",
                                  "train.epochs=1",
                                  "--set",
                                  "log.progress=off",
                                  "--set",
                                  "train.threads=2",
                                  "--json",
                                  "--run-dir",
                                  run.string()};
    a.insert(a.end(), extra.begin(), extra.end());
    kiln_test::train_summary(kiln(a), tmp_->path());
    return run;
  }
  static fs::path tmp() { return tmp_->path(); }
  static TempDir* tmp_;
};
TempDir* CliExport::tmp_ = nullptr;

json export_json(const fs::path& run, const std::string& format, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"export", run.string(), "--format", format, "--json"};
  a.insert(a.end(), extra.begin(), extra.end());
  const RunResult r = kiln_test::run(kiln(a));
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  return kiln_test::last_json_line(r.out).value_or(json::object());
}

// The exported module (torch::jit::load, as a C++ user would) against the C++ net rebuilt
// from the run dir, on `x`: the net gets what the loader would give it.
double cpp_diff(const fs::path& run, const fs::path& exported, const at::Tensor& x) {
  const kiln::run::RunModel rm = kiln::run::read_run_model(run);
  kiln::model::NetPtr net = rm.build();
  kiln::checkpoint::load_weights(rm.dir.final_checkpoint(), *net);
  net->eval();
  torch::NoGradGuard no_grad;
  at::Tensor input = x;
  if (x.scalar_type() == at::kByte) {
    const std::vector<float> lut = kiln::data::normalize_lut(rm.cfg.data.mean, rm.cfg.data.std);
    const int64_t C = x.size(1);
    const at::Tensor table = at::tensor(lut);
    input =
        table.index_select(0, (x.to(at::kLong) + (at::arange(C) * 256).view({1, C, 1, 1})).flatten()).view(x.sizes());
  } else if (rm.cfg.data.dataset == "csv") {
    // As data/table.cpp encodes a row: (v - mean) / std in double, stored as float32.
    const json pre = json::parse(kiln_test::read_file(rm.dir.preprocessing()));
    input = x.clone();
    int64_t col = 0;
    for (const json& f : pre["features"]) {
      if (!f.contains("mean")) break;
      input.select(1, col).copy_((x.select(1, col).to(at::kDouble) - f["mean"].get<double>()) / f["std"].get<double>());
      ++col;
    }
  }
  const at::Tensor want = net->forward(input);
  torch::jit::ExtraFilesMap extra{{"kiln.json", ""}};
  torch::jit::Module m = torch::jit::load(exported.string(), c10::Device(c10::kCPU), extra);
  EXPECT_EQ(json::parse(extra["kiln.json"])["architecture"], rm.cfg.model.name);
  const at::Tensor got = m.forward({x}).toTensor();
  EXPECT_EQ(got.sizes(), want.sizes());
  return (got - want).abs().max().item<double>();
}

RunResult python(std::vector<std::string> args) {
  args.insert(args.begin(), {KILN_TEST_PYTHON, std::string(KILN_SOURCE_DIR) + "/tests/interop/export_check.py"});
  return kiln_test::run(args, {{}, 300s});
}

// Fashion-MNIST-sized gray PNGs (28x28: the resize is the identity, so PIL reads the same pixels).
std::vector<std::string> write_pngs(const fs::path& dir, int n) {
  fs::create_directories(dir);
  std::vector<std::string> files;
  for (int i = 0; i < n; ++i) {
    const fs::path p = dir / ("img" + std::to_string(i) + ".png");
    kiln_test::write_bytes(p, kiln_test::encode_png(kiln_test::pattern(28, 28, 1, uint32_t(10 + i))));
    files.push_back(p.string());
  }
  return files;
}

TEST_F(CliExport, MlpAndCnnBothFormatsMatchKilnInCppAndPython) {
  const std::string py = KILN_TEST_PYTHON;
  for (const std::string model : {"mlp", "cnn"}) {
    SCOPED_TRACE(model);
    const fs::path run = trained(model);
    const json ts = export_json(run, "torchscript");
    EXPECT_EQ(ts["path"], (run / "export" / "model.pt").string());
    EXPECT_EQ(ts["architecture"], model);
    EXPECT_LE(ts["max_abs_diff"].get<double>(), 1e-5) << "traced against the net, at export";
    const json st = export_json(run, "safetensors");
    EXPECT_EQ(st["path"], (run / "export" / "model.safetensors").string());
    EXPECT_GT(st["tensors"].get<int64_t>(), 0);

    torch::manual_seed(3);
    const double d = cpp_diff(run, ts["path"].get<std::string>(), at::randint(0, 256, {7, 1, 28, 28}, at::kByte));
    std::cout << "[ export ] " << model << ": torch::jit::load vs the C++ net, max |diff| = " << d << "\n";
    EXPECT_LE(d, 1e-5);

    const std::vector<std::string> pngs = write_pngs(tmp() / (model + "_png"), 4);
    std::vector<std::string> pa = {"predict", ts["path"], "--json", "--logits", "--top", "3"};
    pa.insert(pa.end(), pngs.begin(), pngs.end());
    const RunResult p = kiln_test::run(kiln(pa));
    ASSERT_EQ(p.exit_code, 0) << p.describe();
    const auto lines = kiln_test::split_lines(p.out);
    ASSERT_EQ(lines.size(), pngs.size());
    for (size_t i = 0; i < lines.size(); ++i) {
      const json j = json::parse(lines[i]);
      EXPECT_EQ(j["file"], pngs[i]);
      ASSERT_EQ(j["top"].size(), 3u);
      EXPECT_GE(j["top"][0]["probability"].get<double>(), j["top"][1]["probability"].get<double>());
      EXPECT_EQ(j["logits"].size(), 10u);
    }
    if (py.empty()) continue;
    const fs::path preds = tmp() / (model + "_predictions.jsonl");
    kiln_test::write_file(preds, p.out);
    const RunResult c = python({ts["path"], st["path"], (run / "checkpoints" / "final.pt").string(), preds.string()});
    ASSERT_EQ(c.exit_code, 0) << c.describe();
    std::cout << "[ export ] " << model << " in PyTorch: " << c.out;
  }
  if (py.empty()) GTEST_SKIP() << "KILN_TEST_PYTHON is not set: the PyTorch half did not run";
}

TEST_F(CliExport, ResnetAndTransformerExportToo) {
  const std::string py = KILN_TEST_PYTHON;
  const fs::path resnet = trained("resnet", {"--set", "model.resnet.width=4", "--set", "model.resnet.blocks=1"});
  const fs::path lm = kiln_test::run(kiln({"train", std::string(KILN_SOURCE_DIR) + "/configs/lm_bytes.toml", "--set",
                                           "train.max_steps=3", "--set", "data.limit_test=20", "--set",
                                           "data.seq_len=32", "--set", "model.transformer.layers=1", "--set",
                                           "model.transformer.dim=32", "--set", "log.progress=off", "--set",
                                           "train.threads=2", "--json", "--run-dir", (tmp() / "lm").string()}),
                                     {{}, 300s})
                                  .exit_code == 0
                          ? tmp() / "lm"
                          : fs::path();
  ASSERT_FALSE(lm.empty()) << "the tiny language model did not train";
  for (const fs::path& run : {resnet, lm}) {
    SCOPED_TRACE(run.filename().string());
    const json ts = export_json(run, "torchscript");
    const json st = export_json(run, "safetensors");
    const bool tokens = run == lm;
    torch::manual_seed(4);
    const at::Tensor x =
        tokens ? at::randint(0, 256, {3, 32}, at::kLong) : at::randint(0, 256, {3, 1, 28, 28}, at::kByte);
    const double d = cpp_diff(run, ts["path"].get<std::string>(), x);
    std::cout << "[ export ] " << run.filename().string() << ": torch::jit::load vs the C++ net, max |diff| = " << d
              << "\n";
    EXPECT_LE(d, 1e-5);
    if (py.empty()) continue;
    const RunResult c = python({ts["path"], st["path"], (run / "checkpoints" / "final.pt").string()});
    ASSERT_EQ(c.exit_code, 0) << c.describe();
    std::cout << "[ export ] " << run.filename().string() << " in PyTorch: " << c.out;
  }
  // A language model is not an image classifier: predict says so and what to use.
  std::vector<std::string> pngs = write_pngs(tmp() / "lm_png", 1);
  const RunResult p = kiln_test::run(kiln({"predict", (lm / "export" / "model.pt").string(), pngs[0]}));
  EXPECT_EQ(p.exit_code, 2) << p.describe();
  EXPECT_NE(p.err.find("kiln generate"), std::string::npos) << p.err;
}

TEST_F(CliExport, TableModelStandardisesRawFeaturesItself) {
  const fs::path run = tmp() / "table";
  kiln_test::train_summary(kiln({"train", std::string(KILN_SOURCE_DIR) + "/configs/tabular_weather.toml", "--set",
                                 "train.epochs=1", "--set", "log.progress=off", "--json", "--run-dir", run.string()}),
                           tmp());
  const json ts = export_json(run, "torchscript");
  const json st = export_json(run, "safetensors");
  const json pre = json::parse(kiln_test::read_file(run / "preprocessing.json"));
  // Raw rows: the numeric columns near their training statistics, then 0/1 one-hot columns.
  const int64_t width = int64_t(pre["features"].size());
  torch::manual_seed(5);
  at::Tensor x = at::randint(0, 2, {6, width}).to(at::kFloat);
  for (int64_t c = 0; c < width; ++c) {
    const json& f = pre["features"][size_t(c)];
    if (!f.contains("mean")) continue;
    x.select(1, c).copy_(at::randn({6}) * f["std"].get<double>() + f["mean"].get<double>());
  }
  const double d = cpp_diff(run, ts["path"].get<std::string>(), x);
  std::cout
      << "[ export ] table mlp: torch::jit::load on raw features vs the C++ net on standardised ones, max |diff| = "
      << d << "\n";
  EXPECT_LE(d, 1e-5);
  if (std::string(KILN_TEST_PYTHON).empty()) GTEST_SKIP() << "KILN_TEST_PYTHON is not set";
  const RunResult c = python({ts["path"], st["path"], (run / "checkpoints" / "final.pt").string()});
  ASSERT_EQ(c.exit_code, 0) << c.describe();
  std::cout << "[ export ] table mlp in PyTorch: " << c.out;
}

TEST_F(CliExport, BadInputIsExit2NamingTheFileAndWritesNothing) {
  const fs::path run = trained("mlp");
  // A run dir without final.pt: a copy of the run, its final checkpoint removed.
  const fs::path unfinished = tmp() / "unfinished";
  fs::create_directories(unfinished / "checkpoints");
  for (const char* f : {"config.toml", "manifest.json"}) fs::copy_file(run / f, unfinished / f);
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::string not_run = (tmp() / "mlp_png").string();
  fs::create_directories(not_run);
  kiln_test::write_file(tmp() / "garbage.pt", "not a checkpoint");
  const std::vector<Case> cases = {
      {{"export", not_run, "--format", "torchscript"}, not_run + " is not a kiln run dir"},
      {{"export", unfinished.string(), "--format", "safetensors"}, "has no final checkpoint"},
      {{"export", run.string(), "--format", "onnx"}, "onnx"},
      {{"export", run.string(), "--format", "torchscript", "--checkpoint", (tmp() / "garbage.pt").string()},
       (tmp() / "garbage.pt").string()},
      {{"export", run.string(), "--format", "torchscript", "-o", (tmp() / "no_such_dir" / "m.pt").string()},
       (tmp() / "no_such_dir").string()},
      {{"export", run.string(), "--format", "safetensors", "-o", tmp().string()}, "is a directory"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args[1] + " " + c.args[3]);
    const auto before = kiln_test::tree(tmp());
    const RunResult r = kiln_test::run(kiln(c.args));
    EXPECT_EQ(r.exit_code, 2) << r.describe();
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(kiln_test::tree(tmp()), before) << "nothing written";
  }
  const RunResult hint = kiln_test::run(kiln({"export", unfinished.string(), "--format", "safetensors"}));
  EXPECT_NE(hint.err.find("--resume auto"), std::string::npos) << hint.err;
}

TEST_F(CliExport, PredictRefusesWhatIsNotAModelOrAnImage) {
  const fs::path run = trained("mlp");
  const json ts = export_json(run, "torchscript");
  const fs::path model = ts["path"].get<std::string>();
  const std::vector<std::string> pngs = write_pngs(tmp() / "good_png", 2);
  kiln_test::write_file(tmp() / "broken.png", std::string("\x89PNG\r\n\x1a\n", 8) + "truncated");
  kiln_test::write_file(tmp() / "text.pt", "hello");
  // A TorchScript archive without kiln.json: the checkpoint is one.
  const std::string plain = (run / "checkpoints" / "final.pt").string();
  const fs::path empty_dir = tmp() / "no_images";
  fs::create_directories(empty_dir);
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"predict", (tmp() / "text.pt").string(), pngs[0]}, (tmp() / "text.pt").string()},
      {{"predict", plain, pngs[0]}, plain + " is not an exported kiln model"},
      {{"predict", model.string(), pngs[0], (tmp() / "broken.png").string()}, (tmp() / "broken.png").string()},
      {{"predict", model.string(), (tmp() / "missing.png").string()}, (tmp() / "missing.png").string()},
      {{"predict", model.string(), empty_dir.string()}, empty_dir.string()},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args.back());
    const RunResult r = kiln_test::run(kiln(c.args));
    EXPECT_EQ(r.exit_code, 2) << r.describe();
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << "no partial output: " << r.out;
  }
  // A folder: every image in name order, plain text output with the top classes.
  const RunResult r = kiln_test::run(kiln({"predict", model.string(), (tmp() / "good_png").string(), "-k", "2"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto lines = kiln_test::split_lines(r.out);
  ASSERT_EQ(lines.size(), 2u * 3u) << r.out;
  EXPECT_EQ(lines[0], pngs[0]);
  EXPECT_EQ(lines[3], pngs[1]);
}

}  // namespace
