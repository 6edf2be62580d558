// The run dir's checkpoint names and the keep-k policy.
#include "run/run_dir.h"

#include <algorithm>
#include <cstdio>

#include "checkpoint/checkpoint.h"

namespace kiln::run {
namespace fs = std::filesystem;

fs::path RunDir::step_checkpoint(int64_t step) const {
  char name[64];
  std::snprintf(name, sizeof name, "step-%08lld.pt", static_cast<long long>(step));
  return checkpoints() / name;
}

std::vector<fs::path> RunDir::step_checkpoints() const {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(checkpoints(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step-", 0) == 0 && e.path().extension() == ".pt") out.push_back(e.path());
  }
  std::sort(out.rbegin(), out.rend());  // zero-padded step numbers: name order is step order
  return out;
}

void keep_newest_checkpoints(const RunDir& dir, int64_t keep) {
  const auto all = dir.step_checkpoints();  // newest first
  for (size_t i = size_t(std::max<int64_t>(keep, 0)); i < all.size(); ++i) checkpoint::remove(all[i]);
}

}  // namespace kiln::run
