// dist::Group and dist::GradSync with two ranks in one process (a thread each, Gloo over
// loopback): collectives, the store exchange, gradients averaged by the Reducer exactly as
// the mean of the ranks' own gradients (also with accumulation), and a peer that never comes
// failing within the timeout with the address in the message.
#include "dist/group.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <chrono>
#include <functional>
#include <future>

#include "dist/grad_sync.h"
#include "dist/launch.h"
#include "dist/nccl_backend.h"

namespace kiln::dist {
namespace {

using namespace std::chrono_literals;

// TSan cannot judge c10d: Gloo's work objects and c10d's FlightRecorder synchronise through
// mutexes and condition variables inside uninstrumented libtorch_cpu, so every collective
// reports a "race" there (seen: ~AsyncAllreduceWork's pthread_cond_destroy). kiln's dist code
// starts no thread of its own, so these tests skip under TSan rather than suppress libtorch.
#if defined(__SANITIZE_THREAD__)
constexpr bool kUnderTsan = true;
#else
constexpr bool kUnderTsan = false;
#endif
#define KILN_SKIP_UNDER_TSAN() \
  if (kUnderTsan) GTEST_SKIP() << "c10d synchronises inside uninstrumented libtorch: TSan cannot judge it"

World world(int64_t rank, int64_t size, int port) {
  World w;
  w.rank = rank;
  w.size = size;
  w.local_rank = rank;
  w.master_port = port;
  w.launcher = "test";
  return w;
}

// Runs f(rank) on two threads as ranks 0 and 1 of one job; rethrows the first failure.
void two_ranks(const std::function<void(Group&)>& f) {
  const int port = free_port();
  auto run = [&](int64_t r) {
    Group g(world(r, 2, port), c10::kCPU, 20s);
    f(g);
  };
  auto a = std::async(std::launch::async, run, 0);
  auto b = std::async(std::launch::async, run, 1);
  a.get();
  b.get();
}

TEST(DistGroup, CollectivesAndTheStoreExchange) {
  KILN_SKIP_UNDER_TSAN();
  two_ranks([](Group& g) {
    std::vector<at::Tensor> t = {at::full({3}, double(g.rank() + 1))};
    g.allreduce_sum(t);
    EXPECT_TRUE(at::equal(t[0], at::full({3}, 3.0)));
    std::vector<at::Tensor> m = {at::full({2}, double(g.rank()))};
    g.allreduce_max(m);
    EXPECT_TRUE(at::equal(m[0], at::full({2}, 1.0)));
    std::vector<at::Tensor> b = {at::full({4}, double(10 + g.rank())), at::full({2, 2}, double(20 + g.rank()))};
    g.broadcast(b, 1);
    EXPECT_TRUE(at::equal(b[0], at::full({4}, 11.0)));
    EXPECT_TRUE(at::equal(b[1], at::full({2, 2}, 21.0)));
    const auto all = g.allgather("hosts", "rank-" + std::to_string(g.rank()));
    EXPECT_EQ(all, (std::vector<std::string>{"rank-0", "rank-1"}));
    g.barrier();
  });
}

torch::nn::Sequential tiny_net(int64_t seed) {
  at::manual_seed(uint64_t(seed));  // different on each rank: GradSync's broadcast evens them
  return torch::nn::Sequential(torch::nn::Linear(6, 16), torch::nn::ReLU(), torch::nn::Linear(16, 3));
}

at::Tensor batch(int64_t rank, int64_t k, int64_t rows = 5) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t(100 + 10 * rank + k));
  return at::randn({rows, 6}, gen);
}

// One micro-batch's loss on `net` (a target of zeros: the gradient still depends on the data).
at::Tensor loss_of(torch::nn::Sequential& net, const at::Tensor& x) {
  return torch::nn::functional::mse_loss(net->forward(x), at::zeros({x.size(0), 3}));
}

// The reference: the mean over ranks of each rank's own (accumulated) gradients, computed on
// a copy without the Reducer and all-reduced by hand.
std::vector<at::Tensor> mean_of_local_grads(Group& g, torch::nn::Sequential& net, int micro) {
  auto copy = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(net->clone());
  torch::nn::Sequential ref(copy);
  for (int k = 0; k < micro; ++k) (loss_of(ref, batch(g.rank(), k)) / double(micro)).backward();
  std::vector<at::Tensor> grads;
  for (const auto& p : ref->parameters()) grads.push_back(p.grad().clone());
  std::vector<at::Tensor> local;
  for (const auto& x : grads) local.push_back(x.clone());
  g.allreduce_sum(grads);
  for (auto& x : grads) x.div_(2);
  // The test can fail: the ranks' own gradients differ from their mean.
  EXPECT_GT((local[0] - grads[0]).abs().max().item<double>(), 1e-4);
  return grads;
}

TEST(DistGradSync, GradientsBecomeTheMeanOverRanksWithAndWithoutAccumulation) {
  KILN_SKIP_UNDER_TSAN();
  two_ranks([](Group& g) {
    auto net = tiny_net(g.rank());
    GradSync sync(g, net->parameters(), net->buffers(), /*bucket_bytes=*/256);  // tiny: several buckets
    EXPECT_GT(sync.buckets(), 1u);
    // Parameters now equal rank 0's on both ranks.
    std::vector<at::Tensor> p0 = {net->parameters()[0].detach().clone()};
    g.broadcast(p0, 0);
    EXPECT_TRUE(at::equal(p0[0], net->parameters()[0].detach()));
    for (const int micro : {1, 3, 1}) {
      const auto want = mean_of_local_grads(g, net, micro);
      for (auto& p : net->parameters()) p.mutable_grad() = at::Tensor();
      for (int k = 0; k < micro; ++k) {
        const bool last = k + 1 == micro;
        sync.before_forward(last);
        const at::Tensor l = loss_of(net, batch(g.rank(), k)) / double(micro);
        sync.before_backward(last);
        l.backward();
      }
      const auto params = net->parameters();
      for (size_t i = 0; i < params.size(); ++i) {
        // Sums of the same two addends in the same order: equal to rounding (the Reducer
        // divides each rank's gradient by 2 before adding, the reference after).
        EXPECT_TRUE(at::allclose(params[i].grad(), want[i], 1e-6, 1e-7)) << "param " << i << ", " << micro << " micro";
      }
      // Both ranks hold identical gradients, bit for bit.
      std::vector<at::Tensor> g0 = {params[0].grad().clone()};
      g.broadcast(g0, 0);
      EXPECT_TRUE(at::equal(g0[0], params[0].grad()));
    }
  });
}

TEST(DistGroup, APeerThatNeverComesFailsWithinTheTimeoutNamingTheAddress) {
  KILN_SKIP_UNDER_TSAN();
  const int port = free_port();
  const auto t0 = std::chrono::steady_clock::now();
  try {
    Group g(world(0, 2, port), c10::kCPU, 2s);
    FAIL() << "joined a job of two alone";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.code(), ExitCode::kRuntime);
    EXPECT_NE(msg.find("rendezvous at 127.0.0.1:" + std::to_string(port)), std::string::npos) << msg;
    EXPECT_NE(msg.find("rank 0 of 2"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "no C++ backtrace in the message: " << msg;
  }
  // Bounded: the store gives up after its timeout (plus its own grace), not never.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
}

TEST(DistGroup, NcclIsBuiltIn) {
  // The torch wheel's nvidia-nccl package has nccl.h: a build without it could not train a
  // job on GPUs (and would refuse to, saying so).
  EXPECT_TRUE(nccl_built_in());
}

// NCCL on CUDA, then Gloo for the CPU tensors of the same group: the collectives kiln uses,
// and GradSync's Reducer over NCCL. `ranks` threads, rank r on cuda:r.
void nccl_ranks(int ranks) {
  KILN_SKIP_UNDER_TSAN();
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  if (int(torch::cuda::device_count()) < ranks) GTEST_SKIP() << "needs " << ranks << " GPUs (NCCL: one per rank)";
  const int port = free_port();
  auto run = [&](int64_t r) {
    const c10::Device dev(c10::kCUDA, c10::DeviceIndex(r));
    Group g(world(r, ranks, port), dev, 60s);
    std::vector<at::Tensor> t = {at::full({3}, double(r + 1), at::TensorOptions().device(dev))};
    g.allreduce_sum(t);
    EXPECT_TRUE(at::equal(t[0].cpu(), at::full({3}, double(ranks * (ranks + 1) / 2))));
    std::vector<at::Tensor> c = {at::full({2}, double(r), at::kDouble)};  // a CPU tensor: Gloo
    g.allreduce_max(c);
    EXPECT_TRUE(at::equal(c[0], at::full({2}, double(ranks - 1), at::kDouble)));
    std::vector<at::Tensor> b = {at::full({4}, double(10 + r), at::TensorOptions().device(dev))};
    g.broadcast(b, 0);
    EXPECT_TRUE(at::equal(b[0].cpu(), at::full({4}, 10.0)));
    g.barrier();
    auto net = tiny_net(r);
    net->to(dev);
    GradSync sync(g, net->parameters(), net->buffers(), 256);
    sync.before_forward(true);
    const at::Tensor x = batch(r, 0).to(dev);
    const at::Tensor l = loss_of(net, x);
    sync.before_backward(true);
    l.backward();
    std::vector<at::Tensor> g0 = {net->parameters()[0].grad().clone()};
    g.broadcast(g0, 0);
    EXPECT_TRUE(at::equal(g0[0], net->parameters()[0].grad())) << "every rank holds the averaged gradient";
  };
  std::vector<std::future<void>> all;
  for (int r = 0; r < ranks; ++r) all.push_back(std::async(std::launch::async, run, r));
  for (auto& f : all) f.get();
}

TEST(DistGroup, NcclOnOneGpu) { nccl_ranks(1); }
TEST(DistGroup, NcclOnTwoGpus) { nccl_ranks(2); }

}  // namespace
}  // namespace kiln::dist
