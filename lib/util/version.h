// kiln's version and the git revision it was built from.
#pragma once

namespace kiln::util {

const char* version();       // e.g. "0.1.0"
const char* git_revision();  // `git describe --always --dirty` at build time, or "unknown"

}  // namespace kiln::util
