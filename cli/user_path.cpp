// The CLI11 validator for path options (see commands.h): util::check_user_path's message,
// which CLI11 prefixes with the option's name.
#include "util/user_path.h"
#include "commands.h"
#include "util/error.h"

namespace kiln::cli {

CLI::Validator user_path() {
  return CLI::Validator(
      [](std::string& path) -> std::string {
        if (path.empty()) return {};  // "not given" for the options that default to ""
        try {
          util::check_user_path(path, "path");
        } catch (const Error& e) {
          return e.what();
        }
        return {};
      },
      "");
}

}  // namespace kiln::cli
