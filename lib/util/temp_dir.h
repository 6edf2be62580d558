// util::TempDir: a fresh directory under the system temp dir (mkdtemp), removed with
// everything in it when the object goes (also when an exception unwinds past it).
#pragma once
#include <filesystem>
#include <string>

namespace kiln::util {

class TempDir {
 public:
  // <tmp>/<prefix>-XXXXXX; throws kiln::Error::runtime when it cannot be created.
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace kiln::util
