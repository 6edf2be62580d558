// Unit tests for data/layout.h: data::channels_last gives NHWC strides for any channel count
// (C = 1 included, where Tensor::contiguous(ChannelsLast) keeps NCHW strides), keeps values,
// restrides without a copy where the memory is already in NHWC order, and a convolution
// over such tensors then stays channels-last.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "data/layout.h"

namespace kiln::data {
namespace {

at::Tensor ramp(std::vector<int64_t> sizes) {
  int64_t n = 1;
  for (int64_t s : sizes) n *= s;
  return at::arange(n, at::kFloat).reshape(sizes);
}

TEST(ChannelsLast, OneChannelGetsNhwcStridesWithoutACopy) {
  const at::Tensor x = ramp({4, 1, 5, 6});  // NCHW-contiguous: strides (30, 30, 6, 1)
  // What LibTorch's own call leaves: NCHW strides, read as NCHW by the conv kernels.
  EXPECT_FALSE(is_channels_last(x.contiguous(at::MemoryFormat::ChannelsLast)));
  const at::Tensor y = channels_last(x);
  EXPECT_TRUE(is_channels_last(y));
  EXPECT_EQ(y.strides().vec(), (std::vector<int64_t>{30, 1, 6, 1}));
  EXPECT_EQ(y.data_ptr(), x.data_ptr()) << "the same memory, restrided";
  EXPECT_TRUE(at::equal(y, x));
}

TEST(ChannelsLast, SeveralChannelsAreCopiedIntoNhwc) {
  const at::Tensor x = ramp({2, 3, 4, 5});
  const at::Tensor y = channels_last(x);
  EXPECT_TRUE(is_channels_last(y));
  EXPECT_EQ(y.strides().vec(), (std::vector<int64_t>{60, 1, 15, 3}));
  EXPECT_NE(y.data_ptr(), x.data_ptr());
  EXPECT_TRUE(at::equal(y, x));
  EXPECT_EQ(channels_last(y).data_ptr(), y.data_ptr()) << "already NHWC: returned as is";
}

TEST(ChannelsLast, OneByOneKernelsAndOtherRanks) {
  const at::Tensor w = ramp({8, 3, 1, 1});  // a 1x1 conv's weight: strides (3, 1, 1, 1)
  EXPECT_FALSE(is_channels_last(w));
  const at::Tensor y = channels_last(w);
  EXPECT_TRUE(is_channels_last(y));
  EXPECT_TRUE(at::equal(y, w));
  const at::Tensor v = ramp({3, 4});
  EXPECT_EQ(channels_last(v).data_ptr(), v.data_ptr());
  EXPECT_FALSE(is_channels_last(v));
}

// The point of it: a conv over a 1-channel batch stays NHWC, so the layers after it (batch
// norm, ReLU, the next conv) run NHWC with no transposes in forward or backward.
TEST(ChannelsLast, FirstConvOfAOneChannelNetOutputsNhwc) {
  const at::Tensor x = at::randn({2, 1, 8, 8});
  const at::Tensor w = at::randn({4, 1, 3, 3});
  const at::Tensor leaky =
      at::conv2d(x.contiguous(at::MemoryFormat::ChannelsLast), w.contiguous(at::MemoryFormat::ChannelsLast), {}, 1, 1);
  EXPECT_FALSE(is_channels_last(leaky)) << "LibTorch's call left NHWC (did LibTorch change?)";
  const at::Tensor out = at::conv2d(channels_last(x), channels_last(w), {}, 1, 1);
  EXPECT_TRUE(is_channels_last(out));
  EXPECT_TRUE(at::allclose(out, leaky, 1e-5, 1e-5));
}

}  // namespace
}  // namespace kiln::data
