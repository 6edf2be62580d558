// Limits on user paths (see user_path.h).
#include "util/user_path.h"

#include <climits>

#include "util/error.h"
#include "util/text.h"

namespace kiln::util {
namespace {

std::string shown(const std::string& p) { return "'" + shorten(p) + "'"; }

}  // namespace

void check_user_path(const std::filesystem::path& path, const std::string& what) {
  const std::string& p = path.native();
  if (p.empty()) throw Error::usage(what + " is an empty path", "give a file or directory path");
  if (p.find('\0') != std::string::npos) {
    throw Error::usage(what + " " + shown(p) + " contains a NUL byte", "no path can hold one");
  }
  if (p.size() >= PATH_MAX) {
    throw Error::usage(what + " " + shown(p) + " is longer than the system's limit of " + std::to_string(PATH_MAX - 1) +
                           " characters for a path",
                       "check the value; a shorter path or a symlink to the directory works");
  }
  for (const auto& part : path) {
    if (part.native().size() > NAME_MAX) {
      throw Error::usage(what + " " + shown(p) + " has a name of " + std::to_string(part.native().size()) +
                             " characters; the system allows " + std::to_string(NAME_MAX) +
                             " per file or directory name",
                         "check the value");
    }
  }
}

}  // namespace kiln::util
