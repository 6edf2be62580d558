// The include check behind docs/architecture.md's layer list: every `#include "folder/..."`
// in lib/ must point to the file's own folder or a lower layer, and lib/ includes nothing
// from tests/ (or anything else outside lib/ but the build's generated headers).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace kiln_test {

// Layers, lowest first; each a list of peer folders (peers may not include each other).
using Layers = std::vector<std::vector<std::string>>;

// The ```layers block of a markdown file: one layer per line, folder names separated by
// spaces, `#` starts a comment. Throws std::runtime_error when there is no such block.
Layers read_layers(const std::filesystem::path& markdown);

// One message per violation, each naming file:line and the include; empty when the tree
// keeps to the layers. `generated` are include names the build generates (allowed anywhere).
std::vector<std::string> layer_violations(const std::filesystem::path& lib_root, const Layers& layers,
                                          const std::vector<std::string>& generated);

}  // namespace kiln_test
