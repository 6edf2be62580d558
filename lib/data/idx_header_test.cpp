// Unit tests for the IDX header arithmetic (data::parse_idx): sizes multiplied in checked
// 64-bit arithmetic, so a header whose product wraps around (256 x 2^28 x 2^28 = 2^64 -> 0)
// is refused naming the file and the dimension, instead of matching an empty data section;
// and data::load_fashion_mnist refusing an over-long data.dir as bad input.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"
#include "data/idx.h"
#include "util/error.h"

namespace kiln::data {
namespace {

std::string header(const std::vector<uint32_t>& dims) {
  std::string out = {'\0', '\0', '\x08', static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((d >> shift) & 0xff);
  }
  return out;
}

std::string usage_message(const std::string& bytes, int ndims) {
  try {
    parse_idx(bytes, "images.idx", ndims);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(IdxHeader, ProductThatWrapsAroundIsRefusedNamingFileAndDimension) {
  // Unchecked, 256 * 2^28 * 2^28 is 0 in size_t: the empty body "matched" and the run failed
  // later on "train and test images ... differ in size", naming the folder.
  const std::string msg = usage_message(header({256, 1u << 28, 1u << 28}), 3);
  EXPECT_NE(msg.find("images.idx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("overflow"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dimension 3 of 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("256 x 268435456 x 268435456"), std::string::npos) << msg;
}

TEST(IdxHeader, LargeProductWithoutOverflowIsATruncatedFile) {
  // 2^28 * 2^28 = 2^56 fits in 64 bits: then it is simply far more than the file holds.
  const std::string msg = usage_message(header({1u << 28, 1u << 28}) + "abc", 2);
  EXPECT_NE(msg.find("header (268435456 x 268435456) says 72057594037927936"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(IdxHeader, ImplausibleDimensionNamesWhichOne) {
  std::string msg = usage_message(header({2, 0, 3}), 3);
  EXPECT_NE(msg.find("dimension 2 of 3"), std::string::npos) << msg;
  msg = usage_message(header({2, 3, (1u << 28) + 1}), 3);
  EXPECT_NE(msg.find("dimension 3 of 3"), std::string::npos) << msg;
}

TEST(IdxHeader, ValidBytesParse) {
  const IdxArray a = parse_idx(header({2, 1, 3}) + "abcdef", "x.idx", 3);
  EXPECT_EQ(a.dims, (std::vector<int64_t>{2, 1, 3}));
  EXPECT_EQ(std::string(a.data.begin(), a.data.end()), "abcdef");
}

TEST(IdxHeader, OverlongDataDirIsAUsageErrorNotFileNameTooLong) {
  try {
    load_fashion_mnist(std::string(100000, 'd'));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("data.dir"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kiln::data
