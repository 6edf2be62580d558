// model::BatchNorm2d with model.sync_bn: two ranks (a thread each, Gloo over loopback), each
// with half of a batch, normalise as one process does over the whole batch: the same outputs,
// the same gradients (after DDP's mean over ranks) and the same running statistics, to float
// rounding; and without the group each rank's own statistics, which differ (the test can fail).
#include "model/batch_norm.h"

#include <gtest/gtest.h>

#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include <future>

#include "dist/group.h"
#include "dist/launch.h"

namespace kiln::model {
namespace {

using namespace std::chrono_literals;

#if defined(__SANITIZE_THREAD__)
constexpr bool kUnderTsan = true;  // c10d synchronises inside uninstrumented libtorch (group_test.cpp)
#else
constexpr bool kUnderTsan = false;
#endif

torch::nn::Sequential net_of() {
  at::manual_seed(3);  // the same weights on every rank and in the reference
  return torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 4, 3).padding(1)), BatchNorm2d(4),
                               torch::nn::ReLU(), torch::nn::AdaptiveAvgPool2d(1), torch::nn::Flatten(),
                               torch::nn::Linear(4, 3));
}

// 16 samples of [2, 5, 5] whose channels have unlike means, and regression targets.
std::pair<at::Tensor, at::Tensor> data() {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(11);
  at::Tensor x = at::randn({16, 2, 5, 5}, gen);
  x.narrow(0, 8, 8).mul_(3).add_(2);  // rank 1's half is unlike rank 0's: local stats differ
  return {x, at::randn({16, 3}, gen)};
}

struct Result {
  at::Tensor out;
  std::vector<at::Tensor> grads, buffers;
};

Result step(torch::nn::Sequential& net, const at::Tensor& x, const at::Tensor& y) {
  net->train();
  Result r;
  r.out = net->forward(x);
  torch::nn::functional::mse_loss(r.out, y).backward();
  for (const auto& p : net->parameters()) r.grads.push_back(p.grad().clone());
  for (const auto& b : net->buffers()) r.buffers.push_back(b.clone());
  return r;
}

void two_ranks(bool sync, Result (&got)[2]) {
  const int port = dist::free_port();
  const auto [x, y] = data();
  // Built here, one after the other: the global generator is not for two threads at once.
  torch::nn::Sequential nets[2] = {net_of(), net_of()};
  auto run = [&, x = x, y = y](int64_t rank) {
    dist::World w;
    w.rank = rank;
    w.size = 2;
    w.master_port = port;
    dist::Group g(w, c10::kCPU, 20s);
    auto& net = nets[rank];
    EXPECT_EQ(sync_batch_norms(*net, sync ? &g : nullptr), 1);
    Result r = step(net, x.narrow(0, 8 * rank, 8), y.narrow(0, 8 * rank, 8));
    g.allreduce_sum(r.grads);  // DDP's mean over the ranks
    for (auto& t : r.grads) t.div_(2);
    got[rank] = r;
  };
  auto a = std::async(std::launch::async, run, 0);
  auto b = std::async(std::launch::async, run, 1);
  a.get();
  b.get();
}

// The largest difference between a and b relative to b's largest magnitude, over all the
// tensors together (a conv bias before batch norm has a gradient of ~1e-9: noise on its own).
double worst(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  double diff = 0, scale = 1e-30;
  for (size_t i = 0; i < a.size(); ++i) {
    const at::Tensor x = a[i].to(at::kDouble), y = b[i].to(at::kDouble);
    diff = std::max(diff, (x - y).abs().max().item<double>());
    scale = std::max(scale, y.abs().max().item<double>());
  }
  return diff / scale;
}

TEST(SyncBatchNorm, TwoHalvesNormaliseAsTheWholeBatch) {
  if (kUnderTsan) GTEST_SKIP() << "c10d synchronises inside uninstrumented libtorch: TSan cannot judge it";
  const auto [x, y] = data();
  auto ref_net = net_of();
  const Result ref = step(ref_net, x, y);  // one process, the whole batch, LibTorch's batch norm
  Result synced[2], local[2];
  two_ranks(true, synced);
  two_ranks(false, local);
  for (int r = 0; r < 2; ++r) {
    // Outputs: each rank's half of the whole batch's.
    EXPECT_TRUE(at::allclose(synced[r].out, ref.out.narrow(0, 8 * r, 8), 1e-5, 1e-6)) << "rank " << r;
    // Gradients (with the mean over ranks) and running statistics: one process's.
    EXPECT_LT(worst(synced[r].grads, ref.grads), 1e-5) << "rank " << r;
    EXPECT_LT(worst(synced[r].buffers, ref.buffers), 1e-6) << "rank " << r;
    // Each rank's own statistics give something else.
    EXPECT_GT(worst(local[r].grads, ref.grads), 1e-2) << "rank " << r;
    EXPECT_GT(worst(local[r].buffers, ref.buffers), 1e-2) << "rank " << r;
  }
  // Both ranks hold the same running statistics (BN's buffers no longer rank-local).
  EXPECT_EQ(worst(synced[0].buffers, synced[1].buffers), 0.0);
}

TEST(SyncBatchNorm, WithoutAGroupOrInEvaluationItIsLibTorchsBatchNorm) {
  const at::Tensor x = data().first;
  // No group: the base's forward, bit for bit (what every run without sync_bn computes).
  torch::nn::BatchNorm2d plain(2);
  BatchNorm2d ours(2);
  EXPECT_TRUE(at::equal(plain->forward(x), ours->forward(x)));
  EXPECT_TRUE(at::equal(plain->running_var, ours->running_var));
  plain->eval();
  ours->eval();
  EXPECT_TRUE(at::equal(plain->forward(x), ours->forward(x)));
  // The same parameter and buffer names: checkpoints and exports do not see the difference.
  EXPECT_EQ(plain->named_parameters().keys(), ours->named_parameters().keys());
  EXPECT_EQ(plain->named_buffers().keys(), ours->named_buffers().keys());
}

}  // namespace
}  // namespace kiln::model
