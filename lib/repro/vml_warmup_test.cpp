// warm_up_vml: finds MKL's vector math where LibTorch has MKL, and after it LibTorch's
// VML-backed sqrt is within one ulp of std::sqrt on every element, whichever intra-op
// thread computed it (the failure it guards against gave one thread's half ~3.7e-4 off).
#include "repro/vml_warmup.h"

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace kiln::repro {
namespace {

int64_t ulps(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  return std::llabs(int64_t(ia) - int64_t(ib));
}

TEST(VmlWarmup, FindsMklVectorMathWhereLibTorchHasMkl) {
  if (!at::hasMKL()) GTEST_SKIP() << "this LibTorch has no MKL";
  EXPECT_GE(warm_up_vml(), 16);             // vms* and vmd* of the functions ATen/cpu/vml.h routes to MKL
  EXPECT_EQ(warm_up_vml(), warm_up_vml());  // idempotent
}

TEST(VmlWarmup, SqrtIsWithinOneUlpOnEveryThread) {
  warm_up_vml();
  at::manual_seed(7);
  // Large enough that every intra-op thread takes a share (grain 2048 elements).
  const auto x = at::rand({int64_t(4096) * 64 * std::max(1, at::get_num_threads())}) * 1e-3;
  const auto y = x.sqrt();
  const float* px = x.data_ptr<float>();
  const float* py = y.data_ptr<float>();
  int64_t worst = 0, at_index = -1;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t u = ulps(py[i], std::sqrt(px[i]));
    if (u > worst) worst = u, at_index = i;
  }
  EXPECT_LE(worst, 1) << "element " << at_index << " of " << x.numel();
}

}  // namespace
}  // namespace kiln::repro
