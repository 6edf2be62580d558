// Reads the #include lines of lib/ and compares them with the layer list.
#include "layer_check.h"

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace kiln_test {
namespace fs = std::filesystem;

Layers read_layers(const fs::path& markdown) {
  std::ifstream in(markdown);
  std::string line;
  bool inside = false;
  Layers layers;
  while (std::getline(in, line)) {
    if (!inside) {
      inside = line.rfind("```layers", 0) == 0;
      continue;
    }
    if (line.rfind("```", 0) == 0) return layers;
    if (const auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::vector<std::string> peers;
    for (std::string w; words >> w;) peers.push_back(w);
    if (!peers.empty()) layers.push_back(peers);
  }
  throw std::runtime_error(markdown.string() + " has no complete ```layers block");
}

std::vector<std::string> layer_violations(const fs::path& lib_root, const Layers& layers,
                                          const std::vector<std::string>& generated) {
  std::map<std::string, size_t> rank;
  for (size_t i = 0; i < layers.size(); ++i) {
    for (const auto& f : layers[i]) rank[f] = i;
  }
  std::vector<std::string> out;
  const std::regex include_re(R"(^\s*#\s*include\s*"([^"]+)\")");
  for (const auto& dir : fs::directory_iterator(lib_root)) {
    if (!dir.is_directory()) continue;
    const std::string folder = dir.path().filename().string();
    if (!rank.count(folder)) {
      out.push_back("lib/" + folder + "/ is in no layer of the list: add it where it belongs");
      continue;
    }
    for (const auto& file : fs::recursive_directory_iterator(dir.path())) {
      if (!file.is_regular_file()) continue;
      std::ifstream in(file.path());
      std::string line;
      for (int n = 1; std::getline(in, line); ++n) {
        std::smatch m;
        if (!std::regex_search(line, m, include_re)) continue;
        const std::string name = m[1];
        const std::string where = fs::relative(file.path(), lib_root.parent_path()).string() + ":" + std::to_string(n) +
                                  " includes \"" + name + "\": ";
        const auto slash = name.find('/');
        const std::string target = slash == std::string::npos ? "" : name.substr(0, slash);
        if (!fs::exists(lib_root / name)) {
          bool gen = false;
          for (const auto& g : generated) gen = gen || g == name;
          if (!gen) out.push_back(where + "not a file of lib/ (lib/ includes nothing from tests/ or elsewhere)");
          continue;
        }
        if (target == folder) continue;
        if (!rank.count(target)) {
          out.push_back(where + "lib/" + target + "/ is in no layer of the list");
        } else if (rank[target] >= rank[folder]) {
          out.push_back(where + folder + " (layer " + std::to_string(rank[folder] + 1) +
                        ") may only include lower layers, and " + target + " is layer " +
                        std::to_string(rank[target] + 1));
        }
      }
    }
  }
  return out;
}

}  // namespace kiln_test
