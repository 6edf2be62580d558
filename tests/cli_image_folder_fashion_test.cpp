// The own-images issue's end-to-end check: Fashion-MNIST written out as a PNG image folder
// (60,000 train / 10,000 val files, one subfolder per class) trains through
// data.dataset = "image-folder": a small CNN reaches at least 0.88 test accuracy on it.
#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_helpers.h"
#include "data/fashion_mnist.h"
#include "image_files.h"

namespace {

namespace fs = std::filesystem;
const fs::path kFashionDir = "/usr/share/datasets/fashion-mnist";

// Writes <dir>/<split>/c<label>/<index>.png for every sample of `ds`.
void write_split(const kiln::data::Dataset& ds, const fs::path& dir) {
  for (int c = 0; c < 10; ++c) fs::create_directories(dir / ("c" + std::to_string(c)));
  kiln::image::Pixels p;
  p.width = p.height = 28;
  p.channels = 1;
  p.data.resize(28 * 28);
  for (int64_t i = 0; i < ds.size(); ++i) {
    int64_t label = 0;
    ds.read(i, p.data.data(), &label);
    kiln_test::write_bytes(dir / ("c" + std::to_string(label)) / (std::to_string(i) + ".png"),
                           kiln_test::encode_png(p));
  }
}

TEST(CliImageFolderFashion, ASmallCnnOnThePngFolderReaches088) {
  if (!fs::exists(kFashionDir / "train-images-idx3-ubyte") && !fs::exists(kFashionDir / "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST is not installed at " << kFashionDir;
  kiln_test::TempDir tmp("fmfolder");
  const kiln::data::Splits s = kiln::data::load_fashion_mnist(kFashionDir);
  write_split(*s.train, tmp / "data" / "train");
  write_split(*s.test, tmp / "data" / "val");
  // A small CNN (16 and 32 channels, fc 64) with the default optimizer; the crop keeps the
  // whole 28x28 image (scale and ratio 1), so the folder's samples are the IDX files' pixels.
  const auto r = kiln_test::run(kiln_test::kiln({"train",
                                                 "--set",
                                                 "data.dataset=image-folder",
                                                 "--set",
                                                 "data.dir=" + (tmp / "data").string(),
                                                 "--set",
                                                 "data.channels=1",
                                                 "--set",
                                                 "data.image_size=28",
                                                 "--set",
                                                 "data.resize_size=28",
                                                 "--set",
                                                 "data.crop_scale=[1.0, 1.0]",
                                                 "--set",
                                                 "data.crop_ratio=[1.0, 1.0]",
                                                 "--set",
                                                 "data.mean=[0.286]",
                                                 "--set",
                                                 "data.std=[0.353]",
                                                 "--set",
                                                 "model.name=cnn",
                                                 "--set",
                                                 "model.cnn.channels=[16, 32]",
                                                 "--set",
                                                 "model.cnn.fc=64",
                                                 "--set",
                                                 "train.epochs=2",
                                                 "--set",
                                                 "log.progress=off",
                                                 "--json",
                                                 "--run-dir",
                                                 (tmp / "run").string()}),
                                {tmp.path(), std::chrono::minutes(40)});  // sanitizer builds are slow
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto j = kiln_test::last_json_line(r.out).value_or(nlohmann::json::object());
  std::cout << "[ Fashion-MNIST PNG folder ] test_accuracy " << j.value("test_accuracy", 0.0) << "\n";
  EXPECT_GE(j.value("test_accuracy", 0.0), 0.88) << j.dump();
  EXPECT_EQ(j.value("steps", 0), 2 * ((60000 + 127) / 128)) << j.dump();
}

}  // namespace
