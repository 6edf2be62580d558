// The only file that sees the generated git revision header (see cmake/git_rev.cmake).
#include "util/version.h"

#include "git_rev.h"

namespace kiln::util {

const char* version() { return KILN_VERSION; }
const char* git_revision() { return KILN_GIT_REV; }

}  // namespace kiln::util
