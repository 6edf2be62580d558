// kiln's image-folder samples of real photos (scikit-image's, saved as JPEG by PIL) against
// torchvision's transforms of PIL's full-size decode (tests/interop/tv_jpeg_crops.py): a
// sample kiln decodes at full scale (all of them with data.jpeg_scaling = false) must be
// torchvision's bytes; one decoded at a reduced DCT scale differs by the scaling, which is
// printed (docs/benchmarks.md quotes it) and must stay small.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli_helpers.h"
#include "data/image_folder.h"
#include "data/image_index.h"
#include "image/decode.h"

namespace {

namespace fs = std::filesystem;

void write_raw(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// Writes kiln's evaluation sample and one training crop of every image to `out` (the files
// tv_jpeg_crops.py compare reads); returns, per file and kind, whether it decoded at 1/1.
std::map<std::string, bool> write_samples(const std::shared_ptr<const kiln::data::ImageIndex>& index, bool jpeg_scaling,
                                          const fs::path& out) {
  kiln::data::ImageFolderOptions o;  // 224 from 256, RandomResizedCrop's defaults, RGB
  o.jpeg_scaling = jpeg_scaling;
  const kiln::data::ImageFolderSplit eval(index, {}, false, o), train(index, {}, true, o);
  const kiln::data::SampleKey key{7, 0};
  fs::create_directories(out);
  std::map<std::string, bool> full;
  auto full_scale = [&](const kiln::image::Box& b) {
    const kiln::image::Scale s = kiln::image::choose_scale(b.width(), b.height(), 224, 224);
    return !jpeg_scaling || s.num == s.denom;
  };
  for (int64_t i = 0; i < index->size(); ++i) {
    const std::string name = fs::path(index->name(i)).filename().string();
    const int W = index->width[size_t(i)], H = index->height[size_t(i)];
    std::vector<uint8_t> pixels(3 * 224 * 224);
    int64_t label = -1;
    eval.read_keyed(i, key, pixels.data(), &label);
    write_raw(out / ("eval-" + name + ".raw"), pixels);
    full[name + " eval"] = full_scale(eval.crop_box(i, key, W, H));
    const kiln::image::Box b = train.crop_box(i, key, W, H);  // integer edges: RandomResizedCrop's
    train.read_keyed(i, key, pixels.data(), &label);
    write_raw(out / ("crop-" + name + ".raw"), pixels);
    std::ofstream(out / ("crop-" + name + ".txt"))
        << int(b.x0) << " " << int(b.y0) << " " << int(b.width()) << " " << int(b.height()) << "\n";
    full[name + " train"] = full_scale(b);
  }
  return full;
}

TEST(ImageFolderTorchvision, PhotosMatchTorchvisionAtFullScaleAndStayCloseWhenDctScaled) {
  const std::string py = KILN_TEST_PYTHON;
  if (py.empty()) GTEST_SKIP() << "KILN_TEST_PYTHON is not set";
  kiln_test::TempDir tmp("tvjpeg");
  const std::string script = std::string(KILN_SOURCE_DIR) + "/tests/interop/tv_jpeg_crops.py";
  const auto made = kiln_test::run({py, script, "make", tmp.path().string()});
  ASSERT_EQ(made.exit_code, 0) << made.describe();
  auto index =
      std::make_shared<const kiln::data::ImageIndex>(kiln::data::index_images(tmp / "val", kiln::data::IndexOptions{}));
  for (bool scaling : {true, false}) {
    const fs::path out = tmp / (scaling ? "kiln-scaled" : "kiln-full");
    const auto full = write_samples(index, scaling, out);
    const auto r = kiln_test::run({py, script, "compare", tmp.path().string(), out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    std::istringstream lines(r.out);
    std::string line;
    int seen = 0, scaled = 0;
    while (std::getline(lines, line)) {
      const auto j = nlohmann::json::parse(line);
      const bool at_full = full.at(j["file"].get<std::string>() + " " + j["kind"].get<std::string>());
      std::cout << "[ vs torchvision, data.jpeg_scaling=" << scaling << " ] " << line
                << (at_full ? " (full scale)" : " (DCT-scaled)") << "\n";
      if (at_full) {
        EXPECT_EQ(j["max"].get<int>(), 0) << line;
      } else {
        ++scaled;
        // A smaller decode of the same photo, resampled less: the levels differ a little,
        // the structure not at all (docs/benchmarks.md has the figures).
        EXPECT_LT(j["mean"].get<double>(), 6.0) << line;
      }
      ++seen;
    }
    EXPECT_EQ(seen, 2 * index->size());
    if (scaling) EXPECT_GT(scaled, 0) << "the photos are meant to include DCT-scaled decodes";
    if (!scaling) EXPECT_EQ(scaled, 0);
  }
}

}  // namespace
