// Run directories and device resolution.
#include <torch/cuda.h>

#include <ctime>

#include "train/trainer.h"
#include "util/error.h"

namespace kiln::train {
namespace fs = std::filesystem;

std::string resolve_device(const std::string& device) {
  const bool cuda = torch::cuda::is_available();
  if (device == "auto") return cuda ? "cuda:0" : "cpu";
  if (device == "cpu") return "cpu";
  if (!cuda) {
    throw Error::usage("train.device is '" + device + "' but no CUDA device is available",
                       "use train.device = \"auto\" or \"cpu\"");
  }
  if (device == "cuda") return "cuda:0";
  const auto index = std::stoll(device.substr(5));
  if (index >= static_cast<long long>(torch::cuda::device_count())) {
    throw Error::usage("train.device is '" + device + "' but only " + std::to_string(torch::cuda::device_count()) +
                           " CUDA device(s) are visible",
                       "in a data-parallel job each rank takes cuda:LOCAL_RANK: start at most as many ranks per "
                       "machine as it has GPUs (or set train.device = \"cpu\")");
  }
  return device;
}

fs::path timestamped_path(const fs::path& parent, const std::string& name) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return parent / (name + "-" + stamp);
}

fs::path make_run_dir(const std::string& name, const fs::path& explicit_dir) {
  std::error_code ec;
  if (!explicit_dir.empty()) {
    if (fs::exists(explicit_dir) && !fs::is_empty(explicit_dir)) {
      throw Error::usage("run dir " + explicit_dir.string() + " already exists and is not empty",
                         "choose a new --run-dir (or omit it for runs/<name>-<timestamp>)");
    }
    fs::create_directories(explicit_dir, ec);
    if (ec) throw Error::usage("cannot create run dir " + explicit_dir.string() + ": " + ec.message());
    return explicit_dir;
  }
  const fs::path base = timestamped_path("runs", name);
  fs::create_directories("runs", ec);
  for (int i = 1;; ++i) {
    fs::path p = i == 1 ? base : fs::path(base.string() + "-" + std::to_string(i));
    // create_directory returns false when it already exists: take the next suffix.
    if (fs::create_directory(p, ec)) return p;
    if (ec) throw Error::usage("cannot create run dir " + p.string() + ": " + ec.message());
  }
}

}  // namespace kiln::train
