// Unit tests for data/idx.h, data/fashion_mnist.h and data/dataset.h: IDX files written
// here (plain and gzipped) read back exactly; every kind of damage is a usage error naming
// the file; IdxDataset cross-checks images and labels; the dataset registry suggests names.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "config/config.h"
#include "data/dataset.h"
#include "data/fashion_mnist.h"
#include "data/idx.h"
#include "util/error.h"

namespace kiln::data {
namespace {

// Sample `index`'s pixels into `px` through the Dataset interface; returns its label.
int64_t read_label(const Dataset& d, int64_t index, uint8_t* px) {
  int64_t label = -1;
  d.read(index, px, &label);
  return label;
}

namespace fs = std::filesystem;

void remove_tree(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// The bytes of an IDX uint8 file: [0, 0, 0x08, ndims], big-endian uint32 dims, then data.
std::string idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data, uint8_t type = 0x08) {
  std::string out = {'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    out += static_cast<char>((d >> 24) & 0xff);
    out += static_cast<char>((d >> 16) & 0xff);
    out += static_cast<char>((d >> 8) & 0xff);
    out += static_cast<char>(d & 0xff);
  }
  out.append(reinterpret_cast<const char*>(data.data()), data.size());
  return out;
}

// n bytes with some structure (so deflate really compresses) and some noise.
std::vector<uint8_t> pattern(size_t n, uint32_t salt = 0) {
  std::vector<uint8_t> v(n);
  uint32_t x = 12345 + salt;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    v[i] = static_cast<uint8_t>((i % 17) * 13 + ((x >> 16) & 3));
  }
  return v;
}

void write_plain(const fs::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

void write_gz(const fs::path& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb9");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

std::string slurp(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Runs fn, expecting kiln::Error with the usage exit code and a message containing `needle`.
void expect_usage_error(const std::function<void()>& fn, const std::string& needle, std::string* message = nullptr) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected a usage error mentioning " << needle;
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message: " << e.what() << "\nexpected: " << needle;
    if (message) *message = e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

// A fresh temp dir per test, removed afterwards.
class TempDirTest : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("kiln-idx-test-" + std::string(info->test_suite_name()) + "-" +
                                        std::string(info->name()) + "-" + std::to_string(::getpid()));
    remove_tree(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { remove_tree(dir_); }
  fs::path dir_;
};

// ---- read_idx -------------------------------------------------------------------------

class IdxFile : public TempDirTest {};

TEST_F(IdxFile, PlainFileReadsBackDimsAndBytesExactly) {
  const auto data = pattern(3 * 4 * 5);
  const fs::path p = dir_ / "images-idx3-ubyte";
  write_plain(p, idx_bytes({3, 4, 5}, data));
  const IdxArray a = read_idx(p, 3);
  EXPECT_EQ(a.dims, (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(a.data, data);
}

TEST_F(IdxFile, LargeDimsDecodeBigEndian) {
  // 258 = 0x0102 exercises more than the low byte of each dimension.
  const auto data = pattern(258);
  const fs::path p = dir_ / "labels-idx1-ubyte";
  write_plain(p, idx_bytes({258}, data));
  const IdxArray a = read_idx(p, 1);
  EXPECT_EQ(a.dims, (std::vector<int64_t>{258}));
  EXPECT_EQ(a.data, data);
}

TEST_F(IdxFile, GzippedAndPlainGiveIdenticalContent) {
  // Large enough (about 40 KB) that inflate has to grow its output buffer several times.
  const auto data = pattern(50 * 28 * 28);
  const std::string bytes = idx_bytes({50, 28, 28}, data);
  write_plain(dir_ / "plain-idx3-ubyte", bytes);
  write_gz(dir_ / "packed-idx3-ubyte.gz", bytes);
  ASSERT_LT(fs::file_size(dir_ / "packed-idx3-ubyte.gz"), bytes.size());  // really compressed
  EXPECT_EQ(read_maybe_gzipped(dir_ / "packed-idx3-ubyte.gz"), bytes);
  EXPECT_EQ(read_maybe_gzipped(dir_ / "plain-idx3-ubyte"), bytes);
  const IdxArray plain = read_idx(dir_ / "plain-idx3-ubyte", 3);
  const IdxArray gz = read_idx(dir_ / "packed-idx3-ubyte.gz", 3);
  EXPECT_EQ(gz.dims, plain.dims);
  EXPECT_EQ(gz.data, plain.data);
  EXPECT_EQ(gz.data, data);
}

TEST_F(IdxFile, WrongMagicThrowsUsageNamingFile) {
  std::string bytes = idx_bytes({2}, {1, 2});
  bytes[1] = 0x01;
  const fs::path p = dir_ / "bad-magic";
  write_plain(p, bytes);
  expect_usage_error([&] { read_idx(p, 1); }, p.string());
}

TEST_F(IdxFile, WrongTypeByteThrowsUsageNamingFile) {
  const fs::path p = dir_ / "int32-idx1";
  write_plain(p, idx_bytes({2}, {1, 2}, /*type=*/0x0C));
  expect_usage_error([&] { read_idx(p, 1); }, p.string());
}

TEST_F(IdxFile, WrongTypeByteIsReportedInHex) {
  // 0x0D (float32) is a real IDX type; the message prints it with a "0x" prefix, so the
  // number after it must be hexadecimal ("0xd"/"0x0d"), not decimal ("0x13").
  const fs::path p = dir_ / "float-idx1";
  write_plain(p, idx_bytes({2}, {1, 2}, /*type=*/0x0D));
  std::string msg;
  expect_usage_error([&] { read_idx(p, 1); }, p.string(), &msg);
  const std::string m = lower(msg);
  EXPECT_TRUE(m.find("0x0d") != std::string::npos || m.find("0xd ") != std::string::npos) << msg;
  EXPECT_EQ(m.find("0x13"), std::string::npos) << msg;
}

TEST_F(IdxFile, WrongNdimsThrowsUsageNamingFile) {
  const fs::path p = dir_ / "labels-as-images";
  write_plain(p, idx_bytes({4}, {0, 1, 2, 3}));
  expect_usage_error([&] { read_idx(p, 3); }, p.string());
}

TEST_F(IdxFile, TruncatedDataThrowsUsageNamingFile) {
  std::string bytes = idx_bytes({2, 3, 3}, pattern(18));
  bytes.pop_back();
  const fs::path p = dir_ / "short-data";
  write_plain(p, bytes);
  std::string msg;
  expect_usage_error([&] { read_idx(p, 3); }, p.string(), &msg);
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST_F(IdxFile, TrailingBytesThrowUsageNamingFile) {
  std::string bytes = idx_bytes({2, 3, 3}, pattern(18));
  bytes += "xy";
  const fs::path p = dir_ / "long-data";
  write_plain(p, bytes);
  std::string msg;
  expect_usage_error([&] { read_idx(p, 3); }, p.string(), &msg);
  EXPECT_NE(msg.find("trailing"), std::string::npos) << msg;
}

TEST_F(IdxFile, TruncatedHeaderThrowsUsageNamingFile) {
  // Says 3 dims but holds only one and a half of them.
  std::string bytes = idx_bytes({2, 3, 3}, {}).substr(0, 4 + 6);
  const fs::path p = dir_ / "short-header";
  write_plain(p, bytes);
  expect_usage_error([&] { read_idx(p, 3); }, p.string());
  // Shorter than the 4-byte magic itself.
  const fs::path q = dir_ / "tiny";
  write_plain(q, std::string("\0\0", 2));
  expect_usage_error([&] { read_idx(q, 1); }, q.string());
}

TEST_F(IdxFile, TruncatedGzipThrowsUsageNamingFile) {
  const std::string bytes = idx_bytes({20, 28, 28}, pattern(20 * 28 * 28));
  const fs::path whole = dir_ / "whole.gz";
  write_gz(whole, bytes);
  const std::string gz = slurp(whole);
  ASSERT_GT(gz.size(), 100u);
  const fs::path p = dir_ / "half.gz";
  write_plain(p, gz.substr(0, gz.size() / 2));
  expect_usage_error([&] { read_idx(p, 3); }, p.string());
  expect_usage_error([&] { read_maybe_gzipped(p); }, p.string());
  // Cut just before the 8-byte trailer (CRC32 + size): all data decoded, stream unfinished.
  const fs::path q = dir_ / "no-trailer.gz";
  write_plain(q, gz.substr(0, gz.size() - 8));
  expect_usage_error([&] { read_idx(q, 3); }, q.string());
}

TEST_F(IdxFile, GzipWithFlippedBytesThrowsUsageNamingFile) {
  const std::string bytes = idx_bytes({20, 28, 28}, pattern(20 * 28 * 28));
  const fs::path whole = dir_ / "whole.gz";
  write_gz(whole, bytes);
  std::string gz = slurp(whole);
  ASSERT_GT(gz.size(), 100u);
  for (size_t i = gz.size() / 2; i < gz.size() / 2 + 8; ++i) gz[i] = static_cast<char>(gz[i] ^ 0xff);
  const fs::path p = dir_ / "flipped.gz";
  write_plain(p, gz);
  expect_usage_error([&] { read_idx(p, 3); }, p.string());

  // Only the stored CRC damaged: the data inflates fine but must still be rejected.
  std::string crc = slurp(whole);
  crc[crc.size() - 8] = static_cast<char>(crc[crc.size() - 8] ^ 0x01);
  const fs::path q = dir_ / "bad-crc.gz";
  write_plain(q, crc);
  expect_usage_error([&] { read_idx(q, 3); }, q.string());
}

TEST_F(IdxFile, MissingFileThrowsUsageNamingFile) {
  const fs::path p = dir_ / "does-not-exist";
  expect_usage_error([&] { read_idx(p, 1); }, p.string());
}

// ---- IdxDataset / load_fashion_mnist --------------------------------------------------

class IdxDatasetFiles : public TempDirTest {
 protected:
  // Writes n images of h x w (pixel = pattern) and the given labels.
  void write_pair(const fs::path& images, const fs::path& labels, uint32_t n, uint32_t h, uint32_t w,
                  const std::vector<uint8_t>& label_bytes, bool gz = false, uint32_t salt = 0) {
    const std::string img = idx_bytes({n, h, w}, pattern(size_t(n) * h * w, salt));
    const std::string lab = idx_bytes({static_cast<uint32_t>(label_bytes.size())}, label_bytes);
    if (gz) {
      write_gz(images, img);
      write_gz(labels, lab);
    } else {
      write_plain(images, img);
      write_plain(labels, lab);
    }
  }
};

TEST_F(IdxDatasetFiles, ReadCopiesTheRightSampleAndReturnsItsLabel) {
  const auto pixels = pattern(4 * 3 * 2);
  write_plain(dir_ / "img", idx_bytes({4, 3, 2}, pixels));
  write_plain(dir_ / "lab", idx_bytes({4}, {7, 0, 9, 3}));
  IdxDataset ds(dir_ / "img", dir_ / "lab", 10);
  EXPECT_EQ(ds.size(), 4);
  EXPECT_EQ(ds.num_classes(), 10);
  EXPECT_EQ(ds.shape().channels, 1);
  EXPECT_EQ(ds.shape().height, 3);
  EXPECT_EQ(ds.shape().width, 2);
  const std::vector<int64_t> labels = {7, 0, 9, 3};
  for (int64_t i = 0; i < 4; ++i) {
    std::vector<uint8_t> buf(8, 0xAA);  // 6 pixels + 2 guard bytes that must stay untouched
    EXPECT_EQ(ds.read_image(i, buf.data()), labels[size_t(i)]) << "sample " << i;
    EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + 6, pixels.begin() + i * 6)) << "sample " << i;
    EXPECT_EQ(buf[6], 0xAA);
    EXPECT_EQ(buf[7], 0xAA);
  }
}

TEST_F(IdxDatasetFiles, RejectsLabelOutOfRangeNamingLabelFile) {
  write_pair(dir_ / "img", dir_ / "bad-labels", 3, 2, 2, {1, 10, 2});
  std::string msg;
  expect_usage_error([&] { IdxDataset(dir_ / "img", dir_ / "bad-labels", 10); }, (dir_ / "bad-labels").string(), &msg);
  EXPECT_NE(msg.find("10"), std::string::npos) << msg;
  // The largest valid label is accepted.
  write_pair(dir_ / "img", dir_ / "ok-labels", 3, 2, 2, {1, 9, 0});
  EXPECT_NO_THROW(IdxDataset(dir_ / "img", dir_ / "ok-labels", 10));
}

TEST_F(IdxDatasetFiles, RejectsMismatchedImageAndLabelCounts) {
  write_plain(dir_ / "img", idx_bytes({3, 2, 2}, pattern(12)));
  write_plain(dir_ / "lab", idx_bytes({4}, {0, 1, 2, 3}));
  std::string msg;
  expect_usage_error([&] { IdxDataset(dir_ / "img", dir_ / "lab", 10); }, (dir_ / "img").string(), &msg);
  EXPECT_NE(msg.find((dir_ / "lab").string()), std::string::npos) << msg;
}

TEST_F(IdxDatasetFiles, FingerprintIsSameForGzAndPlainAndDiffersWithContent) {
  write_pair(dir_ / "img", dir_ / "lab", 5, 4, 4, {0, 1, 2, 3, 4});
  write_pair(dir_ / "img.gz", dir_ / "lab.gz", 5, 4, 4, {0, 1, 2, 3, 4}, /*gz=*/true);
  write_pair(dir_ / "img2", dir_ / "lab2", 5, 4, 4, {0, 1, 2, 3, 4}, false, /*salt=*/1);  // other pixels
  write_pair(dir_ / "img3", dir_ / "lab3", 5, 4, 4, {0, 1, 2, 3, 5});                     // other label
  const IdxDataset plain(dir_ / "img", dir_ / "lab", 10);
  const IdxDataset gz(dir_ / "img.gz", dir_ / "lab.gz", 10);
  const IdxDataset other_pixels(dir_ / "img2", dir_ / "lab2", 10);
  const IdxDataset other_label(dir_ / "img3", dir_ / "lab3", 10);
  EXPECT_FALSE(plain.fingerprint().empty());
  EXPECT_EQ(plain.fingerprint(), gz.fingerprint());
  EXPECT_NE(plain.fingerprint(), other_pixels.fingerprint());
  EXPECT_NE(plain.fingerprint(), other_label.fingerprint());
}

TEST_F(IdxDatasetFiles, LoadFashionMnistNamesTheMissingFile) {
  // Each of the four files in turn is the only one missing (the others gzipped or plain).
  const std::vector<std::string> stems = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  for (size_t missing = 0; missing < stems.size(); ++missing) {
    const fs::path d = dir_ / ("missing-" + std::to_string(missing));
    fs::create_directories(d);
    for (size_t i = 0; i < stems.size(); ++i) {
      if (i == missing) continue;
      const bool images = i % 2 == 0;
      const std::string bytes = images ? idx_bytes({2, 4, 4}, pattern(32)) : idx_bytes({2}, {1, 2});
      if (i == 1 || i == 2) {
        write_gz(d / (stems[i] + ".gz"), bytes);
      } else {
        write_plain(d / stems[i], bytes);
      }
    }
    std::string msg;
    expect_usage_error([&] { load_fashion_mnist(d); }, stems[missing], &msg);
    EXPECT_NE(msg.find(d.string()), std::string::npos) << msg;
  }
  // An empty directory names one of the train files; a directory that does not exist
  // names itself.
  std::string msg;
  fs::create_directories(dir_ / "empty");
  expect_usage_error([&] { load_fashion_mnist(dir_ / "empty"); }, "not found in " + (dir_ / "empty").string(), &msg);
  EXPECT_NE(msg.find("train-"), std::string::npos) << msg;
  expect_usage_error([&] { load_fashion_mnist(dir_ / "nope"); }, (dir_ / "nope").string());
}

TEST_F(IdxDatasetFiles, LoadFashionMnistReadsMixedPlainAndGz) {
  write_pair(dir_ / "train-images-idx3-ubyte", dir_ / "train-labels-idx1-ubyte", 3, 4, 4, {0, 1, 2});
  write_pair(dir_ / "t10k-images-idx3-ubyte.gz", dir_ / "t10k-labels-idx1-ubyte.gz", 2, 4, 4, {9, 8}, true);
  const Splits s = load_fashion_mnist(dir_);
  ASSERT_TRUE(s.train && s.test);
  EXPECT_EQ(s.train->size(), 3);
  EXPECT_EQ(s.test->size(), 2);
  EXPECT_EQ(s.test->spec().input.shape[1], 4);
  std::vector<uint8_t> buf(16);
  EXPECT_EQ(read_label(*s.test, 1, buf.data()), 8);
}

// ---- dataset registry -----------------------------------------------------------------

// A tiny in-memory dataset: sample i is a 1x2x2 image of value i, label i % classes.
class TinyDataset : public ImageDataset {
 public:
  TinyDataset(int64_t n, int64_t classes) : n_(n), classes_(classes) {}
  int64_t size() const override { return n_; }
  ImageShape shape() const override { return ImageShape{1, 2, 2}; }
  int64_t num_classes() const override { return classes_; }
  int64_t read_image(int64_t index, uint8_t* pixels) const override {
    std::fill(pixels, pixels + 4, static_cast<uint8_t>(index));
    return index % classes_;
  }
  std::string fingerprint() const override { return "tiny" + std::to_string(n_); }

 private:
  int64_t n_, classes_;
};

TEST(DatasetRegistry, UnknownNameSuggestsNearest) {
  config::DataConfig cfg;
  cfg.dataset = "fashion-mnst";
  std::string msg;
  expect_usage_error([&] { load_splits(cfg); }, "did you mean 'fashion-mnist'", &msg);
  EXPECT_NE(msg.find("fashion-mnst"), std::string::npos) << msg;
}

TEST(DatasetRegistry, UnknownFarNameStillThrowsUsage) {
  config::DataConfig cfg;
  cfg.dataset = "zzzzzzzzzzzzzzzzzzzz";
  expect_usage_error([&] { load_splits(cfg); }, "zzzzzzzzzzzzzzzzzzzz");
}

TEST(DatasetRegistry, TakeFirstLimitsSize) {
  auto base = std::make_shared<const TinyDataset>(10, 3);
  const DatasetPtr first = take_first(base, 4);
  EXPECT_EQ(first->size(), 4);
  EXPECT_EQ(first->spec().num_classes, 3);
  EXPECT_EQ(first->spec().input.numel(), 4);
  uint8_t px[4];
  EXPECT_EQ(read_label(*first, 3, px), 0);
  EXPECT_EQ(px[0], 3);
  EXPECT_NE(first->fingerprint(), base->fingerprint());  // a limited view is different data
  // 0 ("all") and n >= size leave the dataset whole.
  EXPECT_EQ(take_first(base, 0)->size(), 10);
  EXPECT_EQ(take_first(base, 10)->size(), 10);
  EXPECT_EQ(take_first(base, 99)->size(), 10);
}

TEST(DatasetRegistry, RegisteredInMemoryDatasetLoadsByName) {
  const std::string name = "kiln-test-idx-tiny";
  ASSERT_TRUE(register_dataset(name, [](const config::DataConfig&) {
    return Splits{std::make_shared<const TinyDataset>(12, 4), std::make_shared<const TinyDataset>(5, 4)};
  }));
  const auto names = dataset_names();
  EXPECT_NE(std::find(names.begin(), names.end(), name), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "fashion-mnist"), names.end());
  config::DataConfig cfg;
  cfg.dataset = name;
  Splits s = load_splits(cfg);
  ASSERT_TRUE(s.train && s.test);
  EXPECT_EQ(s.train->size(), 12);
  EXPECT_EQ(s.test->size(), 5);
  uint8_t px[4];
  EXPECT_EQ(read_label(*s.train, 7, px), 3);
  EXPECT_EQ(px[2], 7);
  // limit_train / limit_test apply to registered datasets too.
  cfg.limit_train = 6;
  cfg.limit_test = 2;
  s = load_splits(cfg);
  EXPECT_EQ(s.train->size(), 6);
  EXPECT_EQ(s.test->size(), 2);
}

class DatasetFashionDir : public TempDirTest {};

TEST_F(DatasetFashionDir, LoadSplitsReadsFashionMnistFromDataDirWithLimits) {
  write_plain(dir_ / "train-images-idx3-ubyte", idx_bytes({6, 3, 3}, pattern(54)));
  write_plain(dir_ / "train-labels-idx1-ubyte", idx_bytes({6}, {0, 1, 2, 3, 4, 5}));
  write_gz(dir_ / "t10k-images-idx3-ubyte.gz", idx_bytes({4, 3, 3}, pattern(36, 2)));
  write_gz(dir_ / "t10k-labels-idx1-ubyte.gz", idx_bytes({4}, {9, 9, 9, 9}));
  config::DataConfig cfg;
  cfg.dir = dir_.string();
  cfg.limit_train = 5;
  const Splits s = load_splits(cfg);
  EXPECT_EQ(s.train->size(), 5);
  EXPECT_EQ(s.test->size(), 4);
  EXPECT_EQ(s.train->spec().num_classes, 10);
  // A data.dir without the files is a usage error naming the file.
  cfg.dir = (dir_ / "empty").string();
  fs::create_directories(cfg.dir);
  expect_usage_error([&] { load_splits(cfg); }, "not found in " + cfg.dir);
}

}  // namespace
}  // namespace kiln::data
