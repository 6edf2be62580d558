// The layering of lib/ holds (docs/architecture.md's ```layers list, read from the file), and
// the check itself catches what it should: a planted upward include, a peer include, an
// include of a test helper, and a folder missing from the list.
#include <gtest/gtest.h>

#include "cli_helpers.h"
#include "layer_check.h"

namespace {

namespace fs = std::filesystem;
using kiln_test::Layers;

const fs::path kSource = KILN_SOURCE_DIR;
const std::vector<std::string> kGenerated = {"git_rev.h", "shipped_configs.inc"};

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += "\n  " + x;
  return s;
}

TEST(Layers, LibIncludesOnlyPointDown) {
  const Layers layers = kiln_test::read_layers(kSource / "docs" / "architecture.md");
  ASSERT_GE(layers.size(), 5u);
  const auto v = kiln_test::layer_violations(kSource / "lib", layers, kGenerated);
  EXPECT_TRUE(v.empty()) << "includes that break docs/architecture.md's layers:" << joined(v);
}

// A small tree: util < data model (peers) < train.
struct Tree {
  kiln_test::TempDir tmp{"layers"};
  fs::path lib = tmp / "lib";
  Layers layers = {{"util"}, {"data", "model"}, {"train"}};
  Tree() {
    for (const char* d : {"util", "data", "model", "train"}) fs::create_directories(lib / d);
    kiln_test::write_file(lib / "util" / "fs.h", "#pragma once\n");
    kiln_test::write_file(lib / "data" / "loader.h", "#pragma once\n#include \"util/fs.h\"\n");
    kiln_test::write_file(lib / "model" / "net.h", "#pragma once\n#include <vector>\n#include \"util/fs.h\"\n");
    kiln_test::write_file(lib / "train" / "loop.cpp", "#include \"data/loader.h\"\n#include \"model/net.h\"\n");
  }
  std::vector<std::string> check() const { return kiln_test::layer_violations(lib, layers, kGenerated); }
};

TEST(Layers, ACleanTreePasses) { EXPECT_TRUE(Tree().check().empty()) << joined(Tree().check()); }

TEST(Layers, APlantedUpwardIncludeFailsWithFileAndLine) {
  Tree t;
  kiln_test::write_file(t.lib / "data" / "loader.cpp", "#include \"data/loader.h\"\n\n#include \"train/loop.h\"\n");
  kiln_test::write_file(t.lib / "train" / "loop.h", "#pragma once\n");
  const auto v = t.check();
  ASSERT_EQ(v.size(), 1u) << joined(v);
  EXPECT_NE(v[0].find("lib/data/loader.cpp:3"), std::string::npos) << v[0];
  EXPECT_NE(v[0].find("train/loop.h"), std::string::npos) << v[0];
}

TEST(Layers, PeersMayNotIncludeEachOther) {
  Tree t;
  kiln_test::write_file(t.lib / "model" / "net.cpp", "#include \"data/loader.h\"\n");
  const auto v = t.check();
  ASSERT_EQ(v.size(), 1u) << joined(v);
  EXPECT_NE(v[0].find("lib/model/net.cpp:1"), std::string::npos) << v[0];
}

TEST(Layers, IncludingATestHelperOrAnUnlistedFolderFails) {
  Tree t;
  kiln_test::write_file(t.lib / "util" / "x_test.cpp", "#include \"cli_helpers.h\"\n#include \"git_rev.h\"\n");
  fs::create_directories(t.lib / "extra");
  const auto v = t.check();
  ASSERT_EQ(v.size(), 2u) << joined(v);
  EXPECT_NE(joined(v).find("lib/util/x_test.cpp:1 includes \"cli_helpers.h\""), std::string::npos) << joined(v);
  EXPECT_NE(joined(v).find("lib/extra/ is in no layer"), std::string::npos) << joined(v);
}

TEST(Layers, TheListIsReadFromTheMarkdownBlock) {
  kiln_test::TempDir tmp("layers-md");
  kiln_test::write_file(tmp / "a.md",
                        "# x\n```\nnot this\n```\n```layers\nutil   # lowest\n\ndata model\ntrain\n```\n");
  const Layers l = kiln_test::read_layers(tmp / "a.md");
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[1], (std::vector<std::string>{"data", "model"}));
  kiln_test::write_file(tmp / "b.md", "no block\n");
  EXPECT_THROW(kiln_test::read_layers(tmp / "b.md"), std::runtime_error);
}

}  // namespace
