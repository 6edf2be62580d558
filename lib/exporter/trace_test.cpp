// Unit tests for exporter/trace.h on the built-in models: the traced module gives the C++
// net's outputs on a batch size it was not traced with, survives a save and torch::jit::load,
// names its parameters as the net does, and reads them as attributes (changing one changes
// the output), not as constants frozen at trace time.
#include "exporter/trace.h"

#include <gtest/gtest.h>

#include <torch/csrc/jit/serialization/import.h>

#include <sstream>

#include "config/config.h"
#include "model/cnn.h"
#include "model/mlp.h"
#include "model/registry.h"
#include "model/resnet.h"
#include "model/transformer.h"

namespace kiln::exporter {
namespace {

struct Case {
  std::string name;
  model::InputSpec input;
  std::function<at::Tensor(int64_t)> batch;
};

config::ModelConfig small(const std::string& name) {
  config::ModelConfig c;
  c.name = name;
  c.dropout = 0.5;  // eval mode must switch it off in the trace
  if (name == "mlp") c.knobs<model::MlpKnobs>().hidden = {16};
  if (name == "cnn") c.knobs<model::CnnKnobs>().channels = {4, 8};
  if (name == "resnet") c.knobs<model::ResnetKnobs>() = {4, 1};
  if (name == "transformer") {
    auto& k = c.knobs<model::TransformerKnobs>();
    k.layers = 2, k.heads = 2, k.dim = 16, k.dropout = 0.5;
  }
  return c;
}

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

TEST(ExportTrace, BuiltInModelsTraceSaveLoadAndReadTheirWeights) {
  const auto images = [](int64_t b) { return at::randn({b, 1, 28, 28}); };
  const std::vector<Case> cases = {{"mlp", {{1, 28, 28}, 10}, images},
                                   {"cnn", {{1, 28, 28}, 10}, images},
                                   {"resnet", {{1, 28, 28}, 10}, images},
                                   {"transformer", {{12}, 50}, [](int64_t b) {
                                      return at::randint(0, 50, {b, 12});
                                    }}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    torch::manual_seed(1);
    model::NetPtr net = model::build(small(c.name), c.input);
    net->eval();
    torch::NoGradGuard no_grad;
    auto cu = std::make_shared<torch::jit::CompilationUnit>();
    torch::jit::Module m = mirror(*net, cu);
    trace_forward(m, c.batch(2), [&](const at::Tensor& x) { return net->forward(x); });

    const at::Tensor x = c.batch(3);
    const at::Tensor want = net->forward(x);
    EXPECT_EQ(max_diff(m.forward({x}).toTensor(), want), 0.0) << "the trace runs the same kernels";

    std::stringstream archive;
    m.save(archive);
    torch::jit::Module loaded = torch::jit::load(archive);
    const at::Tensor got = loaded.forward({x}).toTensor();
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_EQ(max_diff(got, want), 0.0);

    std::vector<std::string> names, want_names;
    for (const auto& p : loaded.named_parameters()) names.push_back(p.name);
    for (const auto& p : net->named_parameters()) want_names.push_back(p.key());
    EXPECT_EQ(names, want_names);

    // A weight read as an attribute: doubling every parameter must change the output.
    for (const auto& p : loaded.named_parameters()) p.value.mul_(2);
    EXPECT_GT(max_diff(loaded.forward({x}).toTensor(), want), 1e-3);
  }
}

}  // namespace
}  // namespace kiln::exporter
