// util::TempDir (see temp_dir.h).
#include "util/temp_dir.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/error.h"

namespace kiln::util {
namespace fs = std::filesystem;

TempDir::TempDir(const std::string& prefix) {
  std::error_code ec;
  const fs::path base = fs::temp_directory_path(ec);
  std::string tmpl = ((ec ? fs::path("/tmp") : base) / (prefix + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) {
    throw Error::runtime("cannot create a temporary directory " + tmpl + ": " + std::strerror(errno),
                         "check TMPDIR and the free space there");
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace kiln::util
