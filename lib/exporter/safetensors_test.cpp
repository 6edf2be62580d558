// Unit tests for exporter/safetensors.h: the header's length, JSON, dtypes, shapes and
// contiguous offsets in name order, the 8-byte alignment, the metadata, the raw bytes, and
// the names the format reserves. Python's safetensors reads kiln's files in
// tests/cli_export_test.cpp.
#include "exporter/safetensors.h"

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "util/error.h"

namespace kiln::exporter {
namespace {

struct Parsed {
  nlohmann::json header;
  std::string data;
  uint64_t header_len = 0;
};

Parsed parse(const std::string& bytes) {
  Parsed p;
  EXPECT_GE(bytes.size(), 8u);
  std::memcpy(&p.header_len, bytes.data(), 8);  // little-endian on every machine kiln builds for
  p.header = nlohmann::json::parse(bytes.substr(8, p.header_len));
  p.data = bytes.substr(8 + p.header_len);
  return p;
}

TEST(ExportSafetensors, HeaderOffsetsAndBytesInNameOrder) {
  const at::Tensor w = at::arange(6, at::kFloat).view({2, 3}) * 0.5;
  const at::Tensor steps = at::tensor(std::vector<int64_t>{7, -1, 1LL << 40});
  const at::Tensor px = at::arange(5, at::kByte);
  const at::Tensor strided = at::arange(12, at::kDouble).view({3, 4}).t();  // not contiguous
  const std::string bytes = safetensors_bytes({{"w", w}, {"a.steps", steps}, {"px", px}, {"t", strided}},
                                              {{"architecture", "mlp"}, {"classes", "[\"x\"]"}});
  const Parsed p = parse(bytes);
  EXPECT_EQ((8 + p.header_len) % 8, 0u) << "the data starts 8-byte aligned";
  EXPECT_EQ(p.header["__metadata__"]["architecture"], "mlp");
  EXPECT_EQ(p.header["__metadata__"]["classes"], "[\"x\"]");
  struct Want {
    std::string name, dtype;
    std::vector<int64_t> shape;
    at::Tensor t;
  };
  // Name order: a.steps, px, t, w; each tensor's bytes follow the previous one's.
  const std::vector<Want> want = {{"a.steps", "I64", {3}, steps},
                                  {"px", "U8", {5}, px},
                                  {"t", "F64", {4, 3}, strided.contiguous()},
                                  {"w", "F32", {2, 3}, w}};
  uint64_t offset = 0;
  for (const Want& x : want) {
    SCOPED_TRACE(x.name);
    const auto& e = p.header.at(x.name);
    EXPECT_EQ(e["dtype"], x.dtype);
    EXPECT_EQ(e["shape"].get<std::vector<int64_t>>(), x.shape);
    const auto off = e["data_offsets"].get<std::vector<uint64_t>>();
    ASSERT_EQ(off.size(), 2u);
    EXPECT_EQ(off[0], offset);
    EXPECT_EQ(off[1] - off[0], uint64_t(x.t.nbytes()));
    EXPECT_EQ(std::memcmp(p.data.data() + off[0], x.t.const_data_ptr(), x.t.nbytes()), 0);
    offset = off[1];
  }
  EXPECT_EQ(offset, p.data.size()) << "no bytes after the last tensor";
  EXPECT_EQ(p.header.size(), want.size() + 1);
}

TEST(ExportSafetensors, NoMetadataScalarsAndRefusals) {
  const Parsed p = parse(safetensors_bytes({{"s", at::scalar_tensor(2.5, at::kFloat)}}, {}));
  EXPECT_FALSE(p.header.contains("__metadata__"));
  EXPECT_EQ(p.header["s"]["shape"], nlohmann::json::array());
  EXPECT_EQ(p.data.size(), 4u);
  EXPECT_THROW(safetensors_bytes({{"x", at::zeros({1})}, {"x", at::zeros({2})}}, {}), Error);
  EXPECT_THROW(safetensors_bytes({{"__metadata__", at::zeros({1})}}, {}), Error);
  EXPECT_THROW(safetensors_dtype(at::kComplexFloat), Error);
  EXPECT_EQ(safetensors_dtype(at::kBFloat16), "BF16");
  EXPECT_EQ(safetensors_dtype(at::kBool), "BOOL");
}

}  // namespace
}  // namespace kiln::exporter
