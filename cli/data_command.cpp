// `kiln data index DIR [--json]`: what an image folder holds, without training: its splits,
// classes and counts, a histogram of image sizes (from the headers) and every unreadable file.
#include <algorithm>
#include <array>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "commands.h"
#include "data/image_index.h"

namespace kiln::cli {
namespace fs = std::filesystem;
namespace {

// Histogram buckets by the longer side, in pixels.
constexpr std::array<int, 6> kEdges = {0, 64, 128, 256, 512, 1024};

nlohmann::json describe_split(const fs::path& dir, const std::string& name, int threads) {
  data::IndexOptions o;
  o.threads = threads;
  o.skip_bad = true;  // list them all rather than stop at the first
  o.what = name + " images";
  const data::ImageIndex ix = data::index_images(dir, o);
  std::vector<int64_t> per_class(ix.classes.size(), 0), buckets(kEdges.size(), 0);
  for (int64_t i = 0; i < ix.size(); ++i) {
    ++per_class[size_t(ix.label[size_t(i)])];
    const int side = std::max(ix.width[size_t(i)], ix.height[size_t(i)]);
    size_t b = kEdges.size() - 1;
    while (b > 0 && side < kEdges[b]) --b;
    ++buckets[b];
  }
  nlohmann::json classes = nlohmann::json::object(), sizes = nlohmann::json::object();
  for (size_t c = 0; c < ix.classes.size(); ++c) classes[ix.classes[c]] = per_class[c];
  for (size_t b = 0; b < kEdges.size(); ++b) {
    const std::string label = b + 1 < kEdges.size()
                                  ? std::to_string(kEdges[b]) + "-" + std::to_string(kEdges[b + 1] - 1)
                                  : ">=" + std::to_string(kEdges[b]);
    sizes[label] = buckets[b];
  }
  return {{"split", name},
          {"dir", dir.string()},
          {"images", ix.size()},
          {"classes", classes},
          {"long_side_px", sizes},
          {"bad", ix.skipped},
          {"fingerprint", ix.fingerprint()},
          {"index_bytes", ix.memory_bytes()}};
}

void print_split(const nlohmann::json& s) {
  std::printf("%s (%s): %lld images in %zu classes\n", s["split"].get<std::string>().c_str(),
              s["dir"].get<std::string>().c_str(), (long long)s["images"].get<int64_t>(), s["classes"].size());
  for (auto& [name, n] : s["classes"].items()) std::printf("  %-24s %lld\n", name.c_str(), (long long)n.get<int64_t>());
  std::printf("  longer side, pixels:");
  for (auto& [range, n] : s["long_side_px"].items()) {
    if (n.get<int64_t>() > 0) std::printf("  %s: %lld", range.c_str(), (long long)n.get<int64_t>());
  }
  std::printf("\n");
  const auto& bad = s["bad"];
  std::printf("  unreadable files: %zu\n", bad.size());
  for (const auto& b : bad) std::printf("    %s\n", b.get<std::string>().c_str());
}

}  // namespace

void add_data_command(CLI::App& app, const Globals&, Runner& run) {
  CLI::App* cmd = app.add_subcommand("data", "Look at a dataset without training");
  cmd->require_subcommand(1);
  CLI::App* index = cmd->add_subcommand("index", "Index an image folder: classes, counts, image sizes, bad files");
  auto dir = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto threads = std::make_shared<int>(int(std::max(1u, std::thread::hardware_concurrency())));
  index->add_option("DIR", *dir, "an image folder (with train/, val/ or test/) or one split of it")
      ->required()
      ->check(user_path());
  index->add_flag("--json", *json, "print one JSON object");
  index->add_option("--threads", *threads, "threads that read the headers")->check(CLI::PositiveNumber);
  index->callback([&run, dir, json, threads] {
    run = [dir, json, threads] {
      const fs::path root = *dir;
      nlohmann::json splits = nlohmann::json::array();
      bool any = false;
      for (const char* s : {"train", "val", "test"}) {
        if (!fs::is_directory(root / s)) continue;
        splits.push_back(describe_split(root / s, s, *threads));
        any = true;
      }
      if (!any) splits.push_back(describe_split(root, root.filename().string(), *threads));
      if (*json) {
        std::cout << nlohmann::json{{"splits", splits}}.dump() << std::endl;
      } else {
        for (const auto& s : splits) print_split(s);
      }
      return 0;
    };
  });
}

}  // namespace kiln::cli
