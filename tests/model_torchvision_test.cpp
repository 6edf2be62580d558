// kiln's ResNet-18/34/50 shapes against real torchvision: the same number of parameters per
// depth (which pins the stages, the block types, the widths and the shortcuts), and every
// model on image-folder sizes: a 64 px input through the ImageNet stem, a 96 px one through
// the cnn's adaptive pooling, forward and backward.
#include <gtest/gtest.h>

#include <string>

#include "cli_helpers.h"
#include "config/config.h"
#include "model/cnn.h"
#include "model/registry.h"
#include "model/resnet.h"
#include "optuna/optuna_reference.h"
#include "util/error.h"

namespace {

using kiln::model::InputSpec;

kiln::config::ModelConfig resnet(int64_t depth, const std::string& stem = "auto") {
  kiln::config::ModelConfig c;
  c.name = "resnet";
  auto& k = c.knobs<kiln::model::ResnetKnobs>();
  k.width = 64;
  k.depth = depth;
  k.stem = stem;
  return c;
}

TEST(ModelTorchvision, ResnetDepthsHaveTorchvisionsParameterCounts) {
  const std::string py = KILN_TEST_PYTHON;
  if (py.empty()) GTEST_SKIP() << "KILN_TEST_PYTHON is not set";
  const auto r = kiln_test::run({py, "-c",
                                 "import torchvision.models as m\n"
                                 "for f in (m.resnet18, m.resnet34, m.resnet50):\n"
                                 "    print(sum(p.numel() for p in f(num_classes=10).parameters()))\n"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto lines = kiln_test::split_lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  int i = 0;
  for (int64_t depth : {18, 34, 50}) {
    const auto net = kiln::model::build(resnet(depth, "imagenet"), InputSpec{{3, 224, 224}, 10});
    EXPECT_EQ(kiln::model::count_parameters(*net), std::stoll(lines[size_t(i++)])) << "ResNet-" << depth;
  }
}

TEST(ModelTorchvision, ImageFolderSizesGoForwardAndBackward) {
  struct Case {
    kiln::config::ModelConfig cfg;
    InputSpec in;
  };
  kiln::config::ModelConfig cnn;
  cnn.name = "cnn";
  cnn.knobs<kiln::model::CnnKnobs>().channels = {4, 8};
  for (const Case& c :
       {Case{resnet(18), {{3, 64, 64}, 5}}, Case{resnet(50, "small"), {{3, 32, 32}, 5}}, Case{cnn, {{3, 96, 80}, 5}}}) {
    torch::manual_seed(0);
    const auto net = kiln::model::build(c.cfg, c.in);
    net->train();
    const auto y = net->forward(at::randn({2, 3, c.in.shape[1], c.in.shape[2]}));
    ASSERT_EQ(y.sizes().vec(), (std::vector<int64_t>{2, 5})) << c.cfg.name;
    y.sum().backward();
    for (const auto& p : net->named_parameters(true)) ASSERT_TRUE(p.value().grad().defined()) << p.key();
  }
}

TEST(ModelTorchvision, ResnetRefusesADepthItDoesNotHave) {
  EXPECT_THROW(kiln::model::build(resnet(26), InputSpec{{3, 64, 64}, 5}), kiln::Error);
}

}  // namespace
