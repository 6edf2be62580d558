// The npy source against files real NumPy wrote (the venv's python): np.savez archives of
// every input kind read back to NumPy's values (float16 widened, HWC images transposed,
// zip64 members), NumPy's .npy header versions, and each bad file refused naming it
// (np.savez_compressed, big-endian, Fortran order, wrong dtypes, mismatched lengths); then
// `kiln train` on an .npz: the same weights for 1 and 3 loader threads and after a SIGKILL and
// --resume, and a bad archive is exit 2 with nothing written.
#include <gtest/gtest.h>

#include <cstring>

#include "cli_helpers.h"
#include "config/config.h"
#include "data/arrays.h"
#include "util/error.h"

namespace {

using kiln_test::kiln;
using kiln_test::RunResult;
using kiln_test::TempDir;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Runs `code` in the venv's python with numpy imported as np and `d` the directory.
void numpy(const fs::path& dir, const std::string& code) {
  const RunResult r =
      kiln_test::run({KILN_TEST_PYTHON, "-c", "import numpy as np\nd = '" + dir.string() + "'\n" + code});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
}

kiln::config::DataConfig npz(const fs::path& p) {
  kiln::config::DataConfig c;
  c.dataset = "npy";
  c.train = p.string();
  return c;
}

std::string usage_error(const kiln::config::DataConfig& c) {
  try {
    kiln::data::load_npy(c);
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), kiln::ExitCode::kUsage) << e.what();
    return e.what();
  }
  return "";
}

TEST(Npy, ReadsWhatNumpyWroteValueForValue) {
  if (std::string(KILN_TEST_PYTHON).empty()) GTEST_SKIP() << "KILN_TEST_PYTHON is not set";
  TempDir tmp("npy");
  numpy(tmp.path(),
        "x = (np.arange(10 * 3, dtype=np.float32) / 7).reshape(10, 3).astype(np.float16)\n"
        "np.savez(d + '/half.npz', x=x, y=np.arange(10, dtype=np.float32).reshape(10, 1) * 2)\n"
        "img = (np.arange(4 * 2 * 3 * 3) % 251).astype(np.uint8).reshape(4, 2, 3, 3)\n"
        "np.savez(d + '/hwc.npz', x=img, y=np.array([0, 1, 2, 1]))\n"
        "np.save(d + '/x.npy', x)\n"
        "import zipfile\n"
        "with zipfile.ZipFile(d + '/big.npz', 'w') as z:\n"  // zip64 members, as np.savez writes large arrays
        "    for k, a in (('x', x.astype(np.float32)), ('y', np.arange(10))):\n"
        "        with z.open(k + '.npy', 'w', force_zip64=True) as f: np.lib.format.write_array(f, a)\n");
  kiln::config::DataConfig c = npz(tmp / "half.npz");
  c.test = c.train;
  const auto s = kiln::data::load_npy(c);
  ASSERT_EQ(s.train->size(), 10);
  EXPECT_EQ(kiln::data::describe(s.train->spec().input), "float32 [3]");
  EXPECT_EQ(kiln::data::describe(s.train->spec().target), "float32 [1]");
  float x[3], y;
  s.train->read(7, x, &y);
  EXPECT_EQ(x[1], float(c10::Half(22.0f / 7.0f))) << "float16 widened exactly";
  EXPECT_EQ(y, 14.0f);
  const auto h = kiln::data::load_npy(npz(tmp / "hwc.npz"));
  EXPECT_EQ(kiln::data::describe(h.train->spec().input), "uint8 [3, 2, 3]") << "HWC becomes CHW";
  EXPECT_EQ(h.train->spec().num_classes, 3);
  uint8_t px[18];
  int64_t label;
  kiln::config::DataConfig hc = npz(tmp / "hwc.npz");
  hc.test = hc.train;
  kiln::data::load_npy(hc).train->read(1, px, &label);
  EXPECT_EQ(label, 1);
  EXPECT_EQ(px[1 * 6 + 4], uint8_t((18 + 4 * 3 + 1) % 251))
      << "channel 1 of pixel (1, 1): index 1*9 + 1*3 + 1 of row 1";
  const auto b = kiln::data::load_npy(npz(tmp / "big.npz"));
  EXPECT_EQ(b.train->size() + b.test->size(), 10);
  EXPECT_NE(usage_error(npz(tmp / "x.npy")).find("not a zip archive"), std::string::npos);
}

TEST(Npy, RefusesBadArraysNamingTheFileAndWhatToDo) {
  if (std::string(KILN_TEST_PYTHON).empty()) GTEST_SKIP() << "KILN_TEST_PYTHON is not set";
  TempDir tmp("npy");
  numpy(tmp.path(),
        "x = np.zeros((6, 4), np.float32); y = np.arange(6)\n"
        "np.savez_compressed(d + '/zip.npz', x=x, y=y)\n"
        "np.savez(d + '/be.npz', x=x.astype('>f4'), y=y)\n"
        "np.savez(d + '/fortran.npz', x=np.asfortranarray(np.zeros((6, 4, 2), np.float32)), y=y)\n"
        "np.savez(d + '/f64.npz', x=x.astype(np.float64), y=y)\n"
        "np.savez(d + '/y32.npz', x=x, y=y.astype(np.int32))\n"
        "np.savez(d + '/short.npz', x=x, y=y[:5])\n"
        "np.savez(d + '/names.npz', inputs=x, y=y)\n"
        "np.savez(d + '/neg.npz', x=x, y=y - 1)\n");
  const std::pair<const char*, const char*> cases[] = {
      {"zip.npz", "compressed (np.savez_compressed)"},
      {"be.npz", "a big-endian dtype '>f4'"},
      {"fortran.npz", "Fortran (column-major) order"},
      {"f64.npz", "dtype '<f8' (kiln reads uint8, float16, float32 and int64)"},
      {"y32.npz", "dtype '<i4' (kiln reads uint8, float16, float32 and int64)"},
      {"short.npz", "shape (5,), but 'x' has 6 samples"},
      {"names.npz", "has no array 'x' (data.x)"},
      {"neg.npz", "label -1 at index 0"},
  };
  for (const auto& [file, want] : cases) {
    const std::string msg = usage_error(npz(tmp / file));
    EXPECT_NE(msg.find(file), std::string::npos) << msg;
    EXPECT_NE(msg.find(want), std::string::npos) << file << ": " << msg;
  }
}

TEST(Npy, NpyHeaderVersionsAndCutFiles) {
  // Version 1.0 (2-byte length) and 2.0 (4-byte length) headers, as NumPy's format spec has them.
  auto header = [](int major, const std::string& dict, int64_t data_bytes) {
    std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(major), 0};
    const uint32_t n = uint32_t(dict.size());
    for (int i = 0; i < (major == 1 ? 2 : 4); ++i) b.push_back(uint8_t(n >> (8 * i)));
    b.insert(b.end(), dict.begin(), dict.end());
    b.resize(b.size() + size_t(data_bytes), 0);
    return b;
  };
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }          \n";
  for (int major : {1, 2, 3}) {
    const auto b = header(major, dict, 24);
    const auto a = kiln::data::parse_npy_header(b.data(), int64_t(b.size()), 100, int64_t(b.size()), "h.npy");
    EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 2}));
    EXPECT_EQ(a.offset, 100 + int64_t(b.size()) - 24);
  }
  const auto cut = header(1, dict, 20);
  try {
    kiln::data::parse_npy_header(cut.data(), int64_t(cut.size()), 0, int64_t(cut.size()), "cut.npy");
    ADD_FAILURE() << "a file 4 bytes short was accepted";
  } catch (const kiln::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.npy: the header's shape needs 24 bytes of data but 20 follow"),
              std::string::npos)
        << e.what();
  }
  const auto v9 = header(9, dict, 24);
  EXPECT_THROW(kiln::data::parse_npy_header(v9.data(), int64_t(v9.size()), 0, int64_t(v9.size()), "v.npy"),
               kiln::Error);
}

std::vector<std::string> train_args(const fs::path& data, const fs::path& run, int threads,
                                    std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"train",
                                "--set",
                                "data.dataset=npy",
                                "--set",
                                "data.train=" + data.string(),
                                "--set",
                                "train.task=regression",
                                "--set",
                                "loader.batch_size=16",
                                "--set",
                                "train.epochs=30",
                                "--set",
                                "checkpoint.every=25",
                                "--set",
                                "log.progress=off",
                                "--set",
                                "loader.threads=" + std::to_string(threads),
                                "--json",
                                "--run-dir",
                                run.string()};
  a.insert(a.end(), extra.begin(), extra.end());
  return kiln(a);
}

TEST(CliNpy, SameWeightsForAnyLoaderThreadsAndAfterSigkillAndResume) {
  if (std::string(KILN_TEST_PYTHON).empty()) GTEST_SKIP() << "KILN_TEST_PYTHON is not set";
  TempDir tmp("npy");
  numpy(tmp.path(),
        "r = np.random.default_rng(1); x = r.random((2000, 6), dtype=np.float32)\n"
        "np.savez(d + '/t.npz', x=x.astype(np.float16), y=(x @ np.arange(6, dtype=np.float32))[:, None])\n");
  auto train = [&](const std::vector<std::string>& argv) { return kiln_test::train_summary(argv, tmp.path()); };
  const auto one = train(train_args(tmp / "t.npz", tmp / "one", 1));
  const auto three = train(train_args(tmp / "t.npz", tmp / "three", 3));
  ASSERT_TRUE(one.contains("weights_sha256")) << one.dump();
  EXPECT_EQ(one["weights_sha256"], three["weights_sha256"]);
  EXPECT_GT(one.value("test_r2", 0.0), 0.9);
  const fs::path run = tmp / "killed";
  kiln_test::kill_after_steps(train_args(tmp / "t.npz", run, 2), tmp.path(), run, 500);
  const auto resumed = train(train_args(tmp / "t.npz", run, 2, {"--resume", "auto"}));
  EXPECT_EQ(resumed.value("weights_sha256", "resumed"), one.value("weights_sha256", "one"));
  numpy(tmp.path(), "np.savez(d + '/bad.npz', x=np.zeros((4, 2), '>f4'), y=np.zeros(4, np.float32))\n");
  const RunResult bad = kiln_test::run(train_args(tmp / "bad.npz", tmp / "badrun", 1), {tmp.path()});
  EXPECT_EQ(bad.exit_code, 2) << bad.describe();
  EXPECT_NE(bad.err.find("bad.npz member x.npy: a big-endian dtype"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(tmp / "badrun"));
}

}  // namespace
