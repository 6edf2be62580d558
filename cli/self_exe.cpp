// self_exe (commands.h): `kiln profile --nsys` and `kiln sweep` start this same binary again.
#include <unistd.h>

#include "commands.h"

namespace kiln::cli {

std::string self_exe(const std::vector<std::string>& argv) {
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  return n > 0 ? std::string(exe, size_t(n)) : argv.at(0);
}

}  // namespace kiln::cli
