// Tests of the image-folder dataset: the index (class order, nested files, other files
// ignored, bad files named or skipped, missing/empty/mismatched classes), the val_fraction
// split, and samples (deterministic per seed/epoch/index, the eval crop, the labels).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "cli_helpers.h"
#include "config/config.h"
#include "data/image_folder.h"
#include "data/image_index.h"
#include "image_files.h"
#include "util/error.h"

namespace {

namespace fs = std::filesystem;
using kiln::data::index_images;
using kiln::data::IndexOptions;

std::string index_error(const fs::path& dir, IndexOptions o = {}) {
  try {
    index_images(dir, o);
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), kiln::ExitCode::kUsage);
    return std::string(e.what()) + " | " + e.hint();
  }
  ADD_FAILURE() << "indexed without error";
  return "";
}

TEST(ImageIndex, ClassesSortedFilesNestedOthersIgnored) {
  kiln_test::TempDir tmp("imgidx");
  kiln_test::write_image_folder(tmp.path(), {"train"}, {"b", "B", "a"}, 2, 9, 5);
  kiln_test::write_bytes(tmp / "train" / "a" / "deep" / "x.PNG", kiln_test::encode_png(kiln_test::pattern(4, 3, 1, 1)));
  kiln_test::write_bytes(tmp / "train" / "a" / "notes.txt", {'h', 'i'});
  IndexOptions o;
  o.threads = 2;
  const auto ix = index_images(tmp / "train", o);
  EXPECT_EQ(ix.classes, (std::vector<std::string>{"B", "a", "b"}));  // by bytes, as Python sorts
  ASSERT_EQ(ix.size(), 7);
  EXPECT_STREQ(ix.name(0), "B/0.png");
  EXPECT_STREQ(ix.name(2), "a/0.png");
  EXPECT_STREQ(ix.name(4), "a/deep/x.PNG");
  EXPECT_EQ(ix.label[4], 1);
  EXPECT_EQ(ix.width[4], 4);
  EXPECT_EQ(ix.height[4], 3);
  EXPECT_EQ(ix.width[0], 9);
  EXPECT_EQ(ix.fingerprint(), index_images(tmp / "train", {}).fingerprint());
  kiln_test::write_bytes(tmp / "train" / "b" / "2.png", kiln_test::encode_png(kiln_test::pattern(4, 3, 1, 2)));
  EXPECT_NE(ix.fingerprint(), index_images(tmp / "train", {}).fingerprint());
}

TEST(ImageIndex, FolderMistakesAreNamed) {
  kiln_test::TempDir tmp("imgidx");
  EXPECT_NE(index_error(tmp / "nope").find("does not exist"), std::string::npos);
  fs::create_directories(tmp / "flat");
  EXPECT_NE(index_error(tmp / "flat").find("no class folders"), std::string::npos);
  kiln_test::write_image_folder(tmp.path(), {"train", "val"}, {"cat", "dog"}, 1, 4, 4);
  fs::create_directories(tmp / "train" / "emu");
  EXPECT_NE(index_error(tmp / "train").find("emu"), std::string::npos);
  fs::remove(tmp / "train" / "emu");
  IndexOptions o;
  o.expect = {"ant", "cat", "dog"};
  EXPECT_NE(index_error(tmp / "val", o).find("no class folder 'ant'"), std::string::npos);
}

TEST(ImageIndex, BadFileIsAnErrorOrSkippedAndListed) {
  kiln_test::TempDir tmp("imgidx");
  kiln_test::write_image_folder(tmp.path(), {"train"}, {"cat", "dog"}, 2, 4, 4);
  kiln_test::write_bytes(tmp / "train" / "dog" / "fake.jpg", {'n', 'o', 'p', 'e'});
  EXPECT_NE(index_error(tmp / "train").find("dog/fake.jpg"), std::string::npos);
  IndexOptions o;
  o.skip_bad = true;
  const auto ix = index_images(tmp / "train", o);
  EXPECT_EQ(ix.size(), 4);
  ASSERT_EQ(ix.skipped.size(), 1u);
  EXPECT_NE(ix.skipped[0].find("dog/fake.jpg"), std::string::npos);
}

kiln::config::DataConfig folder_config(const fs::path& dir, int size) {
  kiln::config::DataConfig c;
  c.dataset = "image-folder";
  c.dir = dir.string();
  c.image_size = size;
  return c;
}

TEST(ImageFolder, SamplesAreKeyedOnSeedEpochAndIndexOnly) {
  kiln_test::TempDir tmp("imgds");
  kiln_test::write_image_folder(tmp.path(), {"train", "val"}, {"a", "b"}, 3, 40, 30, "jpg");
  const auto s = kiln::data::load_image_folder(folder_config(tmp.path(), 16));
  ASSERT_EQ(s.train->size(), 6);
  ASSERT_EQ(s.test->size(), 6);
  const auto spec = s.train->spec();
  EXPECT_EQ(spec.input.shape, (std::vector<int64_t>{3, 16, 16}));
  EXPECT_EQ(spec.num_classes, 2);
  auto sample = [&](const kiln::data::Dataset& ds, int64_t i, kiln::data::SampleKey k) {
    std::vector<uint8_t> px(3 * 16 * 16);
    int64_t label = -1;
    ds.read_keyed(i, k, px.data(), &label);
    return std::pair{px, label};
  };
  const auto a = sample(*s.train, 4, {7, 0});
  EXPECT_EQ(a.second, 1);
  EXPECT_EQ(sample(*s.train, 4, {7, 0}), a);              // the same key, the same sample
  EXPECT_NE(sample(*s.train, 4, {7, 1}).first, a.first);  // a new epoch draws a new crop
  EXPECT_NE(sample(*s.train, 4, {8, 0}).first, a.first);  // so does a new seed
  // Evaluation has no randomness.
  EXPECT_EQ(sample(*s.test, 2, {7, 0}), sample(*s.test, 2, {9, 5}));
}

TEST(ImageFolder, ValFractionSplitsTrainBySeedWithoutOverlap) {
  kiln_test::TempDir tmp("imgds");
  kiln_test::write_image_folder(tmp.path(), {"train"}, {"a", "b"}, 10, 8, 8);
  auto c = folder_config(tmp.path(), 8);
  EXPECT_THROW(kiln::data::load_image_folder(c), kiln::Error);  // no val/, no fraction
  c.val_fraction = 0.25;
  const auto s = kiln::data::load_image_folder(c);
  EXPECT_EQ(s.test->size(), 5);
  EXPECT_EQ(s.train->size(), 15);
  const auto& train = dynamic_cast<const kiln::data::ImageFolderSplit&>(*s.train).members();
  const auto& val = dynamic_cast<const kiln::data::ImageFolderSplit&>(*s.test).members();
  std::set<int64_t> all(train.begin(), train.end());
  all.insert(val.begin(), val.end());
  EXPECT_EQ(all.size(), 20u) << "every file in exactly one split";
  const auto again = kiln::data::load_image_folder(c);
  EXPECT_EQ(dynamic_cast<const kiln::data::ImageFolderSplit&>(*again.test).members(), val) << "the same split";
}

}  // namespace
